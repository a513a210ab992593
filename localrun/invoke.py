"""Fire one timer invocation the way the Functions host does, and show its logs and its result."""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from localrun.console import EXIT_FAILED, EXIT_OK, SetupError, note, say
from shared.errors import AppError

ROOT = Path(__file__).resolve().parents[1]
NOISY_LOGGERS = ("azureml", "msal", "urllib3", "msrest", "azure")
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def functions() -> list[str]:
    """The app's timer functions: the folders whose function.json has a timer trigger (tests/test_config_files.py
    checks they are the rows of shared/functions.py)."""
    return sorted(path.parent.name for path in ROOT.glob("*/function.json")
                  if '"timerTrigger"' in path.read_text(encoding="utf-8-sig"))


def timer_binding(function: str) -> tuple[str, str]:
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


def timer_request(occurrence: datetime, last: datetime, past_due: bool):
    """A TimerRequest decoded from the JSON payload the host sends for `occurrence`, as the Python worker does."""
    from azure.functions.meta import Datum
    from azure.functions.timer import TimerRequestConverter

    payload = {
        "Schedule": {"AdjustForDST": True},
        "ScheduleStatus": {"Last": last.isoformat(), "Next": occurrence.isoformat(), "LastUpdated": last.isoformat()},
        "IsPastDue": past_due,
    }
    return TimerRequestConverter.decode(Datum(json.dumps(payload), "json"), trigger_metadata={})


def invoke(function: str, binding: str, timer, epilogue: Callable[[], None] | None = None) -> int:
    """Call the function's `main` as the worker does, print its logs and one result line; returns the exit status."""
    secrets = [value for value in (os.environ.get("AZURE_CLIENT_SECRET"),) if value and len(value) >= 4]
    started = time.monotonic()
    with logs_to_stdout(function, secrets):
        error = _call(function, binding, timer)
    elapsed = time.monotonic() - started
    if epilogue is not None:
        epilogue()
    if error is None:
        say(f"invocation succeeded: {function} in {elapsed:.2f} s")
        return EXIT_OK
    if not isinstance(error, AppError):  # the app's own errors explain themselves
        note(redact("".join(traceback.format_exception(error)).rstrip(), secrets))
    message = " ".join(str(error).split())  # one line, so it stays the last line
    say(redact(f"invocation failed: {type(error).__name__}: {message}", secrets))
    return EXIT_FAILED


def _call(function: str, binding: str, timer) -> Exception | None:
    """Import the function folder as the worker does and call its `main` with the timer under its binding name."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        entry = importlib.import_module(function).main
        entry(**{binding: timer})
    except Exception as error:  # noqa: BLE001 - any failure of the function is its result, reported by the caller
        return error
    return None


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


class _RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: list[str]):
        super().__init__(LOG_FORMAT)
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


@contextlib.contextmanager
def logs_to_stdout(function: str, secrets: list[str]) -> Iterator[None]:
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
