"""A week of schedules at a glance: a 7-day x 24-hour grid per schedule, in plain text for a terminal or a log.

`#` marks an hour in which the function acts. For a local schedule the grid is drawn twice: in the zone's wall-clock
time, and in UTC, where `o` marks an hour in which the host fires but the tick is not a local occurrence (skipped).
A tick acts only where the host fires: an occurrence the host schedule misses is `x` (the app refuses such a
configuration at every tick, and `week` exits 1 as `jobs` does). With both compute functions configured, one more
grid shows when the opted-in instances are on (`=`): from a StartComputeTimer tick to the next StopComputeTimer tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from shared.clock import UTC
from shared.ncrontab import Schedule
from shared.occurrences import Occurrences
from shared.selection import START, STOP, PowerAction

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HEADER = "     " + "".join(f"{hour:>3}" for hour in range(24))


@dataclass(frozen=True)
class Lane:
    """One schedule to draw: a label, its occurrences, and the power action of a compute function (for on-hours)."""

    label: str
    occurrences: Occurrences
    power: PowerAction | None = None

    @property
    def host(self) -> Schedule:
        return self.occurrences.host

    @property
    def local(self):
        return self.occurrences.local

    def occurs(self, start: datetime, end: datetime) -> list[datetime]:
        """The occurrences in [start, end): where the function would act if the host fired."""
        return [moment for moment in self.occurrences.between(start, end) if moment < end]

    def acts(self, start: datetime, end: datetime) -> list[datetime]:
        """The instants in [start, end) at which the function acts: its occurrences the host fires at."""
        return [moment for moment in self.occurs(start, end) if self.host.matches(moment)]

    def missed(self, start: datetime, end: datetime) -> list[datetime]:
        """Its occurrences in [start, end) the host does not fire at."""
        return [moment for moment in self.occurs(start, end) if not self.host.matches(moment)]


def _fires(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    found, moment = [], schedule.next_after(start - timedelta(seconds=1))
    while moment is not None and moment < end:
        found.append(moment)
        moment = schedule.next_after(moment)
    return found


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _grid(title: str, marks: dict[tuple[int, int], str]) -> list[str]:
    lines = [title, HEADER]
    for index, name in enumerate(DAYS):
        lines.append(f"{name}  " + "".join(f"{marks.get((index, hour), '.'):>3}" for hour in range(24)))
    return lines


def _bucket(moments: list[datetime], monday: date, zone) -> set[tuple[int, int]]:
    cells = set()
    for moment in moments:
        shown = moment.astimezone(zone)
        day = (shown.date() - monday).days
        if 0 <= day < 7:
            cells.add((day, shown.hour))
    return cells


def _week_bounds(monday: date, zone) -> tuple[datetime, datetime]:
    start = datetime.combine(monday, time(), zone).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), time(), zone).astimezone(UTC)
    return start, end


def draw(lanes: list[Lane], monday: date) -> str:
    """The grids for `lanes` in the week starting on `monday`, and the instances' on-hours when both are there."""
    out = [f"week of {monday:%Y-%m-%d} (Mon) to {monday + timedelta(days=6):%Y-%m-%d} (Sun); "
           "# acts, o host fires but skips (not a local occurrence), x the host misses it, . nothing", ""]
    for lane in lanes:
        if lane.local is not None:
            zone = lane.local.zone
            start, end = _week_bounds(monday, zone)
            local_marks = {**dict.fromkeys(_bucket(lane.missed(start, end), monday, zone), "x"),
                           **dict.fromkeys(_bucket(lane.acts(start, end), monday, zone), "#")}
            out += _grid(f"{lane.label}: {lane.local.schedule} in {lane.local.zone_name}", local_marks) + [""]
        start, end = _week_bounds(monday, UTC)
        acted = _bucket(lane.acts(start, end), monday, UTC)
        missed = _bucket(lane.missed(start, end), monday, UTC)
        fired = _bucket(_fires(lane.host, start, end), monday, UTC)
        marks = {**dict.fromkeys(missed, "x"), **{cell: "#" if cell in acted else "o" for cell in fired | acted}}
        host = f"host schedule {lane.host}" if lane.local is not None else f"{lane.host}"
        out += _grid(f"{lane.label}: {host} (UTC)", marks) + [""]
    on = on_hours(lanes, monday)
    if on is not None:
        out += on + [""]
    return "\n".join(out).rstrip() + "\n"


def on_hours(lanes: list[Lane], monday: date) -> list[str] | None:
    """When opted-in instances are on: from each start tick to the next stop tick (None without both functions)."""
    starts = next((lane for lane in lanes if lane.power == START), None)
    stops = next((lane for lane in lanes if lane.power == STOP), None)
    if starts is None or stops is None:
        return None
    zones = {lane.occurrences.zone_name for lane in (starts, stops)}
    zone_name = zones.pop() if len(zones) == 1 else "UTC"
    zone = starts.local.zone if zone_name != "UTC" and starts.local is not None else UTC
    week_start, week_end = _week_bounds(monday, zone)
    lookback = week_start - timedelta(days=8)
    events = sorted([(moment, True) for moment in starts.acts(lookback, week_end)] +
                    [(moment, False) for moment in stops.acts(lookback, week_end)])
    marks: dict[tuple[int, int], str] = {}
    state, index = False, 0
    hour_start = week_start
    while hour_start < week_end:
        hour_end = hour_start + timedelta(hours=1)
        while index < len(events) and events[index][0] <= hour_start:  # a tick on the hour counts from it
            state = events[index][1]
            index += 1
        on = state
        probe = index
        while probe < len(events) and events[probe][0] < hour_end:
            on = on or events[probe][1]
            probe += 1
        if on:
            shown = hour_start.astimezone(zone)
            marks[((shown.date() - monday).days, shown.hour)] = "="
        hour_start = hour_end
    return _grid(f"instances that opt in ({zone_name}): = on, from a {starts.label} tick to the next "
                 f"{stops.label} tick", marks)
