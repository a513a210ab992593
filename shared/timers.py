"""What each timer function does per tick: read settings, identify the tick, connect, act, log.

The function folders call these and nothing else, so every behaviour is testable without the host.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import datetime, timezone

import azure.functions as func

from shared import redact
from shared.compute import Result, WorkspaceRef, power_tick
from shared.logfmt import kv
from shared.pipelines import Outcome, run_pipeline
from shared.retry import RetryBudget, bound_sdk_backoff
from shared.selection import STOP, Rules
from shared.settings import AzureSettings, load_compute_settings, load_pipeline_settings
from shared.tick import Tick, tick_of
from shared.workspace import connect

log = logging.getLogger(__name__)


def _log_tick(function_name: str, tick: Tick) -> None:
    # A past-due tick (the host was down or busy at the scheduled time) still runs; it is only flagged.
    level = logging.WARNING if tick.past_due else logging.INFO
    log.log(level, kv("tick", function=function_name, tick=tick.id, past_due=tick.past_due, source=tick.source))


def start_budget(azure: AzureSettings) -> RetryBudget:
    """This tick's retry budget (the SDK's own retry waits are scaled to fit in it too); identity values noted."""
    redact.remember(AZURE_TENANT_ID=azure.tenant_id, AZURE_CLIENT_ID=azure.client_id,
                    AZURE_CLIENT_SECRET=azure.client_secret)
    bound_sdk_backoff(azure.retry_budget_seconds)
    return RetryBudget(azure.retry_budget_seconds)


def run_pipeline_tick(timer: func.TimerRequest, env: Mapping[str, str] | None = None,
                      function_name: str = "RunPipelineTimer") -> Outcome:
    """RunPipelineTimer: submit the configured pipeline once for this tick."""
    settings = load_pipeline_settings(os.environ if env is None else env)
    tick = tick_of(timer, settings.schedule, datetime.now(timezone.utc))
    _log_tick(function_name, tick)
    budget = start_budget(settings.azure)
    with connect(settings.azure, budget) as connection:
        return run_pipeline(connection, settings, tick, function_name, budget)


def stop_compute_tick(timer: func.TimerRequest, env: Mapping[str, str] | None = None,
                      function_name: str = "StopComputeTimer") -> list[Result]:
    """StopComputeTimer: stop the selected running compute instances."""
    settings = load_compute_settings(os.environ if env is None else env)
    tick = tick_of(timer, settings.schedule, datetime.now(timezone.utc))
    _log_tick(function_name, tick)
    budget = start_budget(settings.azure)
    rules = Rules(STOP, settings.include, settings.exclude, settings.exempt_tag)
    with connect(settings.azure, budget) as connection:
        return power_tick(connection.arm_url, connection.auth.get_authentication_header,
                          [WorkspaceRef.from_id(connection.arm_id)], rules, settings.dry_run, budget)
