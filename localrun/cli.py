"""Command line of the one-tick runner.

    python -m localrun StopComputeTimer                      # local.settings.json of the current directory
    python -m localrun RunPipelineTimer --settings my.json --past-due
    python -m localrun StopComputeTimer --emulator           # a fake Azure: no settings, no network

The app settings come from the `Values` of local.settings.json; a variable already set in the environment wins,
as with Core Tools. The schedule is read from the function's function.json and checked before any network call,
then the function's own `main` is called with a `TimerRequest` decoded from the host's JSON payload for the latest
occurrence of the schedule.

Output: the function's log lines go to stdout as `LEVEL logger: message` (INFO for the app, WARNING for the SDKs),
followed by one result line, `invocation succeeded ...` or `invocation failed: <ExceptionType>: <message>`.
The runner's own notes and errors go to stderr. Exit status: 0 the invocation succeeded, 1 it raised (or the
schedule is invalid), 2 a usage or set-up error.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from localrun.emulator import run_emulated
from localrun.errors import EXIT_FAILED, EXIT_SETUP, SetupError, note, say
from localrun.invoke import functions, invoke, timer_binding, timer_request
from localrun.settings_file import SETTINGS_FILE, local_settings, patched_environ

PROG = "python -m localrun"


def main(argv: list[str] | None = None) -> int:
    """Run one tick of FUNCTION; returns the exit status (0 succeeded, 1 failed, 2 usage or set-up error)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:  # --help, or a usage error argparse has already explained on stderr
        return exit_.code if isinstance(exit_.code, int) else EXIT_SETUP
    try:
        if args.emulator:
            return run_emulated(args.function, lambda epilogue: _tick(args.function, args.past_due, epilogue))
        with patched_environ(local_settings(args.settings)):
            return _tick(args.function, args.past_due)
    except SetupError as error:
        note(f"error: {error}")
        return EXIT_SETUP


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run one tick of a timer function now, as the Functions host would. Log lines go to stdout, "
        "the runner's notes and errors to stderr. Exit status: 0 succeeded, 1 the invocation failed, "
        "2 usage or set-up error.",
    )
    parser.add_argument("function", metavar="FUNCTION", type=_function_name,
                        help=f"the function folder: {', '.join(functions())}")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--settings", metavar="PATH",
                        help=f"read app settings from this file's Values (default: ./{SETTINGS_FILE}); "
                        "variables already set in the environment win")
    source.add_argument("--emulator", action="store_true",
                        help="run against a local fake Azure with a demo workspace (needs requirements-dev.txt; "
                        "no settings, no network)")
    parser.add_argument("--past-due", action="store_true", help="fire the tick as past due (IsPastDue=true)")
    return parser


def _function_name(text: str) -> str:
    names = functions()
    match = next((name for name in names if name.lower() == text.lower()), None)  # the host ignores case too
    if match is None:
        raise argparse.ArgumentTypeError(f"unknown function {text!r}: choose {', '.join(names[:-1])} or {names[-1]}")
    return match


def _tick(function: str, past_due: bool, epilogue: Callable[[], None] | None = None) -> int:
    """Check the schedule, fire one invocation for its latest occurrence; returns the exit status."""
    from shared.schedule import ScheduleError, resolve_settings, validate

    binding, expression = timer_binding(function)
    try:
        schedule = validate(resolve_settings(expression, os.environ))
    except ScheduleError as error:
        note(f"error: {function}: schedule {expression}: {error}")
        return EXIT_FAILED
    now = datetime.now(timezone.utc)
    occurrence = schedule.latest_at_or_before(now) or now.replace(microsecond=0)
    last = schedule.latest_at_or_before(occurrence - timedelta(seconds=1)) or occurrence - timedelta(days=1)
    shown = f'{expression} = "{schedule}"' if "%" in expression else f'"{schedule}"'
    say(f"{function}: schedule {shown} ({schedule.describe()}); firing the tick of "
        f"{occurrence:%Y-%m-%dT%H:%M:%SZ}{' as past due' if past_due else ''}")
    if function == "RunPipelineTimer":
        note(f"note: this is the schedule's latest occurrence; if the app already ran {occurrence:%Y-%m-%dT%H:%M:%SZ},"
             " it submits nothing (pipeline action=already_submitted names that run)")
    return invoke(function, binding, timer_request(occurrence, last, past_due), epilogue)
