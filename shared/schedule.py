"""Six-field NCRONTAB schedules, read exactly as the Azure Functions timer trigger reads them.

The host parses ``schedule`` with NCrontab 3.3.3, which differs from Vixie cron and croniter in ways that
matter (day-of-month AND day-of-week, day-of-week 7 rejected, reversed ranges swapped, prefix names).
This module mirrors it so a schedule can be checked before deployment and so a timer invocation can tell
which tick it belongs to. Only the form that is valid on every hosting plan is accepted: six fields
separated by spaces, no five-field cron, no TimeSpan.

Command line::

    python -m shared.schedule check "0 25 12 * * *"
    python -m shared.schedule next "0 25 12 * * *" --count 3 --tz Asia/Tokyo
"""

from __future__ import annotations

import argparse
import calendar
import os
import re
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

UTC = timezone.utc

# The Gregorian calendar repeats every 400 years, so a date that has not matched in 400 years never will.
_HORIZON_YEARS = 400
_INT32_MAX = 2**31 - 1
_NUMBER = re.compile(r"[0-9]+")
_STEP = re.compile(r"[+-]?[0-9]+")  # .NET int.Parse accepts a sign, so NCrontab does too
_TIMESPAN = re.compile(r"-?[0-9]+([.:][0-9]+)*")
_MONTHS = (  # spelled out: calendar.month_name follows the locale, NCrontab does not
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_EXAMPLE = "'0 25 21 * * *' (21:25:00 UTC every day)"


class ScheduleError(ValueError):
    """A schedule the Functions host would reject (or that never fires); the message says how to fix it."""


@dataclass(frozen=True)
class _Field:
    name: str
    lo: int
    hi: int
    names: tuple[str, ...] = ()

    @property
    def unit(self) -> str:
        return self.name.replace("-", " ")


_FIELDS = (
    _Field("second", 0, 59),
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 0, 6, _DAYS),
)


# --------------------------------------------------------------------------- settings


def resolve_settings(expression: str, env: Mapping[str, str]) -> str:
    """Replace each ``%NAME%`` with its app setting, the way the host's ResolveWholeString does.

    Resolved values are not scanned again. Setting names are case-insensitive in the host's configuration,
    so an exact match is tried first and then a case-insensitive one.
    """
    out: list[str] = []
    i = 0
    while (start := expression.find("%", i)) >= 0:
        end = expression.find("%", start + 1)
        if end < 0:
            raise ScheduleError(
                f"The '%' at position {start} does not have a closing '%': "
                f"write %NAME% to use an app setting, or remove the '%'"
            )
        name = expression[start + 1 : end]
        out += [expression[i:start], _lookup(name, env)]
        i = end + 1
    out.append(expression[i:])
    return "".join(out)


def _lookup(name: str, env: Mapping[str, str]) -> str:
    if name in env:
        return env[name]
    if not name:
        raise ScheduleError("'%%' does not resolve to a value: put an app setting name between the '%' signs")
    folded = [value for key, value in env.items() if key.casefold() == name.casefold()]
    if len(folded) == 1:
        return folded[0]
    raise ScheduleError(f"'%{name}%' does not resolve to a value: set the app setting {name}")


# --------------------------------------------------------------------------- parsing


def parse(expression: str) -> Schedule:
    """Parse a six-field NCRONTAB expression, accepting only what every hosting plan accepts."""
    _reject_whole_string_mistakes(expression)
    tokens = [t for t in expression.split(" ") if t]  # NCrontab drops empty entries: repeated spaces are fine
    _check_field_count(expression, tokens)
    values = [_parse_field(spec, token) for spec, token in zip(_FIELDS, tokens, strict=True)]
    return Schedule(" ".join(tokens), *values)


def validate(expression: str, env: Mapping[str, str] | None = None) -> Schedule:
    """Resolve settings, parse, and also reject a schedule that can never fire (the host would accept it)."""
    if env is not None:
        expression = resolve_settings(expression, env)
    schedule = parse(expression)
    reason = schedule.never_fires_reason()
    if reason:
        raise ScheduleError(f"'{schedule.expression}' can never fire: {reason}")
    return schedule


def _reject_whole_string_mistakes(expression: str) -> None:
    stripped = expression.strip()
    if not stripped:
        raise ScheduleError(f"The schedule is empty: write six fields, e.g. {_EXAMPLE}")
    other_space = sorted({repr(c) for c in expression if c.isspace() and c != " "})
    if other_space:
        raise ScheduleError(
            f"{expression!r} contains {', '.join(other_space)}: NCrontab separates fields only with the "
            f"space character, so replace tabs and line breaks with spaces"
        )
    if stripped.startswith("@"):
        raise ScheduleError(
            f"'{stripped}': macros like @daily are not supported; write six fields, "
            f"e.g. '0 0 0 * * *' for every day at midnight UTC"
        )


def _timespan_error(text: str) -> ScheduleError:
    return ScheduleError(
        f"'{text}' is a TimeSpan interval, which works only on App Service plans, is not aligned to the "
        f"clock, and is easy to misread ('24:00:00' is 24 days, '5' is 5 days); write a six-field NCRONTAB "
        f"instead, e.g. '0 0 * * * *' for every hour"
    )


def _check_field_count(expression: str, tokens: list[str]) -> None:
    count = len(tokens)
    if count == 6:
        return
    if count == 5:
        raise ScheduleError(
            f"'{expression}' has 5 fields (classic cron); this project requires NCRONTAB's six, starting "
            f"with seconds: write '0 {' '.join(tokens)}'"
        )
    if count == 1 and _TIMESPAN.fullmatch(tokens[0]):
        raise _timespan_error(tokens[0])
    hint = "; NCRONTAB has no year field" if count == 7 else ""
    raise ScheduleError(
        f"'{expression}' has {count} fields{hint}: write exactly six, "
        f"second minute hour day month day-of-week, e.g. {_EXAMPLE}"
    )


def _parse_field(spec: _Field, token: str) -> tuple[int, ...]:
    """Parse one field: a comma list of ``*``, ``a``, ``a-b``, each optionally ``/step``."""
    try:
        values: set[int] = set()
        for part in token.split(","):
            values.update(_parse_part(spec, part))
    except ScheduleError as exc:
        raise ScheduleError(f"{spec.name} field '{token}': {exc}{_quartz_hint(token)}") from None
    return tuple(sorted(values))


def _parse_part(spec: _Field, part: str) -> range:
    if not part:
        raise ScheduleError("a list entry is empty; remove the extra comma")
    base, slash, step_text = part.partition("/")
    step = _parse_step(step_text) if slash else None
    if base == "*":
        first, last = spec.lo, spec.hi
    elif "-" in base[1:]:
        low, high = base.split("-", 1)
        # NCrontab swaps a reversed range ('FRI-MON' is Monday to Friday); it never wraps around
        first, last = sorted((_parse_value(spec, low), _parse_value(spec, high)))
    else:
        first = _parse_value(spec, base)
        last = spec.hi if step is not None else first  # 'a/n' runs from a up to the field maximum
    _check_range(spec, first, last)
    interval = max(step or 1, 1)  # a step below 1 means every value
    if first - spec.lo + interval > _INT32_MAX:
        raise ScheduleError(f"step {step} is too large (NCrontab overflows); use at most {spec.hi}")
    return range(first, last + 1, interval)


def _parse_step(text: str) -> int:
    if not _STEP.fullmatch(text) or not -_INT32_MAX - 1 <= int(text) <= _INT32_MAX:
        raise ScheduleError(f"the step '{text}' after '/' must be a whole number")
    return int(text)


def _parse_value(spec: _Field, text: str) -> int:
    if not text:
        raise ScheduleError("a value is missing next to '-' or '/'")
    if text[0].isdigit():
        if not _NUMBER.fullmatch(text):
            raise ScheduleError(f"'{text}' is not a number; use {spec.lo}-{spec.hi}")
        return int(text)
    match = _name_match(spec, text)
    if match is None:
        raise ScheduleError(_unknown_name_message(spec, text))
    return match


def _name_match(spec: _Field, text: str) -> int | None:
    """NCrontab takes the first name that starts with ``text`` (ignoring case): 'T' is Tuesday, 'Ju' June."""
    if not text.isascii():
        return None
    for index, name in enumerate(spec.names):
        if name.lower().startswith(text.lower()):
            return spec.lo + index
    return None


def _unknown_name_message(spec: _Field, text: str) -> str:
    if not spec.names:
        return f"'{text}' is not a number; use {spec.lo}-{spec.hi}"
    return (
        f"'{text}' is not a {spec.unit} name; use {spec.lo}-{spec.hi} "
        f"or an English name or its start ({', '.join(n[:3] for n in spec.names)})"
    )


def _check_range(spec: _Field, first: int, last: int) -> None:
    if spec.name == "day-of-week" and 7 in (first, last):
        raise ScheduleError("7 is not a day of the week in NCRONTAB (0-6, Sunday = 0): write 0 for Sunday")
    for value in (first, last):
        if not spec.lo <= value <= spec.hi:
            raise ScheduleError(f"{value} is out of range: use {spec.lo}-{spec.hi}")


def _quartz_hint(token: str) -> str:
    if any(c in token for c in "?#LW"):
        return " (Quartz extras ? L W # are not supported: use '*', lists and ranges)"
    return ""


# --------------------------------------------------------------------------- schedule


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: the sorted values each field allows, and the NCrontab search over them."""

    expression: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    days_of_week: tuple[int, ...]

    def __str__(self) -> str:
        return self.expression

    def next_after(self, start: datetime) -> datetime | None:
        """The first occurrence strictly after ``start`` (UTC), or None if there is none before year 10000."""
        moment = _as_utc(start).replace(microsecond=0)
        if self.never_fires_reason():
            return None
        first = moment.date()
        for day in self._dates(first, forward=True):
            after = _second_of_day(moment) if day == first else -1
            hms = self._time_after(after)
            if hms:
                return datetime.combine(day, time(*hms), UTC)
        return None

    def occurrences(self, start: datetime, count: int) -> list[datetime]:
        """The next ``count`` occurrences after ``start`` (fewer only if the schedule runs out)."""
        found: list[datetime] = []
        moment: datetime | None = start
        while len(found) < count and (moment := self.next_after(moment)) is not None:
            found.append(moment)
        return found

    def latest_at_or_before(self, moment: datetime) -> datetime | None:
        """The most recent occurrence at or before ``moment``: the tick an invocation then belongs to."""
        moment = _as_utc(moment).replace(microsecond=0)
        if self.never_fires_reason():
            return None
        last = moment.date()
        for day in self._dates(last, forward=False):
            at = _second_of_day(moment) if day == last else None
            hms = self._time_at_or_before(at)
            if hms:
                return datetime.combine(day, time(*hms), UTC)
        return None

    def matches(self, moment: datetime) -> bool:
        """Whether `moment` (its fields as they are: UTC, or a wall-clock time) is an occurrence."""
        return (moment.second in self.seconds and moment.minute in self.minutes and moment.hour in self.hours
                and self.date_matches(moment.date()))

    def date_matches(self, day: date) -> bool:
        return day.day in self.days and day.month in self.months and day.isoweekday() % 7 in self.days_of_week

    def seconds_of_day(self) -> list[int]:
        """Every time of day it fires at, as seconds since midnight, in order."""
        return [h * 3600 + m * 60 + s for h in self.hours for m in self.minutes for s in self.seconds]

    def never_fires_reason(self) -> str | None:
        """Why no date can match, or None. The weekday never matters: every date falls on every weekday."""
        if any(day <= _longest_month(month) for month in self.months for day in self.days):
            return None
        days = _join([str(d) for d in self.days])
        months = _join([_MONTHS[m - 1] for m in self.months], "or")
        verb = "occurs" if len(self.days) == 1 else "occur"
        return f"day{'s' if len(self.days) > 1 else ''} {days} never {verb} in {months}"

    def describe(self, zone: str = "UTC") -> str:
        """One line of plain English, e.g. 'at 21:25:00 UTC every day' or 'every 5 minutes'."""
        when = _describe_time(self.seconds, self.minutes, self.hours, zone)
        dates = _describe_dates(self.days, self.months, self.days_of_week)
        if dates == "every day" and "every" in when:
            return when  # 'every 5 minutes every day' says nothing more
        return f"{when} {dates}"

    def _dates(self, first: date, forward: bool) -> Iterator[date]:
        """Dates whose day, month and weekday all match, walking from ``first`` (inclusive)."""
        step = 1 if forward else -1
        limit = min(first.year + _HORIZON_YEARS, 9999) if forward else max(first.year - _HORIZON_YEARS, 1)
        months = self.months if forward else self.months[::-1]
        days = self.days if forward else self.days[::-1]
        origin = (first.year, first.month, first.day)
        for year in range(first.year, limit + step, step):
            for month in months:
                if _behind((year, month), origin[:2], forward):
                    continue
                month_length = calendar.monthrange(year, month)[1]
                for day in days:
                    if day > month_length or _behind((year, month, day), origin, forward):
                        continue
                    candidate = date(year, month, day)
                    if candidate.isoweekday() % 7 in self.days_of_week:
                        yield candidate

    def _time_after(self, after: int) -> tuple[int, int, int] | None:
        """The first allowed time of day strictly after second-of-day ``after`` (-1: the day's first)."""
        hours, minutes, seconds = self.hours, self.minutes, self.seconds
        if after < 0:
            return hours[0], minutes[0], seconds[0]
        h, m, s = after // 3600, after // 60 % 60, after % 60
        if h in hours and m in minutes and (i := bisect_right(seconds, s)) < len(seconds):
            return h, m, seconds[i]
        if h in hours and (i := bisect_right(minutes, m)) < len(minutes):
            return h, minutes[i], seconds[0]
        if (i := bisect_right(hours, h)) < len(hours):
            return hours[i], minutes[0], seconds[0]
        return None

    def _time_at_or_before(self, at: int | None) -> tuple[int, int, int] | None:
        """The last allowed time of day at or before second-of-day ``at`` (None: the day's last)."""
        hours, minutes, seconds = self.hours, self.minutes, self.seconds
        if at is None:
            return hours[-1], minutes[-1], seconds[-1]
        h, m, s = at // 3600, at // 60 % 60, at % 60
        if h in hours and m in minutes and (i := bisect_right(seconds, s)):
            return h, m, seconds[i - 1]
        if h in hours and (i := bisect_left(minutes, m)):
            return h, minutes[i - 1], seconds[-1]
        if i := bisect_left(hours, h):
            return hours[i - 1], minutes[-1], seconds[-1]
        return None


def _as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC, the host's clock on Linux plans."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _second_of_day(moment: datetime) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def _behind(key: tuple[int, ...], origin: tuple[int, ...], forward: bool) -> bool:
    return key < origin if forward else key > origin


def _longest_month(month: int) -> int:
    return calendar.monthrange(2000, month)[1]  # 2000 is a leap year, so February has 29 days


# --------------------------------------------------------------------------- describe


def _describe_time(seconds: tuple[int, ...], minutes: tuple[int, ...], hours: tuple[int, ...], zone: str) -> str:
    if len(seconds) == len(minutes) == 1 and len(hours) <= 4:
        clock = [f"{h:02}:{minutes[0]:02}:{seconds[0]:02}" for h in hours]
        return f"at {_join(clock)} {zone}"
    fields = _significant_fields([(hours, _FIELDS[2]), (minutes, _FIELDS[1]), (seconds, _FIELDS[0])])
    phrases = [_describe_values(values, spec) for values, spec in fields]
    if not phrases[-1].startswith("every "):
        phrases[-1] = f"at {phrases[-1]}"
    return " of ".join(reversed(phrases)) + (f" {zone}" if len(hours) < 24 else "")


def _significant_fields(fields: list[tuple[tuple[int, ...], _Field]]) -> list[tuple[tuple[int, ...], _Field]]:
    """Drop what goes without saying: second 0 of 'every 5 minutes', 'every hour' of 'every minute'."""
    kept = []
    for values, spec in fields:
        coarser_varies = any(len(v) > 1 for v, _ in kept)
        if values != (spec.lo,) or not coarser_varies:
            kept.append((values, spec))
    while len(kept) > 1 and _is_full(*kept[0]) and (_is_full(*kept[1]) or _even_step(*kept[1])):
        kept.pop(0)
    return kept


def _is_full(values: tuple[int, ...], spec: _Field) -> bool:
    return len(values) == spec.hi - spec.lo + 1


def _describe_values(values: tuple[int, ...], spec: _Field) -> str:
    if _is_full(values, spec):
        return f"every {spec.unit}"
    step = _even_step(values, spec)
    if step:
        return f"every {step} {spec.unit}s"
    plural = "s" if len(values) > 1 else ""
    return f"{spec.unit}{plural} {_join(collapse_runs(values, str))}"


def _even_step(values: tuple[int, ...], spec: _Field) -> int | None:
    """The step n when the values are exactly lo, lo+n, ... and n divides the range, so it repeats evenly."""
    if len(values) < 2 or values[0] != spec.lo:
        return None
    step = values[1] - values[0]
    if (spec.hi - spec.lo + 1) % step == 0 and values == tuple(range(spec.lo, spec.hi + 1, step)):
        return step
    return None


def _describe_dates(days: tuple[int, ...], months: tuple[int, ...], weekdays: tuple[int, ...]) -> str:
    month_names = _join(collapse_runs(months, lambda m: _MONTHS[m - 1]))
    if len(days) < 31:
        every = "every month" if len(months) == 12 else month_names
        text = f"on the {_join(collapse_runs(days, _ordinal))} of {every}"
        if len(weekdays) < 7:  # NCrontab ANDs the day with the weekday, unlike cron's OR
            text += f" but only if it is a {_join(collapse_runs(weekdays, lambda d: _DAYS[d]), 'or')}"
        return text
    text = "every day" if len(weekdays) == 7 else f"on {_join(collapse_runs(weekdays, lambda d: _DAYS[d]))}"
    return text if len(months) == 12 else f"{text} in {month_names}"


def collapse_runs(values: tuple[int, ...], label: Callable[[int], str]) -> list[str]:
    """Label values, collapsing three or more consecutive ones into 'first-last'."""
    groups: list[list[int]] = []
    for value in values:
        if groups and value == groups[-1][-1] + 1:
            groups[-1].append(value)
        else:
            groups.append([value])
    out = []
    for group in groups:
        if len(group) >= 3:
            out.append(f"{label(group[0])}-{label(group[-1])}")
        else:
            out += [label(v) for v in group]
    return out


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _join(items: list[str], word: str = "and") -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"


# --------------------------------------------------------------------------- command line

# The app settings a `from-local` result goes into, per function.
_SETTING_PREFIX = {"RunPipelineTimer": "RUN_PIPELINE", "StopComputeTimer": "STOP_COMPUTE",
                   "StartComputeTimer": "START_COMPUTE"}


def main(argv: list[str] | None = None) -> int:
    """``check``, ``next`` and ``from-local``; exit 1 with a message on stderr when a schedule or zone is unusable."""
    args = _parser().parse_args(argv)
    from shared.localtime import ZoneError

    try:
        if args.command == "week":
            return _print_week(args)
        schedule = validate(args.expression, os.environ)
        if args.command == "from-local":
            return _print_from_local(schedule, args)
        if args.command == "check":
            if args.local:
                _local(schedule, args.local)
            print(schedule.describe(args.local or "UTC"))
            return 0
        return _print_next(schedule, args)
    except (ScheduleError, ZoneError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m shared.schedule", description="Check timer schedules.")
    commands = parser.add_subparsers(dest="command", required=True)
    expression_help = "six-field NCRONTAB, %%NAME%% resolved from the environment"
    check = commands.add_parser("check", help="say in plain English when it fires, or why it is wrong")
    check.add_argument("expression", help=expression_help)
    check.add_argument("--local", metavar="ZONE", help="read EXPR in this IANA zone's wall-clock time")
    upcoming = commands.add_parser("next", help="list the next occurrences in UTC")
    upcoming.add_argument("expression", help=expression_help)
    upcoming.add_argument("--after", help="ISO 8601 start (default now; naive means UTC)")
    upcoming.add_argument("--count", type=_positive, default=5, help="how many (default 5)")
    shown = upcoming.add_mutually_exclusive_group()
    shown.add_argument("--tz", help="also show local time in this IANA zone, e.g. Asia/Tokyo")
    shown.add_argument("--local", metavar="ZONE", help="read EXPR in this IANA zone's wall-clock time (fold=0)")
    host = commands.add_parser("from-local", help="the UTC host schedule that fires at every local occurrence")
    host.add_argument("expression", help=expression_help + ", read in the zone's wall-clock time")
    host.add_argument("--tz", required=True, metavar="ZONE", help="IANA zone, e.g. Europe/Berlin")
    host.add_argument("--function", choices=sorted(_SETTING_PREFIX), default="StopComputeTimer",
                      help="whose settings the az command sets (default StopComputeTimer)")
    week = commands.add_parser("week", help="a 7-day x 24-hour grid of when the functions (or each EXPR) act")
    week.add_argument("expressions", nargs="*", metavar="EXPR", help="schedules to draw instead of the functions'")
    week.add_argument("--local", metavar="ZONE", help="read each EXPR in this IANA zone's wall-clock time")
    week.add_argument("--week", metavar="DATE", help="any day of the week to draw (default: this week)")
    week.add_argument("--settings", metavar="PATH",
                      help="the functions' settings from this local.settings.json's Values (default: the environment)")
    return parser


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a positive whole number")
    return int(text)


def _local(schedule: Schedule, zone: str):
    from shared.localtime import LocalSchedule, load_zone

    load_zone(zone)
    return LocalSchedule(schedule, zone)


def _print_next(schedule: Schedule, args: argparse.Namespace) -> int:
    start = _parse_after(args.after) if args.after else datetime.now(UTC)
    if args.local:
        local = _local(schedule, args.local)
        found, moment = [], start
        while len(found) < args.count and (moment := local.next_after(moment)) is not None:
            found.append(moment)
        zone, label = local.zone, args.local
    else:
        found = schedule.occurrences(start, args.count)
        zone, label = (_local(schedule, args.tz).zone, args.tz) if args.tz else (None, "")
    if not found:
        raise ScheduleError(f"'{schedule}' does not fire after {start.isoformat()}")
    for moment in found:
        line = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        if zone:
            line += f"  {moment.astimezone(zone).isoformat()} {label}"
        print(line)
    return 0


def _print_from_local(schedule: Schedule, args: argparse.Namespace) -> int:
    """The host schedule alone on the first line (for scripts), then what it costs and how to set it."""
    from shared.localtime import host_schedule_for

    plan = host_schedule_for(_local(schedule, args.tz), datetime.now(UTC))
    offsets = ", ".join(_offset_text(offset) for offset in plan.offsets)
    prefix = _SETTING_PREFIX[args.function]
    print(plan.schedule.expression)
    print(f"{plan.firings_per_occurrence:.3g} host firing(s) per local occurrence: {args.tz} uses UTC{offsets} in "
          "the coming years, and the function acts only on the ticks that are local occurrences")
    print(f'az functionapp config appsettings set --name <function-app> --resource-group <resource-group> --settings '
          f'"{prefix}_SCHEDULE={plan.schedule.expression}" "{prefix}_TIME_ZONE={args.tz}" '
          f'"{prefix}_LOCAL_SCHEDULE={schedule.expression}"')
    return 0


def _print_week(args: argparse.Namespace) -> int:
    from shared.week import Timer, draw, monday_of

    try:
        day = date.fromisoformat(args.week) if args.week else datetime.now(UTC).date()
    except ValueError:
        raise ScheduleError(f"--week '{args.week}' is not a date: write e.g. 2027-01-18") from None
    if args.expressions:
        timers = []
        for index, expression in enumerate(args.expressions, 1):
            schedule = validate(expression, os.environ)
            if args.local:
                from shared.localtime import host_schedule_for

                local = _local(schedule, args.local)
                timers.append(Timer(f"schedule {index}", host_schedule_for(local, datetime.now(UTC)).schedule, local))
            else:
                timers.append(Timer(f"schedule {index}", schedule))
    else:
        timers = _configured_timers(_settings_values(args.settings))
    print(draw(timers, monday_of(day)), end="")
    return 0


def _settings_values(path: str | None) -> Mapping[str, str]:
    if path is None:
        return os.environ
    import json

    try:
        values = json.loads(open(path, encoding="utf-8-sig").read()).get("Values", {})
    except (OSError, ValueError, AttributeError) as error:
        raise ScheduleError(f"--settings {path}: cannot read its Values ({error})") from None
    return {name: str(value) for name, value in values.items() if value is not None}


def _configured_timers(env: Mapping[str, str]) -> list:
    """Each function whose schedule is set, with its local schedule when its zone is set."""
    from shared.localtime import parse_local
    from shared.settings import LOCAL_TIME_SETTINGS
    from shared.week import Timer

    timers = []
    for function, host_name in (("RunPipelineTimer", "RUN_PIPELINE_SCHEDULE"),
                                ("StartComputeTimer", "START_COMPUTE_SCHEDULE"),
                                ("StopComputeTimer", "STOP_COMPUTE_SCHEDULE")):
        expression = (env.get(host_name) or "").strip()
        if not expression:
            continue
        try:
            host = validate(expression)
        except ScheduleError as error:
            raise ScheduleError(f"{host_name}: {error}") from None
        zone_name, local_name = LOCAL_TIME_SETTINGS[function]
        zone, local = (env.get(zone_name) or "").strip(), (env.get(local_name) or "").strip()
        timers.append(Timer(function, host, parse_local(local, zone) if zone and local else None))
    if not timers:
        raise ScheduleError("no function's schedule is set: set RUN_PIPELINE_SCHEDULE, START_COMPUTE_SCHEDULE or "
                            "STOP_COMPUTE_SCHEDULE, read them with --settings local.settings.json, or give EXPRs")
    return timers


def _offset_text(offset) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02}:{abs(minutes) % 60:02}"


def _parse_after(text: str) -> datetime:
    try:
        return _as_utc(datetime.fromisoformat(re.sub(r"[Zz]$", "+00:00", text)))
    except ValueError:
        raise ScheduleError(f"--after '{text}' is not ISO 8601; write e.g. 2026-11-23T12:00:00Z") from None


if __name__ == "__main__":
    raise SystemExit(main())
