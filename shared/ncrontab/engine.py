"""Six-field NCRONTAB schedules, read exactly as the Azure Functions timer trigger reads them.

The host parses ``schedule`` with NCrontab 3.3.3, which differs from Vixie cron and croniter in ways that
matter (day-of-month AND day-of-week, day-of-week 7 rejected, reversed ranges swapped, prefix names).
This module mirrors it so a schedule can be checked before deployment and so a timer invocation can tell
which tick it belongs to. Only the form that is valid on every hosting plan is accepted: six fields
separated by spaces, no five-field cron, no TimeSpan. The ground floor of the schedule code: it imports nothing
of the app but the basement (errors, clock); local time, settings and the tools build on it.
"""

from __future__ import annotations

import calendar
import functools
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time

from shared.clock import UTC, as_utc
from shared.errors import AppError
from shared.ncrontab.describe import describe, join
from shared.ncrontab.fields import FIELDS, MONTHS, Field

# The Gregorian calendar repeats every 400 years, so a date that has not matched in 400 years never will.
_HORIZON_YEARS = 400
_INT32_MAX = 2**31 - 1
_NUMBER = re.compile(r"[0-9]+")
_STEP = re.compile(r"[+-]?[0-9]+")  # .NET int.Parse accepts a sign, so NCrontab does too
_TIMESPAN = re.compile(r"-?[0-9]+([.:][0-9]+)*")
_EXAMPLE = "'0 25 21 * * *' (21:25:00 UTC every day)"


class ScheduleError(AppError, ValueError):
    """A schedule the Functions host would reject (or that never fires); the message says how to fix it."""


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


@functools.lru_cache(maxsize=4096)
def parse(expression: str) -> Schedule:
    """Parse a six-field NCRONTAB expression, accepting only what every hosting plan accepts (a Schedule is
    immutable: a file of many jobs parses each distinct expression once)."""
    _reject_whole_string_mistakes(expression)
    tokens = [t for t in expression.split(" ") if t]  # NCrontab drops empty entries: repeated spaces are fine
    _check_field_count(expression, tokens)
    values = [_parse_field(spec, token) for spec, token in zip(FIELDS, tokens, strict=True)]
    return Schedule(" ".join(tokens), *values)


def validate(expression: str, env: Mapping[str, str] | None = None) -> Schedule:
    """Resolve settings, parse, and also reject a schedule that can never fire (the host would accept it)."""
    if env is not None:
        expression = resolve_settings(expression, env)
    return _fires(expression)


@functools.lru_cache(maxsize=4096)
def _fires(expression: str) -> Schedule:
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


def _parse_field(spec: Field, token: str) -> tuple[int, ...]:
    """Parse one field: a comma list of ``*``, ``a``, ``a-b``, each optionally ``/step``."""
    try:
        values: set[int] = set()
        for part in token.split(","):
            values.update(_parse_part(spec, part))
    except ScheduleError as exc:
        raise ScheduleError(f"{spec.name} field '{token}': {exc}{_quartz_hint(token)}") from None
    return tuple(sorted(values))


def _parse_part(spec: Field, part: str) -> range:
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


def _parse_value(spec: Field, text: str) -> int:
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


def _name_match(spec: Field, text: str) -> int | None:
    """NCrontab takes the first name that starts with ``text`` (ignoring case): 'T' is Tuesday, 'Ju' June."""
    if not text.isascii():
        return None
    for index, name in enumerate(spec.names):
        if name.lower().startswith(text.lower()):
            return spec.lo + index
    return None


def _unknown_name_message(spec: Field, text: str) -> str:
    if not spec.names:
        return f"'{text}' is not a number; use {spec.lo}-{spec.hi}"
    return (
        f"'{text}' is not a {spec.unit} name; use {spec.lo}-{spec.hi} "
        f"or an English name or its start ({', '.join(n[:3] for n in spec.names)})"
    )


def _check_range(spec: Field, first: int, last: int) -> None:
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
        moment = as_utc(start).replace(microsecond=0)
        if self.never_fires_reason():
            return None
        first = moment.date()
        for day in self._dates(first, forward=True):
            after = _second_of_day(moment) if day == first else -1
            hms = self._time_after(after)
            if hms:
                return datetime.combine(day, time(*hms), UTC)
        return None

    def latest_at_or_before(self, moment: datetime) -> datetime | None:
        """The most recent occurrence at or before ``moment``: the tick an invocation then belongs to."""
        moment = as_utc(moment).replace(microsecond=0)
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
        days = join([str(d) for d in self.days])
        months = join([MONTHS[m - 1] for m in self.months], "or")
        verb = "occurs" if len(self.days) == 1 else "occur"
        return f"day{'s' if len(self.days) > 1 else ''} {days} never {verb} in {months}"

    def warnings(self) -> list[str]:
        """What the host accepts but is almost always a mistake: firing more than once a minute, a range written
        backwards (NCrontab swaps it: it never wraps around), a step of 0 (every value)."""
        found = []
        if len(self.seconds) > 1:
            found.append(f"'{self.expression}' fires {len(self.seconds)} times a minute (its seconds field): a timer "
                         "almost never needs to; write one second, such as 0")
        for spec, token in zip(FIELDS, self.expression.split(" "), strict=True):
            for part in token.split(","):
                base, _, step = part.partition("/")
                if step.lstrip("-").isdigit() and int(step) < 1:
                    found.append(f"the {spec.name} field '{token}' has the step {step}: NCrontab reads it as every "
                                 "value")
                if "-" in base[1:]:
                    low, high = (_parse_value(spec, text) for text in base.split("-", 1))
                    if low > high:
                        found.append(f"the {spec.name} field '{token}' has the range {base} written backwards: "
                                     f"NCrontab reads it as {base.split('-', 1)[1]}-{base.split('-', 1)[0]} (it never "
                                     f"wraps around)")
        return found

    def describe(self, zone: str = "UTC") -> str:
        """One line of plain English, e.g. 'at 21:25:00 UTC every day' or 'every 5 minutes'."""
        return describe(self.seconds, self.minutes, self.hours, self.days, self.months, self.days_of_week, zone)

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


def _second_of_day(moment: datetime) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def _behind(key: tuple[int, ...], origin: tuple[int, ...], forward: bool) -> bool:
    return key < origin if forward else key > origin


def _longest_month(month: int) -> int:
    return calendar.monthrange(2000, month)[1]  # 2000 is a leap year, so February has 29 days


