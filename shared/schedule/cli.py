"""`python -m shared.schedule`: check a schedule, list its next occurrences, fit a host schedule to a local one, and
draw a week of the functions' schedules.

    python -m shared.schedule check "0 25 12 * * *"
    python -m shared.schedule next "0 25 12 * * *" --count 3 --tz Asia/Tokyo
    python -m shared.schedule from-local "0 30 8 * * 1-5" --tz Europe/Berlin
    python -m shared.schedule week --settings local.settings.json
    python -m shared.schedule jobs pipelines.json

The top floor of the schedule code: it reads settings and local time, which build on the engine; nothing imports it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path

from shared import clock, jobs
from shared.errors import AppError
from shared.functions import FUNCTIONS, RUN_PIPELINE, by_name
from shared.hostconfig import function_timeout
from shared.jobs import covering_schedule, read_jobs
from shared.localtime import firings_per_day, first_missed, host_schedule_for, parse_local
from shared.ncrontab import Schedule, ScheduleError, join, validate
from shared.occurrences import Occurrences
from shared.settings import load_occurrences
from shared.week import Lane, draw, monday_of


def main(argv: list[str] | None = None) -> int:
    """``check``, ``next``, ``from-local`` and ``week``; exit 1 with a message on stderr when a schedule, zone or
    setting is unusable."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "week":
            return _print_week(args)
        if args.command == "jobs":
            return _print_jobs(args)
        schedule = validate(args.expression, os.environ)
        if args.command == "from-local":
            return _print_from_local(schedule, args)
        if args.command == "check":
            if args.local:
                parse_local(schedule.expression, args.local)
            print(schedule.describe(args.local or "UTC"))
            for text in schedule.warnings():  # the host accepts it: a warning, not an error
                print(f"warning: {text}", file=sys.stderr)
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
    week.add_argument("--jobs", metavar="FILE", help="draw the jobs of this pipelines.json (default: the app's own, "
                      "when it has one)")
    listed = commands.add_parser("jobs", help="check pipelines.json, list each job's next occurrences, and print the "
                                 "host schedule that covers them")
    listed.add_argument("file", nargs="?", default="pipelines.json", metavar="FILE",
                        help="the jobs file (default: pipelines.json)")
    listed.add_argument("--count", type=_positive, default=3, help="occurrences per job (default 3)")
    listed.add_argument("--after", help="ISO 8601 start (default now; naive means UTC)")
    listed.add_argument("--settings", metavar="PATH", help="read RUN_PIPELINE_SCHEDULE from this "
                        "local.settings.json's Values (default: the environment)")
    return parser


MAX_COUNT = 1000  # occurrences a listing shows at most: more is never read, and takes long to compute


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a positive whole number")
    if int(text) > MAX_COUNT:
        print(f"note: --count {text} is more than a listing needs: showing {MAX_COUNT}", file=sys.stderr)
        return MAX_COUNT
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
    """The grids; exit 1 (with an error line naming each) when a host schedule misses an occurrence it must serve."""
    try:
        day = date.fromisoformat(args.week) if args.week else clock.now().date()
    except ValueError:
        raise ScheduleError(f"--week '{args.week}' is not a date: write e.g. 2027-01-18") from None
    jobs_file = Path(args.jobs) if args.jobs else jobs.JOBS_FILE
    if args.jobs and not jobs_file.is_file():
        raise ScheduleError(f"--jobs {args.jobs}: no such file")
    if args.expressions:
        lanes = [Lane(f"schedule {index}", _occurrences(validate(expression, os.environ), args.local))
                 for index, expression in enumerate(args.expressions, 1)]
    else:
        lanes = _configured_lanes(_settings_values(args.settings), jobs_file, bool(args.jobs))
    monday = monday_of(day)
    print(draw(lanes, monday), end="")
    start, end = datetime.combine(monday, datetime.min.time(), clock.UTC), \
        datetime.combine(monday, datetime.min.time(), clock.UTC) + timedelta(days=8)
    misses = [(lane, missed[0]) for lane in lanes if (missed := lane.missed(start, end))]
    for lane, missed in misses:
        print(f"error: {lane.label}: the host schedule \"{lane.host}\" does not fire at {clock.stamp(missed)}, an "
              f"occurrence: every tick refuses the configuration until it does (python -m shared.schedule jobs "
              "prints the schedule that covers a file)", file=sys.stderr)
    return 1 if misses else 0


def _settings_values(path: str | None) -> Mapping[str, str]:
    if path is None:
        return os.environ
    try:
        values = json.loads(open(path, encoding="utf-8-sig").read()).get("Values", {})
    except (OSError, ValueError, AttributeError) as error:
        raise ScheduleError(f"--settings {path}: cannot read its Values ({error})") from None
    return {name: str(value) for name, value in values.items() if value is not None}


def _configured_lanes(env: Mapping[str, str], jobs_file: Path, jobs_given: bool) -> list[Lane]:
    """Each function whose schedule is set, with its local schedule when its zone is set; RunPipelineTimer's
    pipelines.json jobs one by one (with `--jobs` alone, on the host schedule that covers them)."""
    configured = [function for function in sorted(FUNCTIONS, key=lambda function: function.name)
                  if (env.get(function.schedule) or "").strip()]
    if not configured and jobs_given:
        return _job_lanes(jobs_file, None)
    if not configured:
        names = join(sorted(function.schedule for function in FUNCTIONS), "or")
        raise ScheduleError(f"no function's schedule is set: set {names}, read them with --settings "
                            "local.settings.json, give --jobs FILE, or give EXPRs")
    lanes = []
    for function in configured:
        if function is RUN_PIPELINE and jobs_file.exists():
            lanes += _job_lanes(jobs_file, validate(env[function.schedule].strip()))
        else:
            lanes.append(Lane(function.name, load_occurrences(function, env), function.power and function.power.action))
    return lanes


def _job_lanes(path: Path, host: Schedule | None) -> list[Lane]:
    """A lane per enabled job, on `host` (None: the host schedule that covers the file, said in the label)."""
    found, problems = read_jobs(path, function_timeout())
    if problems:
        raise ScheduleError("; ".join(problems))
    host = host or covering_schedule(found, clock.now())
    return [Lane(f"{RUN_PIPELINE.name} job {job.name}", Occurrences(host, job.local)) for job in found if job.enabled]


def _print_jobs(args: argparse.Namespace) -> int:
    """Problems on stderr (exit 1); else the covering host schedule alone on the first line, each job and its next
    occurrences, and whether RUN_PIPELINE_SCHEDULE (when set) covers every enabled job (exit 1 when not)."""
    path = Path(args.file)
    found, problems = read_jobs(path, function_timeout())
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    start = _parse_after(args.after) if args.after else clock.now()
    enabled = [job for job in found if job.enabled]
    needed = covering_schedule(found, start)
    print(needed.expression if needed else "(no enabled job)")
    if needed:
        print(f"the tightest host schedule for the {len(enabled)} enabled job(s) of {path}: it fires "
              f"{firings_per_day(needed, start):.3g} time(s) a day; each tick runs the jobs with an occurrence at it")
    upcoming: dict = {}  # what jobs of the same schedule and zone share is worked out once
    for job in found:
        state = "" if job.enabled else " (enabled: false)"
        if job.local not in upcoming:
            described = job.local.schedule.describe(job.local.zone_name)
            moments = Occurrences(needed or job.local.schedule, job.local).upcoming(start, args.count)
            upcoming[job.local] = described, [f"  {clock.stamp(moment)}  {job.local.local(moment).isoformat()}"
                                              for moment in moments]
        described, lines = upcoming[job.local]
        print(f'{job.name}: "{job.local.schedule}" in {job.local.zone_name} ({described}), '
              f"{job.target.kind.key}={job.target.value}"
              f"{f' deployment={job.target.deployment}' if job.target.deployment else ''}{state}")
        for line in lines:
            print(line)
    current = (_settings_values(args.settings).get(RUN_PIPELINE.schedule) or "").strip()
    if not current:
        print(f"{RUN_PIPELINE.schedule} is not set here: set it to the first line")
        return 0
    host = validate(current)
    misses = [(job, missed) for job in enabled if (missed := first_missed(host, job.local, start))]
    if not misses:
        print(f'{RUN_PIPELINE.schedule} "{host}" covers every enabled job')
        return 0
    for job, missed in misses:
        print(f'error: {RUN_PIPELINE.schedule} "{host}" misses job {job.name!r} at {missed.isoformat()} '
              f"({clock.stamp(missed)}): set it to the first line", file=sys.stderr)
    return 1


def _offset_text(offset) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02}:{abs(minutes) % 60:02}"


def _parse_after(text: str) -> datetime:
    try:
        return clock.parse_instant(text)
    except ValueError:
        raise ScheduleError(f"--after '{text}' is not ISO 8601; write e.g. 2026-11-23T12:00:00Z") from None
