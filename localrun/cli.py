"""Command line of the one-tick runner.

    python -m localrun StopComputeTimer                      # local.settings.json of the current directory
    python -m localrun RunPipelineTimer --settings my.json --past-due
    python -m localrun StopComputeTimer --emulator           # a fake Azure: no settings, no network
    python -m localrun StopComputeTimer --emulator --fanout  # the timer, then its queue workers, on Azurite
    python -m localrun RunPipelineTimer --tick 2027-01-14T03:00:00Z
    python -m localrun RunPipelineTimer --from 2027-01-15T00:00:00Z --to 2027-01-18T12:00:00Z [--max 31] [--future]
    python -m localrun RunPipelineTimer --job nightly-train [--tick TIME | --from A --to B]   # one pipelines.json job

The app settings come from the `Values` of local.settings.json; a variable already set in the environment wins,
as with Core Tools. The schedule is read from the function's function.json and checked before any network call,
then the function's own `main` is called with a `TimerRequest` decoded from the host's JSON payload for the latest
occurrence of the schedule (of the local schedule, when the function's time-zone setting is set). `--tick` and
`--from/--to` re-run and backfill RunPipelineTimer's occurrences, of one pipelines.json job with `--job`
(localrun.backfill). `--emulator` runs the same settings against the fake Azure (localrun.emulator).

Output: the function's log lines go to stdout as `LEVEL logger: message` (INFO for the app, WARNING for the SDKs),
followed by one result line, `invocation succeeded ...` or `invocation failed: <ExceptionType>: <message>`.
The runner's own notes and errors go to stderr. Exit status: 0 the invocation succeeded, 1 it raised (or the
schedule is invalid), 2 a usage or set-up error.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from datetime import timedelta

from localrun.backfill import backfill, latest, rerun
from localrun.console import EXIT_FAILED, EXIT_SETUP, SetupError, note, say
from localrun.emulator import run_emulated
from localrun.fanout import run_fanout
from localrun.invoke import functions, invoke, timer_binding, timer_request
from localrun.settings_file import SETTINGS_FILE, local_settings, patched_environ
from shared.functions import RUN_PIPELINE

PROG = "python -m localrun"


def main(argv: list[str] | None = None) -> int:
    """Run one tick of FUNCTION; returns the exit status (0 succeeded, 1 failed, 2 usage or set-up error)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:  # --help, or a usage error argparse has already explained on stderr
        return exit_.code if isinstance(exit_.code, int) else EXIT_SETUP
    try:
        fire = _chosen(args)
        with patched_environ(local_settings(args.settings)), patched_environ(_storage(args)):
            if args.fanout:
                return run_fanout(args.function, fire)
            return run_emulated(args.function, fire) if args.emulator else fire(None)
    except SetupError as error:
        note(f"error: {error}")
        return EXIT_SETUP


def _storage(args: argparse.Namespace) -> dict[str, str | None]:
    """The host's storage for the run: none unless --storage (claims off, said on a line), Azurite with --fanout."""
    if args.fanout and not args.emulator:
        raise SetupError("--fanout runs the timer and its queue workers on the emulator: give --emulator too")
    if args.storage or args.fanout:
        return {}
    return {name: None for name in os.environ if name.startswith("AzureWebJobsStorage")}


def _chosen(args: argparse.Namespace) -> Callable[[Callable[[], None] | None], int]:
    """What to fire: the latest tick, one given tick, or a window of ticks."""
    replaying = args.tick or args.start or args.end or args.job
    if replaying and args.function != RUN_PIPELINE.name:
        raise SetupError("--tick and --from/--to re-run RunPipelineTimer's occurrences (and --job names one of its "
                         "pipelines.json jobs); the compute functions act on the present state, so run them without a "
                         "tick")
    if (args.start is None) != (args.end is None):
        raise SetupError("--from and --to go together: the window's first and last time")
    if args.most is not None and args.start is None:
        raise SetupError("--max limits a backfill: use it with --from and --to")
    if args.future and not (args.tick or args.start):
        raise SetupError("--future goes with --tick or --from/--to: it lets them name a time that has not come")
    if args.tick:
        return lambda epilogue: rerun(args.tick, args.job, epilogue, args.future)
    if args.start:
        return lambda epilogue: backfill(args.start, args.end, 31 if args.most is None else args.most, args.job,
                                         epilogue, args.future)
    if args.job:
        return lambda epilogue: latest(args.job, epilogue)
    return lambda epilogue: _tick(args.function, args.past_due, epilogue)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run one tick of a timer function now, as the Functions host would. Log lines go to stdout, "
        "the runner's notes and errors to stderr. Exit status: 0 succeeded, 1 the invocation failed, "
        "2 usage or set-up error.",
    )
    parser.add_argument("function", metavar="FUNCTION", type=_function_name,
                        help=f"the function folder: {', '.join(functions())}")
    parser.add_argument("--settings", metavar="PATH",
                        help=f"read app settings from this file's Values (default: ./{SETTINGS_FILE}); "
                        "variables already set in the environment win")
    parser.add_argument("--emulator", action="store_true",
                        help="run your settings against a local fake Azure with a demo workspace, as its identity "
                        "(needs requirements-dev.txt; no network)")
    parser.add_argument("--past-due", action="store_true", help="fire the tick as past due (IsPastDue=true)")
    parser.add_argument("--storage", action="store_true", help="use the host's storage of your settings "
                        "(AzureWebJobsStorage) for the tick claims and the work queues; without it claims are off")
    parser.add_argument("--fanout", action="store_true", help="with --emulator and AML_FANOUT=queue: run the timer, "
                        "then its queue workers as the host would, on a private Azurite (needs Node.js)")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--tick", metavar="TIME", help="RunPipelineTimer: run this occurrence (ISO 8601, e.g. "
                      "2027-01-14T03:00:00Z); nothing is submitted if it already has a run of this app")
    when.add_argument("--from", dest="start", metavar="TIME", help="RunPipelineTimer: backfill the occurrences "
                      "from this time (with --to) that have no run of this app yet, oldest first")
    parser.add_argument("--to", dest="end", metavar="TIME", help="the backfill window's last time (inclusive)")
    parser.add_argument("--max", dest="most", type=_count, metavar="N", help="submit at most N runs (default 31)")
    parser.add_argument("--future", action="store_true", help="let --tick or --to name a time that has not come "
                        "(the run is submitted now, tagged past_due=true)")
    parser.add_argument("--job", metavar="NAME", help="RunPipelineTimer with pipelines.json: only this job (its "
                        "latest occurrence, or --tick, or --from/--to)")
    return parser


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _function_name(text: str) -> str:
    names = functions()
    match = next((name for name in names if name.lower() == text.lower()), None)  # the host ignores case too
    if match is None:
        from shared.ncrontab import join

        raise argparse.ArgumentTypeError(f"unknown function {text!r}: choose {join(names, 'or')}" if names else
                                         f"unknown function {text!r}: this app has no timer function")
    return match


def _occurrences(function: str, schedule):
    """The function's occurrences from its settings: the local schedule's when its zone is set. A function folder the
    app does not describe, or settings the function will refuse (it reports them itself), leave the host schedule."""
    from shared.functions import by_name
    from shared.occurrences import Occurrences
    from shared.settings import ConfigError, load_occurrences

    try:
        return load_occurrences(by_name(function), os.environ)
    except (KeyError, ConfigError):
        return Occurrences(schedule)


def _tick(function: str, past_due: bool, epilogue: Callable[[], None] | None = None) -> int:
    """Check the schedule, fire one invocation for its latest occurrence; returns the exit status."""
    from shared.clock import now, stamp
    from shared.ncrontab import ScheduleError, resolve_settings, validate

    binding, expression = timer_binding(function)
    try:
        schedule = validate(resolve_settings(expression, os.environ))
    except ScheduleError as error:
        note(f"error: {function}: schedule {expression}: {error}")
        return EXIT_FAILED
    moment = now()
    occurrences = _occurrences(function, schedule)
    # With a local schedule the host fires at every local occurrence: fire the latest of those.
    occurrence = occurrences.latest_at_or_before(moment) or moment.replace(microsecond=0)
    last = occurrences.previous(occurrence) or occurrence - timedelta(days=1)
    local = occurrences.local
    where = f" ({local.local(occurrence):%H:%M} {local.zone_name}, {local.schedule})" if local else ""
    shown = f'{expression} = "{schedule}"' if "%" in expression else f'"{schedule}"'
    say(f"{function}: schedule {shown} ({schedule.describe()}); firing the tick of "
        f"{stamp(occurrence)}{where}{' as past due' if past_due else ''}")
    if function == RUN_PIPELINE.name:
        note(f"note: this is the schedule's latest occurrence; if the app already ran {stamp(occurrence)},"
             " it submits nothing (pipeline action=already_submitted names that run): --tick TIME runs another one")
    return invoke(function, binding, timer_request(occurrence, last, past_due), epilogue)
