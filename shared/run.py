"""Run one tick of a timer function now, the way the Functions host would, without Core Tools or Azurite.

Command line::

    python -m shared.run StopComputeTimer                      # local.settings.json of the current directory
    python -m shared.run RunPipelineTimer --settings my.json --past-due
    python -m shared.run StopComputeTimer --emulator           # a fake Azure: no settings, no network

The app settings come from the `Values` of local.settings.json; a variable already set in the environment wins,
as with Core Tools. The schedule is read from the function's function.json and checked before any network call,
then the function's own `main` is called with a `TimerRequest` decoded from the host's JSON payload for the latest
occurrence of the schedule.

Output: the function's log lines go to stdout as `LEVEL logger: message` (INFO for the app, WARNING for the SDKs),
followed by one result line, `invocation succeeded ...` or `invocation failed: <ExceptionType>: <message>`.
The runner's own notes and errors go to stderr. Exit status: 0 the invocation succeeded, 1 it raised (or the
schedule is invalid), 2 a usage or set-up error (unknown function, unreadable settings file, no test tools for
--emulator).

`--emulator` runs the same tick against the fake Azure of tests/fakeazure (seeded by tests/fakeazure/demo.py): the
real SDK code on top of `responses`, with the demo's settings in place of the environment's and a throw-away HOME.
It needs requirements-dev.txt, and is imported only then, so a deployed app (which has no tests/) never loads it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS_FILE = "local.settings.json"
DEV_REQUIREMENTS = "python -m pip install -r requirements-dev.txt"
# Settings the app (or the SDK) reads: in emulator mode none of the developer's own may reach the fake.
APP_PREFIXES = ("AZURE_", "AZUREML_", "AML_", "RUN_PIPELINE_", "STOP_COMPUTE_", "IDENTITY_", "MSI_")
NOISY_LOGGERS = ("azureml", "msal", "urllib3", "msrest", "azure")
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"

EXIT_OK, EXIT_FAILED, EXIT_SETUP = 0, 1, 2


class SetupError(Exception):
    """A usage or set-up problem, reported on stderr with exit status 2."""


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    """Run one tick of FUNCTION; returns the exit status (0 succeeded, 1 failed, 2 usage or set-up error)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:  # --help, or a usage error argparse has already explained on stderr
        return exit_.code if isinstance(exit_.code, int) else EXIT_SETUP
    try:
        if args.emulator:
            return _run_emulated(args.function, args.past_due)
        with _patched_environ(_local_settings(args.settings)):
            return _tick(args.function, args.past_due)
    except SetupError as error:
        _stderr(f"error: {error}")
        return EXIT_SETUP


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m shared.run",
        description="Run one tick of a timer function now, as the Functions host would. Log lines go to stdout, "
        "the runner's notes and errors to stderr. Exit status: 0 succeeded, 1 the invocation failed, "
        "2 usage or set-up error.",
    )
    parser.add_argument("function", metavar="FUNCTION", type=_function_name,
                        help=f"the function folder: {' or '.join(_functions())}")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--settings", metavar="PATH",
                        help=f"read app settings from this file's Values (default: ./{SETTINGS_FILE}); "
                        "variables already set in the environment win")
    source.add_argument("--emulator", action="store_true",
                        help="run against a local fake Azure with a demo workspace (needs requirements-dev.txt; "
                        "no settings, no network)")
    parser.add_argument("--past-due", action="store_true", help="fire the tick as past due (IsPastDue=true)")
    return parser


def _functions() -> list[str]:
    return sorted(path.parent.name for path in ROOT.glob("*/function.json"))


def _function_name(text: str) -> str:
    names = _functions()
    match = next((name for name in names if name.lower() == text.lower()), None)  # the host ignores case too
    if match is None:
        raise argparse.ArgumentTypeError(f"unknown function {text!r}: choose {' or '.join(names)}")
    return match


def _stdout(line: str) -> None:
    print(line, file=sys.stdout, flush=True)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- settings


def _local_settings(path_arg: str | None) -> dict[str, str]:
    """The settings file's Values that the environment does not already set (those it sets win)."""
    path = Path(path_arg) if path_arg is not None else Path.cwd() / SETTINGS_FILE
    if not path.is_file():
        if path_arg is not None:
            raise SetupError(f"--settings {path_arg}: no such file")
        _stderr(f"note: no {SETTINGS_FILE} in {path.parent}: using the app settings already in the environment "
                f"(cp {SETTINGS_FILE}.example {SETTINGS_FILE} to make one)")
        return {}
    values = _read_values(path)
    kept = sorted(name for name in values if name in os.environ)
    note = f"note: read {len(values)} app setting{'s' if len(values) != 1 else ''} from {path}"
    _stderr(note + (f"; already set in the environment, so kept: {', '.join(kept)}" if kept else ""))
    return {name: value for name, value in values.items() if name not in os.environ}


def _read_values(path: Path) -> dict[str, str]:
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as error:  # the message names the place, never the content (it holds secrets)
        raise SetupError(f"{path} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") \
            from None
    except (OSError, UnicodeDecodeError) as error:
        raise SetupError(f"cannot read {path}: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("Values", {}), dict):
        raise SetupError(f'{path} is not a local.settings.json: expected {{"Values": {{"NAME": "value", ...}}}}')
    if document.get("IsEncrypted") is True:
        raise SetupError(f"{path} is encrypted (IsEncrypted: true): run 'func settings decrypt' first")
    values: dict[str, str] = {}
    for name, value in document.get("Values", {}).items():
        if value is None:
            continue
        if isinstance(value, (dict, list)):
            raise SetupError(f"{path}: Values.{name} is a JSON {type(value).__name__}: app settings are strings")
        values[name] = value if isinstance(value, str) else json.dumps(value)  # true -> "true", 5 -> "5"
    return values


@contextlib.contextmanager
def _patched_environ(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) variables for the tick, and put back what was there before."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        _set_environ(values)
        yield
    finally:
        _set_environ(saved)


def _set_environ(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


# --------------------------------------------------------------------------- one tick


def _timer_binding(function: str) -> tuple[str, str]:
    """The timerTrigger binding's name and schedule from the function's function.json."""
    path = ROOT / function / "function.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SetupError(f"cannot read {path}: {error}") from None
    bindings = document.get("bindings") if isinstance(document, dict) else None
    timers = [binding for binding in bindings or [] if isinstance(binding, dict)
              and str(binding.get("type", "")).lower() == "timertrigger"]
    if len(timers) != 1:
        raise SetupError(f"{path} has {len(timers)} timerTrigger bindings: this runner runs timer functions only")
    name, schedule = timers[0].get("name"), timers[0].get("schedule")
    if not isinstance(name, str) or not name.isidentifier() or not isinstance(schedule, str):
        raise SetupError(f"{path}: the timerTrigger binding needs a 'name' (a Python identifier) and a 'schedule'")
    return name, schedule


def _timer_request(occurrence: datetime, last: datetime, past_due: bool):
    """A TimerRequest decoded from the JSON payload the host sends for `occurrence`, as the Python worker does."""
    from azure.functions.meta import Datum
    from azure.functions.timer import TimerRequestConverter

    payload = {
        "Schedule": {"AdjustForDST": True},
        "ScheduleStatus": {"Last": last.isoformat(), "Next": occurrence.isoformat(), "LastUpdated": last.isoformat()},
        "IsPastDue": past_due,
    }
    return TimerRequestConverter.decode(Datum(json.dumps(payload), "json"), trigger_metadata={})


def _tick(function: str, past_due: bool, epilogue: Callable[[], None] | None = None) -> int:
    """Check the schedule, fire one invocation, print its logs and one result line; returns the exit status."""
    from shared.schedule import ScheduleError, resolve_settings, validate

    binding, expression = _timer_binding(function)
    try:
        schedule = validate(resolve_settings(expression, os.environ))
    except ScheduleError as error:
        _stderr(f"error: {function}: schedule {expression}: {error}")
        return EXIT_FAILED
    now = datetime.now(timezone.utc)
    occurrence = schedule.latest_at_or_before(now) or now.replace(microsecond=0)
    last = schedule.latest_at_or_before(occurrence - timedelta(seconds=1)) or occurrence - timedelta(days=1)
    shown = f'{expression} = "{schedule}"' if "%" in expression else f'"{schedule}"'
    _stdout(f"{function}: schedule {shown} ({schedule.describe()}); firing the tick of "
            f"{occurrence:%Y-%m-%dT%H:%M:%SZ}{' as past due' if past_due else ''}")

    secrets = [value for value in (os.environ.get("AZURE_CLIENT_SECRET"),) if value and len(value) >= 4]
    started = time.monotonic()
    with _logs_to_stdout(function, secrets):
        error = _invoke(function, binding, _timer_request(occurrence, last, past_due))
    elapsed = time.monotonic() - started
    if epilogue is not None:
        epilogue()
    if error is None:
        _stdout(f"invocation succeeded: {function} in {elapsed:.2f} s")
        return EXIT_OK
    if not type(error).__module__.startswith("shared."):  # the app's own errors explain themselves
        _stderr(_redact("".join(traceback.format_exception(error)).rstrip(), secrets))
    message = " ".join(str(error).split())  # one line, so it stays the last line
    _stdout(_redact(f"invocation failed: {type(error).__name__}: {message}", secrets))
    return EXIT_FAILED


def _invoke(function: str, binding: str, timer) -> Exception | None:
    """Import the function folder as the worker does and call its `main` with the timer under its binding name."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        entry = importlib.import_module(function).main
        entry(**{binding: timer})
    except Exception as error:  # noqa: BLE001 - any failure of the function is its result, reported by the caller
        return error
    return None


def _redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


class _RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: list[str]):
        super().__init__(LOG_FORMAT)
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return _redact(super().format(record), self.secrets)


@contextlib.contextmanager
def _logs_to_stdout(function: str, secrets: list[str]) -> Iterator[None]:
    """`LEVEL name: message` on stdout: INFO for the app, WARNING for everything else; restored afterwards."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_RedactingFormatter(secrets))
    levels = {"": logging.WARNING, "shared": logging.INFO, function: logging.INFO,
              **dict.fromkeys(NOISY_LOGGERS, logging.WARNING)}
    loggers = {name: logging.getLogger(name or None) for name in levels}
    saved = {name: logger.level for name, logger in loggers.items()}
    for name, logger in loggers.items():
        logger.setLevel(levels[name])
    loggers[""].addHandler(handler)
    try:
        yield
    finally:
        loggers[""].removeHandler(handler)
        for name, logger in loggers.items():
            logger.setLevel(saved[name])


# --------------------------------------------------------------------------- emulator


def _run_emulated(function: str, past_due: bool) -> int:
    """The same tick against the demo workspace of the fake Azure: demo settings, a throw-away HOME, no network."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        import responses
    except ImportError:
        raise SetupError(f"--emulator needs the test tools (responses): run {DEV_REQUIREMENTS}") from None
    try:
        from tests.fakeazure.demo import demo_azure, demo_settings
    except ImportError as error:
        raise SetupError(f"--emulator needs tests/fakeazure from the repository ({error}); a deployed package "
                         f"has no tests/") from None
    fake = demo_azure()
    own = {name: None for name in os.environ if name.upper().startswith(APP_PREFIXES)}
    before = {name: instance.state for name, instance in fake.instances.items()}
    runs_before = set(fake.runs)

    def summary() -> None:
        _stdout(f"emulator: fake Azure workspace {fake.ws_id.rsplit('/', 1)[-1]}: {len(fake.requests)} requests "
                "answered, none sent to the network")
        new_runs = [run for run_id, run in fake.runs.items() if run_id not in runs_before]
        for run in new_runs:
            tags = " ".join(f"{key}={value}" for key, value in run.tags.items())
            _stdout(f"emulator: run {run.run_id} submitted to experiment {run.experiment}, tags: {tags}")
        if function == "RunPipelineTimer" and not new_runs:
            _stdout("emulator: no pipeline run submitted")
        if function == "StopComputeTimer":
            for name, instance in fake.instances.items():
                kind = "" if instance.compute_type == "ComputeInstance" else f" ({instance.compute_type})"
                change = (f"{before[name]} -> {instance.state}" if instance.state != before[name]
                          else f"{instance.state} (unchanged)")
                _stdout(f"emulator: compute {name}{kind}: {change}")

    # HOME changes before the SDK is first imported: azureml fixes its ~/.azureml paths (discovery cache, auth)
    # at import time. In a process that imported it earlier (the tests), those paths stay where they were.
    with (tempfile.TemporaryDirectory(prefix="aml-timer-emulator-", ignore_cleanup_errors=True) as home,
          _patched_environ({**own, **demo_settings(fake), "HOME": home, "USERPROFILE": home}),
          responses.RequestsMock(assert_all_requests_are_fired=False) as wire):
        from shared.workspace import forget_cached_workspaces

        fake.install(wire)
        forget_cached_workspaces()  # a connection from an earlier tick in this process would bypass the fake
        try:
            return _tick(function, past_due, epilogue=summary)
        finally:
            forget_cached_workspaces()  # and the fake's connection must not outlive the emulator


if __name__ == "__main__":
    raise SystemExit(main())
