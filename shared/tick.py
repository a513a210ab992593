"""Which scheduled occurrence an invocation belongs to: the identity behind "exactly one run per tick".

While a timer function runs, `schedule_status["Next"]` is the occurrence being fired (the host updates the status
after the invocation). It is absent when the schedule monitor is off, so the fallback is the latest occurrence of
the schedule at or before now, from the project's own NCRONTAB engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

import azure.functions as func

from shared.schedule import validate

_FRACTION = re.compile(r"(\.\d{1,6})\d*")


@dataclass(frozen=True)
class Tick:
    """One scheduled occurrence, in UTC, and how the host fired it."""

    scheduled: datetime
    past_due: bool
    source: str

    @property
    def id(self) -> str:
        return self.scheduled.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_host_time(text: str) -> datetime:
    """Parse ISO 8601 times as Azure writes them (the host's schedule status, run history's createdUtc): up to 7
    fractional digits, `Z` or an offset; naive means UTC."""
    cleaned = _FRACTION.sub(r"\1", text.strip()).replace("Z", "+00:00")
    moment = datetime.fromisoformat(cleaned)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def tick_of(timer: func.TimerRequest, schedule: str, now: datetime) -> Tick:
    """The occurrence this invocation fires: the host's schedule status, else the schedule's latest occurrence."""
    next_text = (timer.schedule_status or {}).get("Next")
    if next_text:
        return Tick(parse_host_time(next_text).replace(microsecond=0), bool(timer.past_due), "schedule_status")
    latest = validate(schedule).latest_at_or_before(now)
    return Tick((latest or now).replace(microsecond=0), bool(timer.past_due), "schedule")
