"""What each timer function does per tick: read settings, identify the tick, connect, act, log.

The function folders call these and nothing else, so every behaviour is testable without the host.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import azure.functions as func

from shared import clock, redact
from shared.compute import Result, power_tick
from shared.localtime import LocalSchedule
from shared.logfmt import kv
from shared.pipelines import Outcome, run_pipeline
from shared.retry import RetryBudget, bound_sdk_backoff
from shared.scopes import Scope
from shared.selection import START, STOP, PowerAction, Rules
from shared.settings import AzureSettings, ComputeSettings, load_compute_settings, load_pipeline_settings
from shared.tick import Tick, acts_at, tick_of
from shared.workspace import connect, signed_in

log = logging.getLogger(__name__)


def log_tick(function_name: str, tick: Tick, local: LocalSchedule | None, acting: bool) -> None:
    """The tick's line: a warning when past due (the host was down or busy at the scheduled time; it still runs), a
    skip when it is not a local occurrence."""
    fields = {"function": function_name, "tick": tick.id, "past_due": tick.past_due, "source": tick.source}
    if local is not None:
        fields.update(local=local.local(tick.scheduled).isoformat(), zone=local.zone_name)
    if not acting:
        log.info(kv("tick", **fields, action="skipped", reason="not_local_occurrence"))
        return
    log.log(logging.WARNING if tick.past_due else logging.INFO, kv("tick", **fields))


def _tick(function_name: str, timer: func.TimerRequest, schedule: str, local: LocalSchedule | None) -> Tick | None:
    """This invocation's tick, logged; None when the function does not act on it."""
    tick = tick_of(timer, schedule, clock.now())
    acting = acts_at(tick, local)
    log_tick(function_name, tick, local, acting)
    return tick if acting else None


def start_budget(azure: AzureSettings) -> RetryBudget:
    """This tick's retry budget (the SDK's own retry waits are scaled to fit in it too); identity values noted."""
    redact.remember(AZURE_TENANT_ID=azure.tenant_id, AZURE_CLIENT_ID=azure.client_id,
                    AZURE_CLIENT_SECRET=azure.client_secret)
    bound_sdk_backoff(azure.retry_budget_seconds)
    return RetryBudget(azure.retry_budget_seconds)


def run_pipeline_tick(timer: func.TimerRequest, env: Mapping[str, str] | None = None,
                      function_name: str = "RunPipelineTimer") -> Outcome | None:
    """RunPipelineTimer: submit the configured pipeline once for this tick (None: not a local occurrence)."""
    settings = load_pipeline_settings(os.environ if env is None else env)
    tick = _tick(function_name, timer, settings.schedule, settings.local)
    if tick is None:
        return None
    budget = start_budget(settings.azure)
    with connect(settings.azure, budget) as connection:
        return run_pipeline(connection, settings, tick, function_name, budget)


def stop_compute_tick(timer: func.TimerRequest, env: Mapping[str, str] | None = None,
                      function_name: str = "StopComputeTimer") -> list[Result] | None:
    """StopComputeTimer: stop the selected running compute instances (None: not a local occurrence)."""
    return _compute_tick(timer, env, function_name, STOP)


def start_compute_tick(timer: func.TimerRequest, env: Mapping[str, str] | None = None,
                       function_name: str = "StartComputeTimer") -> list[Result] | None:
    """StartComputeTimer: start the stopped instances that carry START_COMPUTE_TAG (None: not a local occurrence)."""
    return _compute_tick(timer, env, function_name, START)


def _compute_tick(timer: func.TimerRequest, env: Mapping[str, str] | None, function_name: str,
                  action: PowerAction) -> list[Result] | None:
    settings = load_compute_settings(os.environ if env is None else env, action.verb)
    if _tick(function_name, timer, settings.schedule, settings.local) is None:
        return None
    return _power(settings, Rules(action, settings.include, settings.exclude, settings.tag),
                  start_budget(settings.azure))


def _power(settings: ComputeSettings, rules: Rules, budget: RetryBudget) -> list[Result]:
    """The fleet of AML_COMPUTE_SCOPES (each scope and workspace isolated), or the one AML_* workspace."""
    if settings.scopes:
        with signed_in(settings.azure, budget) as identity:
            return power_tick(identity.arm_url, identity.auth.get_authentication_header, settings.scopes, rules,
                              settings.dry_run, budget, isolate=True)
    with connect(settings.azure, budget) as connection:
        ws = connection.workspace
        return power_tick(connection.arm_url, connection.auth.get_authentication_header,
                          [Scope(ws.subscription_id, ws.resource_group, ws.name)], rules, settings.dry_run, budget)
