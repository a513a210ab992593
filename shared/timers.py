"""What every timer function does first: read the tick, decide whether to act on it, log it, start its retries.

A tick the host fires long after its time (the app was down at 21:25 and comes back at 11:25: the host fires the
missed occurrence, past due) is skipped when it is later than the function's `*_MAX_LATE_MINUTES`, so the evening
stop never stops the instances people work on in the morning: `tick ... action=skipped reason=too_late
late_minutes=<n>`, and the invocation succeeds. Only a past-due tick can be late: the host says so.

The function folders call shared.pipeline_tick or shared.compute_tick, which begin here, so every behaviour is
testable without the host. Imports nothing of the SDK.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import azure.functions as func

from shared import clock, redact
from shared.hostconfig import Deadline
from shared.identity import AzureSettings
from shared.localtime import LocalSchedule
from shared.logfmt import kv
from shared.retry import RetryPolicy
from shared.tick import Tick, acts_at, tick_of

log = logging.getLogger(__name__)


def log_tick(function_name: str, tick: Tick, local: LocalSchedule | None, acting: bool,
             skip_reason: str = "not_local_occurrence", **extra: object) -> None:
    """The tick's line: a warning when past due (the host was down or busy at the scheduled time; it still runs), a
    skip when it is not a local occurrence, too late, or no pipelines.json job is due at it."""
    fields = {"function": function_name, "tick": tick.id, "past_due": tick.past_due, "source": tick.source}
    if local is not None:
        fields.update(local=local.local(tick.scheduled).isoformat(), zone=local.zone_name)
    if not acting:
        log.log(logging.WARNING if skip_reason == "too_late" else logging.INFO,
                kv("tick", **fields, action="skipped", reason=skip_reason, **extra))
        return
    log.log(logging.WARNING if tick.past_due else logging.INFO, kv("tick", **fields))


def minutes_late(tick: Tick, max_late: timedelta | None) -> int | None:
    """How late a past-due tick is, in whole minutes, when that is later than `max_late` (None: in time)."""
    if max_late is None or not tick.past_due:
        return None
    late = clock.now() - tick.scheduled
    return int(late.total_seconds() // 60) if late > max_late else None


def open_tick(function_name: str, timer: func.TimerRequest, schedule: str, local: LocalSchedule | None,
              max_late: timedelta | None = None) -> Tick | None:
    """This invocation's tick, logged; None when the function does not act on it."""
    tick = tick_of(timer, schedule, clock.now())
    if not acts_at(tick, local):
        log_tick(function_name, tick, local, False)
        return None
    late = minutes_late(tick, max_late)
    if late is not None:
        log_tick(function_name, tick, local, False, "too_late", late_minutes=late)
        return None
    log_tick(function_name, tick, local, True)
    return tick


def start_retries(azure: AzureSettings, deadline: Deadline) -> RetryPolicy:
    """This tick's retry rules (each work item AML_RETRY_BUDGET_SECONDS, all bounded by the deadline); identity
    values noted for scrubbing."""
    redact.remember(AZURE_TENANT_ID=azure.tenant_id, AZURE_CLIENT_ID=azure.client_id,
                    AZURE_CLIENT_SECRET=azure.client_secret)
    return RetryPolicy(azure.retry_budget_seconds, deadline)
