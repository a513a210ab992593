"""Reading app settings one by one while collecting every problem, so one ConfigError names them all.

Each method reads one setting, checks it, records what is wrong (with what a good value looks like) and returns a
usable default, so the caller can go on to the next setting instead of stopping at the first. A value that is wrong
is described, never repeated (shared.redact.shown): it may be a secret pasted into the wrong setting.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime

from shared import clock
from shared.errors import AppError
from shared.localtime import LocalSchedule, ZoneError, host_schedule_error, load_zone
from shared.logfmt import kv
from shared.ncrontab import ScheduleError, validate
from shared.redact import SHAPES, shape, shown
from shared.scopes import EXAMPLE as SCOPE_EXAMPLE
from shared.scopes import Scope, parse_scopes

log = logging.getLogger(__name__)

_PATTERN = re.compile(r"^[A-Za-z0-9*?\[\]!_-]+$")
_GLOB_SHAPE = re.compile(r"(?:[^\[\]]|\[!?[^\[\]!]+\])+")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


class ConfigError(AppError, ValueError):
    """One or more app settings are missing or malformed; the message names each one."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid app settings: " + "; ".join(problems))


class SettingReader:
    """Reads settings from a mapping and collects every problem instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]):
        self.env = env
        self.problems: list[str] = []
        self.warnings: list[tuple[str, str]] = []  # (setting, what the host accepts but is almost always a mistake)

    def optional(self, name: str) -> str | None:
        value = self.env.get(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def required(self, name: str, hint: str) -> str | None:
        value = self.optional(name)
        if value is None:
            self.problems.append(f"{name} is missing: set it to {hint}")
        return value

    def matching(self, name: str, value: str | None, pattern: re.Pattern, hint: str) -> str | None:
        if value is not None and not pattern.match(value):
            self.problems.append(f"{name} is not valid: expected {hint}; {shape(value)}")
            return None
        return value

    def required_matching(self, name: str, pattern: re.Pattern, hint: str) -> str:
        value = self.required(name, hint)
        return (self.matching(name, value, pattern, hint) if value is not None else None) or ""

    def workspace_part(self, name: str, pattern: re.Pattern, hint: str, required: bool) -> str:
        """One of the AML_* workspace settings: required unless AML_COMPUTE_SCOPES names the workspaces."""
        if required:
            return self.required_matching(name, pattern, hint)
        return self.matching(name, self.optional(name), pattern, hint) or ""

    def scopes(self, name: str) -> tuple[Scope, ...]:
        text = self.optional(name)
        if text is None:
            return ()
        scopes, bad = parse_scopes(text)
        if bad:
            listed = ", ".join(shown(item, "scope") for item in bad)
            self.problems.append(f"{name} has items that are not ARM scopes: {listed}: expected a comma list of "
                                 f"{SCOPE_EXAMPLE}")
        return scopes

    def boolean(self, name: str, default: bool) -> bool:
        value = self.optional(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        self.problems.append(f"{name} is not a boolean: use true/false, 1/0 or yes/no; {shape(value)}")
        return default

    def number(self, name: str, default: float, low: float, high: float, convert: Callable[[str], float]):
        value = self.optional(name)
        if value is None:
            return default
        try:
            number = convert(value)
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            kind = "a whole number" if convert is int else "a number"
            self.problems.append(f"{name} is not valid: expected {kind} from {low:g} to {high:g}; {shape(value)}")
            return default
        return number

    def schedule(self, name: str) -> str:
        value = self.required(name, 'a six-field NCRONTAB expression such as "0 25 21 * * *"')
        if value is None:
            return ""
        try:
            self.warnings += [(name, text) for text in validate(value, self.env).warnings()]
        except ScheduleError as error:
            self.problems.append(schedule_problem(name, value, error))
        return value

    def local_schedule(self, host_name: str, host: str, zone_name: str, local_name: str,
                       now: datetime | None) -> LocalSchedule | None:
        """The zone and local-schedule pair (both or neither), checked against the host schedule it needs."""
        zone, expression = self.optional(zone_name), self.optional(local_name)
        if zone is None and expression is None:
            return None
        if zone is None or expression is None:
            present, absent = (zone_name, local_name) if expression is None else (local_name, zone_name)
            self.problems.append(f"{absent} is missing: {present} is set, and local time needs both (an IANA zone "
                                 "and a six-field NCRONTAB read in it)")
            return None
        try:
            load_zone(zone)
        except ZoneError as error:
            said = f"{zone_name}={zone!r} is not valid: {error}" if SHAPES["zone"].match(zone) else \
                f"{zone_name} is not valid: expected an IANA zone such as Europe/Berlin; {shape(zone)}"
            self.problems.append(said)
            return None
        try:
            local = LocalSchedule(validate(expression), zone)
            self.warnings += [(local_name, text) for text in local.schedule.warnings()]
        except ScheduleError as error:
            self.problems.append(schedule_problem(local_name, expression, error))
            return None
        try:
            problem = coverage_problem(host, expression, zone, (now or clock.now()).date())
        except ScheduleError:
            return local  # the host schedule's own problem is reported already
        if problem:
            self.problems.append(f"{host_name}={host!r} cannot serve {local_name}={expression!r} in "
                                 f"{zone_name}={zone}: {problem} (python -m shared.schedule from-local prints it)")
        return local

    def patterns(self, name: str) -> tuple[str, ...]:
        value = self.optional(name)
        if value is None:
            return ()
        items = tuple(item.strip() for item in value.split(","))
        bad = [item for item in items if not _is_valid_pattern(item)]
        if bad:
            self.problems.append(
                f"{name} has invalid entries {', '.join(shown(item, 'glob') for item in bad)}: expected a comma list "
                "of compute names or glob patterns "
                "(letters, digits, '-', '_', and * ? [...]), each optionally after its workspace's name and a '/', "
                "e.g. 'ci-*,gpu-dev,ws-research/*'"
            )
        return tuple(item for item in items if item)

    def fail_if_any(self) -> None:
        """Raise one ConfigError naming every problem; else log each warning (the tick goes on, as the host fires)."""
        if self.problems:
            raise ConfigError(self.problems)
        for name, text in self.warnings:
            log.warning(kv("settings", setting=name, action="warned", reason="schedule_unusual", detail=text))


def schedule_problem(name: str, value: str, error: ScheduleError) -> str:
    """A schedule setting that is wrong: the engine's words when the value looks like a schedule (they quote it),
    else a description of it."""
    if SHAPES["schedule"].match(value):
        return f"{name}={value!r} is not a valid schedule: {error}"
    return f"{name} is not a valid schedule: expected a six-field NCRONTAB expression such as \"0 25 21 * * *\"; " \
        f"{shape(value)}"


@functools.lru_cache(maxsize=4096)
def coverage_problem(host: str, local: str, zone: str, today) -> str | None:
    """Why `host` misses an occurrence of `local` in the coming 366 days, cached per day (warm ticks skip it): the
    work is per distinct schedule and zone, not per job."""
    start = datetime.combine(today, datetime.min.time(), clock.UTC)
    return host_schedule_error(validate(host), LocalSchedule(validate(local), zone), start)


def _is_valid_pattern(item: str) -> bool:
    # `instance`, or `workspace/instance`. fnmatch silently treats an unclosed '[' as a literal: reject it so a typo
    # is not a pattern matching nothing.
    parts = item.split("/")
    return len(parts) <= 2 and all(_PATTERN.match(part) and _GLOB_SHAPE.fullmatch(part) for part in parts)
