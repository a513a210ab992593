"""The instants a function acts at: its local schedule's when a zone is set, else its host schedule's (UTC).

The one place that decides "host schedule or local schedule", for the tick's parameters, the runner's re-run and
backfill, `python -m shared.schedule next` and the week view, so the daylight-saving rules of shared.localtime apply
the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from shared.clock import as_utc
from shared.localtime import LocalSchedule
from shared.ncrontab import Schedule

_SECOND = timedelta(seconds=1)


class Occurrences:
    """A host schedule (UTC) and the local schedule it serves, if any: the occurrences are the local ones then."""

    def __init__(self, host: Schedule, local: LocalSchedule | None = None):
        self.host = host
        self.local = local

    def contains(self, moment: datetime) -> bool:
        return self.local.occurrence_at(moment) is not None if self.local else self.host.matches(as_utc(moment))

    def latest_at_or_before(self, moment: datetime) -> datetime | None:
        return self.local.latest_at_or_before(moment) if self.local else self.host.latest_at_or_before(moment)

    def previous(self, moment: datetime) -> datetime | None:
        """The latest occurrence strictly before `moment`."""
        if self.local:
            return self.local.previous(moment)
        return self.host.latest_at_or_before(moment - _SECOND)

    def following(self, moment: datetime) -> datetime | None:
        """The first occurrence strictly after `moment`."""
        return self.local.next_after(moment) if self.local else self.host.next_after(moment)

    def upcoming(self, start: datetime, count: int) -> list[datetime]:
        """The next `count` occurrences after `start` (fewer only if the schedule runs out)."""
        found: list[datetime] = []
        moment: datetime | None = start
        while len(found) < count and (moment := self.following(moment)) is not None:
            found.append(moment)
        return found

    def between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Every occurrence in [start, end], oldest first."""
        if self.local:
            yield from self.local.between(start, end)
            return
        moment = self.host.next_after(as_utc(start) - _SECOND)
        while moment is not None and moment <= end:
            yield moment
            moment = self.host.next_after(moment)

    def in_zone(self, moment: datetime) -> datetime:
        """`moment` in the schedule's zone (UTC without one)."""
        return self.local.local(moment) if self.local else as_utc(moment)

    @property
    def zone_name(self) -> str:
        return self.local.zone_name if self.local else "UTC"

    def describe(self) -> str:
        return f'"{self.local.schedule}" in {self.local.zone_name}' if self.local else f'"{self.host}" (UTC)'
