"""App settings for a local tick: a local.settings.json's `Values`; the environment wins, as with Core Tools."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from localrun.console import SetupError, note
from shared import strictjson

SETTINGS_FILE = "local.settings.json"


def local_settings(path_arg: str | None) -> dict[str, str]:
    """The settings file's Values that the environment does not already set (those it sets win)."""
    path = Path(path_arg) if path_arg is not None else Path.cwd() / SETTINGS_FILE
    if not path.is_file():
        if path_arg is not None:
            raise SetupError(f"--settings {path_arg}: no such file")
        note(f"note: no {SETTINGS_FILE} in {path.parent}: using the app settings already in the environment "
             f"(cp {SETTINGS_FILE}.example {SETTINGS_FILE} to make one)")
        return {}
    values = read_values(path)
    kept = sorted(name for name in values if name in os.environ)
    text = f"note: read {len(values)} app setting{'s' if len(values) != 1 else ''} from {path}"
    note(text + (f"; already set in the environment, so kept: {', '.join(kept)}" if kept else ""))
    return {name: value for name, value in values.items() if name not in os.environ}


def read_values(path: Path) -> dict[str, str]:
    """The file's Values as the host reads them: strings (true -> "true", 5 -> "5"); null values are dropped."""
    try:
        document = strictjson.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as error:  # the message names the place, never the content (it holds secrets)
        raise SetupError(f"{path} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") \
            from None
    except (OSError, UnicodeDecodeError) as error:
        raise SetupError(f"cannot read {path}: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("Values", {}), dict):
        raise SetupError(f'{path} is not a local.settings.json: expected {{"Values": {{"NAME": "value", ...}}}}')
    if document.get("IsEncrypted") is True:
        raise SetupError(f"{path} is encrypted (IsEncrypted: true): run 'func settings decrypt' first")
    twice = strictjson.duplicate_keys(document, str(path))
    if twice:  # which value would win is a guess: a second STOP_COMPUTE_DRY_RUN must not quietly stop instances
        raise SetupError("; ".join(twice))
    values: dict[str, str] = {}
    for name, value in document.get("Values", {}).items():
        if value is None:
            continue
        if isinstance(value, (dict, list)):
            raise SetupError(f"{path}: Values.{name} is a JSON {strictjson.json_type(value)}: app settings are strings")
        values[name] = value if isinstance(value, str) else json.dumps(value)
    return values


@contextlib.contextmanager
def patched_environ(values: Mapping[str, str | None]) -> Iterator[None]:
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
