"""Fixtures: a fake Azure on the wire, app settings in the environment, and timers built like the host's."""

from __future__ import annotations

import importlib
import json
import logging
import os
from datetime import datetime, timedelta, timezone

import azure.functions as func
import pytest
import responses
from azure.functions.meta import Datum
from azure.functions.timer import TimerRequestConverter

from shared.workspace import forget_cached_workspaces
from tests.fakeazure import (
    CLIENT_ID,
    CLIENT_SECRET,
    RESOURCE_GROUP,
    SUBSCRIPTION,
    TENANT,
    WORKSPACE,
    FakeAzure,
)

APP_PREFIXES = ("AZURE_", "AML_", "RUN_PIPELINE_", "STOP_COMPUTE_", "IDENTITY_", "MSI_")

BASE_SETTINGS = {
    "AZURE_TENANT_ID": TENANT,
    "AZURE_CLIENT_ID": CLIENT_ID,
    "AZURE_CLIENT_SECRET": CLIENT_SECRET,
    "AML_SUBSCRIPTION_ID": SUBSCRIPTION,
    "AML_RESOURCE_GROUP": RESOURCE_GROUP,
    "AML_WORKSPACE_NAME": WORKSPACE,
    "RUN_PIPELINE_SCHEDULE": "0 0 3 * * *",
    "STOP_COMPUTE_SCHEDULE": "0 25 21 * * *",
}


@pytest.fixture(autouse=True)
def isolated_process(tmp_path, monkeypatch):
    """Each test starts like a fresh Functions process: clean HOME (the SDK writes there), no app settings."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    for name in list(os.environ):
        if name.startswith(APP_PREFIXES):
            monkeypatch.delenv(name)
    forget_cached_workspaces()
    yield
    forget_cached_workspaces()


@pytest.fixture
def fake():
    """The fake Azure, answering every `requests` call; an unregistered URL raises ConnectionError."""
    azure = FakeAzure()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        azure.install(rsps)
        yield azure


@pytest.fixture
def settings(monkeypatch):
    """Set app settings in the environment, the way the Functions host exposes them."""
    def apply(**overrides: str | None) -> dict:
        values = {**BASE_SETTINGS, **overrides}
        for name, value in values.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        return {k: v for k, v in values.items() if v is not None}
    return apply


def make_timer(next_tick: datetime | None = None, past_due: bool = False) -> func.TimerRequest:
    """A TimerRequest decoded from the host's JSON payload, as the Python worker does for `mytimer`."""
    payload: dict = {"Schedule": {"AdjustForDST": True}, "IsPastDue": past_due}
    if next_tick is not None:
        payload["ScheduleStatus"] = {
            "Last": (next_tick - timedelta(days=1)).isoformat(),
            "Next": next_tick.isoformat(),
            "LastUpdated": (next_tick - timedelta(days=1)).isoformat(),
        }
    return TimerRequestConverter.decode(Datum(json.dumps(payload), "json"), trigger_metadata={})


TICK = datetime(2026, 11, 21, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def timer() -> func.TimerRequest:
    return make_timer(TICK)


def entry_point(function_name: str):
    """The function's `main`, imported from its folder as the Python worker does."""
    return importlib.import_module(function_name).main


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.INFO)
    return caplog
