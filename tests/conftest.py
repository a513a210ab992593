"""Fixtures: a fake Azure on the wire, app settings in the environment, and timers built like the host's."""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
from datetime import datetime, timedelta, timezone

# The SDK fixes its discovery cache path (~/.azureml/.discovery) from HOME when it is first imported, so HOME
# points at a throw-away folder before anything imports it; each test then starts with that folder empty.
SESSION_HOME = tempfile.mkdtemp(prefix="aml-timer-tests-home-")
os.environ["HOME"] = os.environ["USERPROFILE"] = SESSION_HOME

import azure.functions as func  # noqa: E402
import pytest  # noqa: E402
import responses  # noqa: E402
from azure.core.pipeline.transport import _base as azure_core_transport  # noqa: E402
from azure.functions.meta import Datum  # noqa: E402
from azure.functions.timer import TimerRequestConverter  # noqa: E402
from azureml._restclient import clientbase  # noqa: E402

from fakeazure import CLIENT_ID, CLIENT_SECRET, TENANT, FakeAzure, app_settings  # noqa: E402
from shared import clock as shared_clock  # noqa: E402
from shared import jobs, warm  # noqa: E402
from shared.functions import SETTING_PREFIXES  # noqa: E402

# Every app setting the app reads (the function table's prefixes), the host's identity endpoints and its storage.
APP_PREFIXES = (*SETTING_PREFIXES, "IDENTITY_", "MSI_", "AzureWebJobsStorage")

BASE_SETTINGS = app_settings()


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append((record.name, self.format(record)))


# `action=` and `reason=` take a small fixed vocabulary (Application Insights queries count them): lowercase words.
_DECISION_FIELD = re.compile(r"\b(action|reason)=(\S*)")


@pytest.fixture(autouse=True)
def no_secret_in_logs():
    """Suite-wide: the secret never reaches a log record of any logger, at any level (the SDK's DEBUG included);
    no identity value reaches a line of the app's own; its decision fields stay in their vocabulary."""
    records, root = _Records(), logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(records)
    yield
    root.removeHandler(records)
    root.setLevel(level)
    leaked = [message for _, message in records.messages if CLIENT_SECRET in message]
    assert not leaked, f"the client secret reached {len(leaked)} log record(s)"
    own = [message for name, message in records.messages if name.startswith(("shared", "localrun"))]
    named = [message for message in own if TENANT in message or CLIENT_ID in message]
    assert not named, f"an identity value reached the app's log line: {named[0]}"
    odd = [f"{key}={value}" for message in own for key, value in _DECISION_FIELD.findall(message)
           if not re.fullmatch(r"[a-z_]+", value)]
    assert not odd, f"action/reason values outside the vocabulary: {odd}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Suite-wide: the secret never reaches stdout, stderr or the exception a test ended with."""
    outcome = yield
    report = outcome.get_result()
    texts = [content for _, content in report.sections]
    if call.excinfo is not None:
        texts.append(f"{call.excinfo.value!r} {call.excinfo.value.__cause__!r}")
    if report.passed and any(CLIENT_SECRET in text for text in texts):
        report.outcome = "failed"
        report.longrepr = f"the client secret appeared in captured output of {item.nodeid}"


@pytest.fixture(autouse=True)
def isolated_process(monkeypatch):
    """Each test starts like a fresh Functions process: no SDK cache under HOME, no app settings, no workspace."""
    shutil.rmtree(os.path.join(SESSION_HOME, ".azureml"), ignore_errors=True)
    for name in list(os.environ):
        if name.startswith(APP_PREFIXES):
            monkeypatch.delenv(name)
    warm.forget()
    yield
    warm.forget()


class VirtualClock:
    """Stands in for a module's `time`: sleeping advances the clock at once, so retries and waits cost no time."""

    def __init__(self):
        self.now = 1000.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        """Time that passes in a request (a stalled service), not in a wait of the app's."""
        with self._lock:
            self.now += seconds


@pytest.fixture(autouse=True)
def retry_clock(monkeypatch) -> VirtualClock:
    """The tick's clock (shared.clock: retry waits, pacing under ARM's limits, the deadline, token lifetimes) is
    virtual in every test; `retry_clock.slept` shows what the app would have waited."""
    clock = VirtualClock()
    monkeypatch.setattr(shared_clock, "time", clock)
    # The SDK's REST client sleeps before its own retries (bounded by the app, see shared.retry), and so does
    # azure-core under the SDK's ARM calls (it honours Retry-After): virtual too.
    monkeypatch.setattr(clientbase, "time", clock)
    monkeypatch.setattr(azure_core_transport, "time", clock)
    for name in ("DEFAULT_BACKOFF", "DEFAULT_500_BACKOFF", "DEFAULT_503_BACKOFF"):
        monkeypatch.setattr(clientbase, name, getattr(clientbase, name))
    return clock


@pytest.fixture
def pipeline_clock(retry_clock) -> VirtualClock:
    """RUN_PIPELINE_WAIT_MINUTES polling without real waiting: the waits run on the tick's virtual clock."""
    return retry_clock


@pytest.fixture
def fake(retry_clock):
    """The fake Azure, answering every `requests` call; a request it has no route for fails the test. Its clock (ARM's
    buckets, token lifetimes) is the tick's virtual one."""
    azure = FakeAzure(clock=retry_clock.monotonic)
    azure.advance = retry_clock.advance
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        azure.install(rsps)
        yield azure
    assert not azure.unexpected, f"requests the fake Azure has no route for: {azure.unexpected}"


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


@pytest.fixture
def write_jobs(tmp_path, monkeypatch):
    """Write pipelines.json (the app reads it from its root: here a temporary one) from a list of jobs."""
    path = tmp_path / "pipelines.json"
    monkeypatch.setattr(jobs, "JOBS_FILE", path)

    def write(entries, raw: str | None = None):
        path.write_text(raw if raw is not None else json.dumps({"pipelines": entries}), encoding="utf-8")
        return path
    return write


# --------------------------------------------------------------------------- the app's own storage, on Azurite


@pytest.fixture(scope="session")
def azurite():
    """One Azurite for the session (installed with npm on first use; .ci/run installs it first). Without Node.js
    the Storage tests are skipped, and .ci/run, which sets AML_TIMER_REQUIRE_NODE_TOOLS, fails instead."""
    from localrun.azurite import Azurite
    from localrun.console import SetupError

    try:
        server = Azurite()
    except SetupError as error:
        if os.environ.get("AML_TIMER_REQUIRE_NODE_TOOLS"):
            pytest.fail(f"Azurite is required here: {error}")
        pytest.skip(f"no Azurite: {error}")
    yield server
    server.stop()


@pytest.fixture
def storage(azurite, monkeypatch):
    """The app's storage (AzureWebJobsStorage) on Azurite, its claims table and work queues emptied after the test."""
    from azure.data.tables import TableServiceClient
    from azure.storage.queue import QueueServiceClient

    from shared.storage import QUEUE_API_VERSION

    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    yield azurite
    tables = TableServiceClient.from_connection_string(azurite.connection_string)
    for table in tables.list_tables():
        tables.delete_table(table.name)
    queues = QueueServiceClient.from_connection_string(azurite.connection_string, api_version=QUEUE_API_VERSION)
    for queue in queues.list_queues():
        queues.delete_queue(queue.name)
