"""Which scheduled occurrence an invocation belongs to: the identity behind "exactly one run per tick".

While a timer function runs, `schedule_status["Next"]` is the occurrence being fired (the host updates the status
after the invocation). It is absent when the schedule monitor is off, so the fallback is the latest occurrence of
the schedule at or before now, from the project's own NCRONTAB engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

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


class Occurrences:
    """The occurrences a function acts on: its local schedule's when a zone is set, else the host schedule's (UTC)."""

    def __init__(self, schedule: str, local=None):
        self.local = local  # shared.localtime.LocalSchedule
        self.host = validate(schedule)

    def contains(self, moment: datetime) -> bool:
        return self.local.occurrence_at(moment) is not None if self.local else self.host.matches(moment)

    def previous(self, moment: datetime) -> datetime | None:
        """The latest occurrence strictly before `moment`."""
        if self.local:
            return self.local.previous(moment)
        return self.host.latest_at_or_before(moment - timedelta(seconds=1))

    def following(self, moment: datetime) -> datetime | None:
        return self.local.next_after(moment) if self.local else self.host.next_after(moment)

    def between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Every occurrence in [start, end], oldest first."""
        moment = self.previous(start + timedelta(seconds=1))
        moment = moment if moment is not None and moment >= start else self.following(start)
        while moment is not None and moment <= end:
            yield moment
            moment = self.following(moment)

    def in_zone(self, moment: datetime) -> datetime:
        """`moment` in the schedule's zone (UTC without one)."""
        return self.local.local(moment) if self.local else moment

    def describe(self) -> str:
        return f'"{self.local.schedule}" in {self.local.zone_name}' if self.local else f'"{self.host}" (UTC)'
