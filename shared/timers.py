"""What every timer function does first: read the tick, decide whether to act on it, log it, start its budget.

The function folders call shared.pipeline_tick or shared.compute_tick, which begin here, so every behaviour is
testable without the host. Imports nothing of the SDK.
"""

from __future__ import annotations

import logging

import azure.functions as func

from shared import clock, redact
from shared.hostconfig import Deadline
from shared.localtime import LocalSchedule
from shared.logfmt import kv
from shared.retry import RetryBudget
from shared.settings import AzureSettings
from shared.tick import Tick, acts_at, tick_of

log = logging.getLogger(__name__)


def log_tick(function_name: str, tick: Tick, local: LocalSchedule | None, acting: bool,
             skip_reason: str = "not_local_occurrence") -> None:
    """The tick's line: a warning when past due (the host was down or busy at the scheduled time; it still runs), a
    skip when it is not a local occurrence (or no pipelines.json job is due at it)."""
    fields = {"function": function_name, "tick": tick.id, "past_due": tick.past_due, "source": tick.source}
    if local is not None:
        fields.update(local=local.local(tick.scheduled).isoformat(), zone=local.zone_name)
    if not acting:
        log.info(kv("tick", **fields, action="skipped", reason=skip_reason))
        return
    log.log(logging.WARNING if tick.past_due else logging.INFO, kv("tick", **fields))


def open_tick(function_name: str, timer: func.TimerRequest, schedule: str, local: LocalSchedule | None) -> Tick | None:
    """This invocation's tick, logged; None when the function does not act on it."""
    tick = tick_of(timer, schedule, clock.now())
    acting = acts_at(tick, local)
    log_tick(function_name, tick, local, acting)
    return tick if acting else None


def start_budget(azure: AzureSettings, deadline: Deadline | None = None) -> RetryBudget:
    """This tick's retry budget (bounded by its deadline, when it has one); identity values noted for scrubbing."""
    redact.remember(AZURE_TENANT_ID=azure.tenant_id, AZURE_CLIENT_ID=azure.client_id,
                    AZURE_CLIENT_SECRET=azure.client_secret)
    return RetryBudget(azure.retry_budget_seconds, deadline)
