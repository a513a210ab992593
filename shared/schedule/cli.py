"""`python -m shared.schedule`: check a schedule, list its next occurrences, fit a host schedule to a local one, and
draw a week of the functions' schedules.

    python -m shared.schedule check "0 25 12 * * *"
    python -m shared.schedule next "0 25 12 * * *" --count 3 --tz Asia/Tokyo
    python -m shared.schedule from-local "0 30 8 * * 1-5" --tz Europe/Berlin
    python -m shared.schedule week --settings local.settings.json

The top floor of the schedule code: it reads settings and local time, which build on the engine; nothing imports it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from datetime import date, datetime

from shared import clock
from shared.errors import AppError
from shared.functions import FUNCTIONS, by_name
from shared.localtime import host_schedule_for, parse_local
from shared.occurrences import Occurrences
from shared.schedule.describe import join
from shared.schedule.ncrontab import Schedule, ScheduleError, validate
from shared.settings import load_occurrences
from shared.week import Lane, draw, monday_of


def main(argv: list[str] | None = None) -> int:
    """``check``, ``next``, ``from-local`` and ``week``; exit 1 with a message on stderr when a schedule, zone or
    setting is unusable."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "week":
            return _print_week(args)
        schedule = validate(args.expression, os.environ)
        if args.command == "from-local":
            return _print_from_local(schedule, args)
        if args.command == "check":
            if args.local:
                parse_local(schedule.expression, args.local)
            print(schedule.describe(args.local or "UTC"))
            return 0
        return _print_next(schedule, args)
    except AppError as exc:
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
    host.add_argument("--function", choices=sorted(function.name for function in FUNCTIONS),
                      default="StopComputeTimer", help="whose settings the az command sets (default StopComputeTimer)")
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


def _occurrences(schedule: Schedule, zone: str | None) -> Occurrences:
    """EXPR as the host reads it (UTC), or read in `zone`'s wall-clock time, served by the host schedule that fits."""
    if zone is None:
        return Occurrences(schedule)
    local = parse_local(schedule.expression, zone)
    return Occurrences(host_schedule_for(local, clock.now()).schedule, local)


def _print_next(schedule: Schedule, args: argparse.Namespace) -> int:
    start = _parse_after(args.after) if args.after else clock.now()
    occurrences = _occurrences(schedule, args.local)
    found = occurrences.upcoming(start, args.count)
    shown = parse_local(schedule.expression, args.tz) if args.tz else occurrences.local
    if not found:
        raise ScheduleError(f"'{schedule}' does not fire after {start.isoformat()}")
    for moment in found:
        line = clock.stamp(moment)
        if shown is not None:
            line += f"  {shown.local(moment).isoformat()} {shown.zone_name}"
        print(line)
    return 0


def _print_from_local(schedule: Schedule, args: argparse.Namespace) -> int:
    """The host schedule alone on the first line (for scripts), then what it costs and how to set it."""
    plan = host_schedule_for(parse_local(schedule.expression, args.tz), clock.now())
    offsets = ", ".join(_offset_text(offset) for offset in plan.offsets)
    function = by_name(args.function)
    print(plan.schedule.expression)
    print(f"{plan.firings_per_occurrence:.3g} host firing(s) per local occurrence: {args.tz} uses UTC{offsets} in "
          "the coming years, and the function acts only on the ticks that are local occurrences")
    print(f'az functionapp config appsettings set --name <function-app> --resource-group <resource-group> --settings '
          f'"{function.schedule}={plan.schedule.expression}" "{function.zone}={args.tz}" '
          f'"{function.local}={schedule.expression}"')
    return 0


def _print_week(args: argparse.Namespace) -> int:
    try:
        day = date.fromisoformat(args.week) if args.week else clock.now().date()
    except ValueError:
        raise ScheduleError(f"--week '{args.week}' is not a date: write e.g. 2027-01-18") from None
    if args.expressions:
        lanes = [Lane(f"schedule {index}", _occurrences(validate(expression, os.environ), args.local))
                 for index, expression in enumerate(args.expressions, 1)]
    else:
        lanes = _configured_lanes(_settings_values(args.settings))
    print(draw(lanes, monday_of(day)), end="")
    return 0


def _settings_values(path: str | None) -> Mapping[str, str]:
    if path is None:
        return os.environ
    try:
        values = json.loads(open(path, encoding="utf-8-sig").read()).get("Values", {})
    except (OSError, ValueError, AttributeError) as error:
        raise ScheduleError(f"--settings {path}: cannot read its Values ({error})") from None
    return {name: str(value) for name, value in values.items() if value is not None}


def _configured_lanes(env: Mapping[str, str]) -> list[Lane]:
    """Each function whose schedule is set, with its local schedule when its zone is set."""
    configured = [function for function in sorted(FUNCTIONS, key=lambda function: function.name)
                  if (env.get(function.schedule) or "").strip()]
    if not configured:
        names = join(sorted(function.schedule for function in FUNCTIONS), "or")
        raise ScheduleError(f"no function's schedule is set: set {names}, read them with --settings "
                            "local.settings.json, or give EXPRs")
    return [Lane(function.name, load_occurrences(function, env), function.power and function.power.action)
            for function in configured]


def _offset_text(offset) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02}:{abs(minutes) % 60:02}"


def _parse_after(text: str) -> datetime:
    try:
        return clock.parse_instant(text)
    except ValueError:
        raise ScheduleError(f"--after '{text}' is not ISO 8601; write e.g. 2026-11-23T12:00:00Z") from None
