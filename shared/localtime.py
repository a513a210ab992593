"""Local-time schedules on hosts that fire in UTC: which ticks are local occurrences, and which host schedule fits.

Linux Consumption and Flex Consumption ignore WEBSITE_TIME_ZONE, so the host fires on a UTC schedule. A local
schedule is a six-field NCRONTAB read in an IANA zone's wall-clock time. Its occurrences are its wall-clock
matches turned into instants with Python's `fold=0`: a time in the spring-forward gap shifts later by the gap
(New York 02:30 on the spring-forward day is 03:30 EDT, the same instant as 03:30 itself), a time that occurs twice
in the fall-back hour means its first occurrence only. The host schedule must fire at every such instant; each tick
then asks `occurrence_at` whether it is one.

Near a gap, wall-clock matches do not map to instants in order, so "the previous occurrence" is the latest instant
before a tick, found by walking wall-clock matches far enough back to be sure (the zone's offset bounds).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from shared.clock import UTC, as_utc, stamp
from shared.errors import AppError
from shared.ncrontab import Schedule, collapse_runs, parse, validate

DAY = 86400
_SECOND = timedelta(seconds=1)
_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


class ZoneError(AppError, ValueError):
    """Not an IANA time zone this machine's zone data knows."""


@functools.lru_cache(maxsize=64)
def load_zone(name: str):
    """An IANA zone (zoneinfo, with the tzdata package where the system has no zone data)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ZoneError(f"'{name}' is not an IANA time zone: use a name such as Europe/Berlin, America/New_York or "
                        "Asia/Tokyo") from None


@functools.lru_cache(maxsize=64)
def _offset_bounds(zone_name: str, year: int) -> tuple[timedelta, timedelta]:
    """The smallest and largest UTC offset the zone uses within 30 years of `year` (sampled twice a month)."""
    zone = load_zone(zone_name)
    offsets = {datetime(y, m, d, 12, tzinfo=UTC).astimezone(zone).utcoffset()
               for y in range(max(1, year - 30), min(9999, year + 30)) for m in range(1, 13) for d in (1, 16)}
    return min(offsets), max(offsets)


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


@dataclass(frozen=True)
class LocalSchedule:
    """A schedule read in a zone's wall-clock time."""

    schedule: Schedule
    zone_name: str

    @property
    def zone(self):
        return load_zone(self.zone_name)

    def instant(self, wall: datetime) -> datetime:
        """The UTC instant of a wall-clock time, read with fold=0."""
        return wall.replace(tzinfo=self.zone, fold=0).astimezone(UTC)

    def local(self, moment: datetime) -> datetime:
        """`moment` in the zone (what the log lines show)."""
        return as_utc(moment).astimezone(self.zone)

    def occurrence_at(self, moment: datetime) -> datetime | None:
        """The wall-clock match whose instant is `moment`, or None when `moment` is no local occurrence (asked once
        per schedule, zone and tick however many jobs share them)."""
        return _occurrence_at(self, as_utc(moment).replace(microsecond=0))

    def _occurrence_at(self, moment: datetime) -> datetime | None:
        # The wall time of an occurrence is the instant plus the offset fold=0 chose: the one in effect then, or,
        # for a time in a gap, the one just before it (at most a day earlier, Samoa 2011 included).
        offsets = dict.fromkeys((moment - timedelta(minutes=30 * k)).astimezone(self.zone).utcoffset()
                                for k in range(51))
        for offset in offsets:
            wall = _naive(moment + offset)
            if self.schedule.matches(wall) and self.instant(wall) == moment:
                return wall
        return None

    def previous(self, moment: datetime) -> datetime | None:
        """The latest occurrence strictly before `moment` (an instant, UTC)."""
        moment = as_utc(moment)
        low, high = _offset_bounds(self.zone_name, moment.year)
        best: datetime | None = None
        wall = self.schedule.latest_at_or_before(moment + high)  # later walls are instants after `moment`
        while wall is not None:
            if best is not None and wall - low < best:  # no earlier wall maps to an instant after `best`
                break
            found = self.instant(_naive(wall))
            if found < moment and (best is None or found > best):
                best = found
            wall = self.schedule.latest_at_or_before(wall - _SECOND)
        return best

    def latest_at_or_before(self, moment: datetime) -> datetime | None:
        return self.previous(as_utc(moment).replace(microsecond=0) + _SECOND)

    def next_after(self, moment: datetime) -> datetime | None:
        """The first occurrence strictly after `moment`."""
        moment = as_utc(moment)
        low, high = _offset_bounds(self.zone_name, moment.year)
        best: datetime | None = None
        wall = self.schedule.next_after(moment + low - _SECOND)  # earlier walls are instants before `moment`
        while wall is not None:
            if best is not None and wall - high > best:  # no later wall maps to an instant before `best`
                break
            found = self.instant(_naive(wall))
            if found > moment and (best is None or found < best):
                best = found
            wall = self.schedule.next_after(wall)
        return best

    def between(self, start: datetime, end: datetime) -> list[datetime]:
        """Every occurrence in [start, end], in order, each instant once."""
        start, end = as_utc(start), as_utc(end)
        low, high = _offset_bounds(self.zone_name, start.year)
        found = set()
        wall = self.schedule.next_after(start + low - _SECOND)
        while wall is not None and wall <= end + high:
            instant = self.instant(_naive(wall))
            if start <= instant <= end:
                found.add(instant)
            wall = self.schedule.next_after(wall)
        return sorted(found)


_occurrence_at = functools.lru_cache(maxsize=4096)(LocalSchedule._occurrence_at)


def parse_local(expression: str, zone_name: str) -> LocalSchedule:
    """A local schedule; raises ScheduleError or ZoneError."""
    load_zone(zone_name)
    return LocalSchedule(validate(expression), zone_name)


# --------------------------------------------------------------------------- does the host schedule cover it?


def _day_offset(zone_name: str, day: date) -> int | None:
    """The zone's offset (seconds) when it is the same for every wall time of `day`, else None (a transition)."""
    local = LocalSchedule(parse("0 0 0 * * *"), zone_name)
    midnight = datetime.combine(day, time())
    first, last = local.instant(midnight), local.instant(midnight + timedelta(days=1))
    offset = midnight - _naive(first)
    if midnight + timedelta(days=1) - _naive(last) != offset:
        return None
    probe = first
    while probe < last:
        if probe.astimezone(local.zone).utcoffset() != offset:
            return None
        probe += timedelta(hours=1)
    return int(offset.total_seconds())


def _split(times: list[int], offset: int) -> dict[int, frozenset[int]]:
    """Local seconds-of-day shifted to UTC, grouped by the UTC day they fall on (-1, 0, +1 ...)."""
    parts: dict[int, set[int]] = {}
    for seconds in times:
        shift, of_day = divmod(seconds - offset, DAY)
        parts.setdefault(shift, set()).add(of_day)
    return {shift: frozenset(values) for shift, values in parts.items()}


@functools.lru_cache(maxsize=4096)
def first_missed(host: Schedule, local: LocalSchedule, start: datetime, days: int = 366) -> datetime | None:
    """The first local occurrence in [start, start + days) the host schedule does not fire at (as a local time);
    once per host, schedule, zone and start, however many jobs share them."""
    start = as_utc(start)
    end = start + timedelta(days=days)
    host_times = frozenset(host.seconds_of_day())
    local_times = local.schedule.seconds_of_day()
    host_daily = len(host.days) == 31 and len(host.months) == 12 and len(host.days_of_week) == 7  # fires every day
    first_day = local.local(start).date()
    offsets = _zone_days(local.zone_name, first_day, days + 2)
    fits = {}  # offset -> its split of the local times, and whether the host's times hold every one
    for offset in set(offsets) - {None}:
        parts = _split(local_times, offset)
        fits[offset] = parts, all(values <= host_times for values in parts.values())
    # A host schedule that fires every day fits every day of an offset whose times fit: only the others are looked at.
    looked_at = range(len(offsets)) if not host_daily else \
        [n for n, offset in enumerate(offsets) if offset is None or not fits[offset][1]]
    for n in looked_at:
        offset, day = offsets[n], first_day + timedelta(days=n)
        if not local.schedule.date_matches(day):
            continue
        if offset is not None:
            parts, times_fit = fits[offset]
            if times_fit and (host_daily or all(host.date_matches(day + timedelta(days=shift)) for shift in parts)):
                continue
        midnight = datetime.combine(day, time())
        for seconds in local_times:
            wall = midnight + timedelta(seconds=seconds)
            instant = local.instant(wall)
            if start <= instant < end and not host.matches(instant):
                return instant.astimezone(local.zone)
    return None


@functools.lru_cache(maxsize=256)
def _zone_days(zone_name: str, first_day: date, days: int) -> tuple[int | None, ...]:
    """The zone's constant offset (seconds) on each of `days` days from `first_day` (None on a transition day): the
    same for every schedule of the zone, so a file of many jobs computes it once per zone."""
    return tuple(_day_offset(zone_name, first_day + timedelta(days=n)) for n in range(days))


# --------------------------------------------------------------------------- the host schedule to use


def offsets_used(zone_name: str, start: datetime, years: int = 3) -> list[timedelta]:
    """The UTC offsets the zone uses from `start`'s day for `years` years (sampled every 6 hours)."""
    return list(_offsets_from(zone_name, as_utc(start).date(), years))


@functools.lru_cache(maxsize=256)
def _offsets_from(zone_name: str, day: date, years: int) -> tuple[timedelta, ...]:
    zone = load_zone(zone_name)
    start = datetime.combine(day, time(), UTC)
    return tuple(sorted({(start + timedelta(hours=6 * k)).astimezone(zone).utcoffset()
                         for k in range(years * 366 * 4)}))


@dataclass(frozen=True)
class HostPlan:
    """The UTC host schedule for a local one, and what it costs."""

    schedule: Schedule
    offsets: list[timedelta]
    firings_per_occurrence: float


@functools.lru_cache(maxsize=4096)
def host_schedule_for(local: LocalSchedule, start: datetime, years: int = 3) -> HostPlan:
    """The tightest six-field UTC NCRONTAB firing at every local occurrence, for every offset the zone uses.

    NCRONTAB is a cross product of fields, so the result is the union of each field's shifted values: one host
    firing per offset for a fixed time of day, more when the day changes under some offsets only.
    """
    offsets = offsets_used(local.zone_name, start, years)
    seconds, minutes, hours, shifts = set(), set(), set(), set()
    for offset in offsets:
        for shift, values in _split(local.schedule.seconds_of_day(), int(offset.total_seconds())).items():
            shifts.add(shift)
            for of_day in values:
                hours.add(of_day // 3600)
                minutes.add(of_day // 60 % 60)
                seconds.add(of_day % 60)
    source = local.schedule
    weekdays = set(range(7)) if len(source.days_of_week) == 7 else \
        {(day + shift) % 7 for day in source.days_of_week for shift in shifts}
    month_days, months = set(), set()
    day = date(2024, 1, 1)  # four years hold every month length, 29 February included
    while day < date(2028, 1, 1):
        if day.day in source.days and day.month in source.months:
            for shift in shifts:
                moved = day + timedelta(days=shift)
                month_days.add(moved.day)
                months.add(moved.month)
        day += timedelta(days=1)
    expression = " ".join([_field(seconds, 0, 59), _field(minutes, 0, 59), _field(hours, 0, 23),
                           _field(month_days, 1, 31), _field(months, 1, 12), _field(weekdays, 0, 6, _DAY_NAMES)])
    host = parse(expression)
    return HostPlan(host, offsets, _firings_per_occurrence(host, local, start))


def cover(schedules: list[Schedule]) -> Schedule:
    """The tightest six-field NCRONTAB that fires at every firing of each schedule: the union of each field (NCRONTAB
    is a cross product, so no single expression can be tighter)."""
    fields = [set().union(*(getattr(schedule, name) for schedule in schedules))
              for name in ("seconds", "minutes", "hours", "days", "months", "days_of_week")]
    return parse(" ".join([_field(fields[0], 0, 59), _field(fields[1], 0, 59), _field(fields[2], 0, 23),
                           _field(fields[3], 1, 31), _field(fields[4], 1, 12), _field(fields[5], 0, 6, _DAY_NAMES)]))


def firings_per_day(schedule: Schedule, start: datetime, days: int = 364) -> float:
    """How often the schedule fires on an average day of the coming 52 weeks."""
    first = as_utc(start).date()
    return len(schedule.seconds_of_day()) * sum(schedule.date_matches(first + timedelta(days=n))
                                                for n in range(days)) / days


def _field(values: set[int], low: int, high: int, names: tuple[str, ...] = ()) -> str:
    """One NCRONTAB field: `*` when every value is there, else a comma list with runs of three or more as ranges."""
    if values == set(range(low, high + 1)):
        return "*"
    return ",".join(collapse_runs(tuple(sorted(values)), (lambda v: names[v]) if names else str))


def _firings_per_occurrence(host: Schedule, local: LocalSchedule, start: datetime, days: int = 364) -> float:
    """Host firings over local occurrences in the coming 52 weeks (counted per day: both are cross products)."""
    first = as_utc(start).date()
    span = [first + timedelta(days=n) for n in range(days)]
    fired = len(host.seconds_of_day()) * sum(map(host.date_matches, span))
    occurring = len(local.schedule.seconds_of_day()) * sum(map(local.schedule.date_matches, span))
    return fired / occurring


def host_schedule_error(host: Schedule, local: LocalSchedule, now: datetime) -> str | None:
    """Why the host schedule cannot serve the local one (the first miss and the schedule to use), or None."""
    missed = first_missed(host, local, now)
    if missed is None:
        return None
    instead = host_schedule_for(local, now).schedule.expression
    return (f"it does not fire at {missed.isoformat()} ({stamp(missed)}), a local occurrence; "
            f"use '{instead}'")
