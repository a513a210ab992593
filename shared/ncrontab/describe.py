"""Schedules in plain English ('at 21:25:00 UTC every day', 'every 5 minutes'), as the tools and errors show them."""

from __future__ import annotations

from collections.abc import Callable

from shared.ncrontab.fields import DAYS, FIELDS, MONTHS, Field


def describe(seconds: tuple[int, ...], minutes: tuple[int, ...], hours: tuple[int, ...], days: tuple[int, ...],
             months: tuple[int, ...], days_of_week: tuple[int, ...], zone: str = "UTC") -> str:
    """One line for the fields' values, e.g. 'at 21:25:00 UTC every day'."""
    when = _describe_time(seconds, minutes, hours, zone)
    dates = _describe_dates(days, months, days_of_week)
    if dates == "every day" and "every" in when:
        return when  # 'every 5 minutes every day' says nothing more
    return f"{when} {dates}"


def _describe_time(seconds: tuple[int, ...], minutes: tuple[int, ...], hours: tuple[int, ...], zone: str) -> str:
    if len(seconds) == len(minutes) == 1 and len(hours) <= 4:
        clock = [f"{h:02}:{minutes[0]:02}:{seconds[0]:02}" for h in hours]
        return f"at {join(clock)} {zone}"
    fields = _significant_fields([(hours, FIELDS[2]), (minutes, FIELDS[1]), (seconds, FIELDS[0])])
    phrases = [_describe_values(values, spec) for values, spec in fields]
    if not phrases[-1].startswith("every "):
        phrases[-1] = f"at {phrases[-1]}"
    return " of ".join(reversed(phrases)) + (f" {zone}" if len(hours) < 24 else "")


def _significant_fields(fields: list[tuple[tuple[int, ...], Field]]) -> list[tuple[tuple[int, ...], Field]]:
    """Drop what goes without saying: second 0 of 'every 5 minutes', 'every hour' of 'every minute'."""
    kept = []
    for values, spec in fields:
        coarser_varies = any(len(v) > 1 for v, _ in kept)
        if values != (spec.lo,) or not coarser_varies:
            kept.append((values, spec))
    while len(kept) > 1 and _is_full(*kept[0]) and (_is_full(*kept[1]) or _even_step(*kept[1])):
        kept.pop(0)
    return kept


def _is_full(values: tuple[int, ...], spec: Field) -> bool:
    return len(values) == spec.hi - spec.lo + 1


def _describe_values(values: tuple[int, ...], spec: Field) -> str:
    if _is_full(values, spec):
        return f"every {spec.unit}"
    step = _even_step(values, spec)
    if step:
        return f"every {step} {spec.unit}s"
    plural = "s" if len(values) > 1 else ""
    return f"{spec.unit}{plural} {join(collapse_runs(values, str))}"


def _even_step(values: tuple[int, ...], spec: Field) -> int | None:
    """The step n when the values are exactly lo, lo+n, ... and n divides the range, so it repeats evenly."""
    if len(values) < 2 or values[0] != spec.lo:
        return None
    step = values[1] - values[0]
    if (spec.hi - spec.lo + 1) % step == 0 and values == tuple(range(spec.lo, spec.hi + 1, step)):
        return step
    return None


def _describe_dates(days: tuple[int, ...], months: tuple[int, ...], weekdays: tuple[int, ...]) -> str:
    month_names = join(collapse_runs(months, lambda m: MONTHS[m - 1]))
    if len(days) < 31:
        every = "every month" if len(months) == 12 else month_names
        text = f"on the {join(collapse_runs(days, _ordinal))} of {every}"
        if len(weekdays) < 7:  # NCrontab ANDs the day with the weekday, unlike cron's OR
            text += f" but only if it is a {join(collapse_runs(weekdays, lambda d: DAYS[d]), 'or')}"
        return text
    text = "every day" if len(weekdays) == 7 else f"on {join(collapse_runs(weekdays, lambda d: DAYS[d]))}"
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


def join(items: list[str], word: str = "and") -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"

