"""Which scheduled occurrence an invocation belongs to: the identity behind "exactly one run per tick".

While a timer function runs, `schedule_status["Next"]` is the occurrence being fired (the host updates the status
after the invocation). It is absent when the schedule monitor is off, so the fallback is the latest occurrence of
the schedule at or before now, from the project's own NCRONTAB engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import azure.functions as func

from shared.clock import parse_instant, stamp
from shared.localtime import LocalSchedule
from shared.ncrontab import validate


@dataclass(frozen=True)
class Tick:
    """One scheduled occurrence, in UTC, and how the host fired it."""

    scheduled: datetime
    past_due: bool
    source: str

    @property
    def id(self) -> str:
        return stamp(self.scheduled)


def tick_of(timer: func.TimerRequest, schedule: str, now: datetime) -> Tick:
    """The occurrence this invocation fires: the host's schedule status, else the schedule's latest occurrence."""
    next_text = (timer.schedule_status or {}).get("Next")
    if next_text:
        return Tick(parse_instant(next_text).replace(microsecond=0), bool(timer.past_due), "schedule_status")
    latest = validate(schedule).latest_at_or_before(now)
    return Tick((latest or now).replace(microsecond=0), bool(timer.past_due), "schedule")


def acts_at(tick: Tick, local: LocalSchedule | None) -> bool:
    """Whether the function acts on this tick: always on the host schedule alone; with a local schedule, only on the
    ticks that are its occurrences (the host fires at every local occurrence under each of the zone's offsets, so
    the other firings are expected and call nothing)."""
    return local is None or local.occurrence_at(tick.scheduled) is not None
