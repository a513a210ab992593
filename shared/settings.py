"""Typed, validated app settings, read when a function runs and never at import.

Every problem is collected and reported at once in one `ConfigError`, naming each setting and what a good value
looks like, before any call to Azure. Secret values are never part of a message.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from shared.hostconfig import HOST_JSON, function_timeout
from shared.localtime import LocalSchedule, ZoneError, host_schedule_error, load_zone
from shared.parameters import problems as template_problems
from shared.schedule import ScheduleError, validate
from shared.scopes import EXAMPLE as SCOPE_EXAMPLE
from shared.scopes import Scope, parse_scopes

CLOUDS = ("AzureCloud", "AzureChinaCloud", "AzureUSGovernment")
DEFAULT_EXPERIMENT = "scheduled-pipeline-runs"
DEFAULT_EXEMPT_TAG = ("autostop", "false")
DEFAULT_START_TAG = ("autostart", "true")
DEFAULT_RETRY_BUDGET_SECONDS = 120.0
MAX_RETRY_BUDGET_SECONDS = 3600.0
MAX_WAIT_MINUTES = 1440
# What a tick needs besides the wait: signing in, resolving and submitting the pipeline.
WAIT_MARGIN = timedelta(minutes=1)

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_TENANT_DOMAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z]{2,}$")
_RESOURCE_GROUP = re.compile(r"^[-\w.()]{0,89}[-\w()]$")
_WORKSPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,32}$")
_EXPERIMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")
_ENDPOINT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
_PATTERN = re.compile(r"^[A-Za-z0-9*?\[\]!_-]+$")
_GLOB_SHAPE = re.compile(r"(?:[^\[\]]|\[!?[^\[\]!]+\])+")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


class ConfigError(ValueError):
    """One or more app settings are missing or malformed; the message names each one."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid app settings: " + "; ".join(problems))


@dataclass(frozen=True)
class AzureSettings:
    """Who signs in and which workspace: shared by both functions."""

    tenant_id: str | None
    client_id: str | None
    client_secret: str | None = field(repr=False)
    subscription_id: str
    resource_group: str
    workspace_name: str
    cloud: str
    retry_budget_seconds: float

    @property
    def uses_service_principal(self) -> bool:
        return self.client_secret is not None


@dataclass(frozen=True)
class PipelineSettings:
    """What RunPipelineTimer submits each tick."""

    azure: AzureSettings
    schedule: str
    local: LocalSchedule | None
    pipeline_id: str | None
    endpoint_name: str | None
    experiment: str
    parameters: dict[str, str | int | float | bool]
    skip_if_active: bool
    wait_minutes: int


@dataclass(frozen=True)
class ComputeSettings:
    """Which compute instances StopComputeTimer stops (or StartComputeTimer starts) each tick."""

    azure: AzureSettings
    schedule: str
    local: LocalSchedule | None
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    tag: tuple[str, str]  # stop: the exempting tag; start: the opt-in tag
    dry_run: bool
    scopes: tuple[Scope, ...] = ()  # empty: the one AML_* workspace


# Each function's local-time pair (zone, local schedule), for the tools that fire its ticks.
LOCAL_TIME_SETTINGS = {
    "RunPipelineTimer": ("RUN_PIPELINE_TIME_ZONE", "RUN_PIPELINE_LOCAL_SCHEDULE"),
    "StopComputeTimer": ("STOP_COMPUTE_TIME_ZONE", "STOP_COMPUTE_LOCAL_SCHEDULE"),
    "StartComputeTimer": ("START_COMPUTE_TIME_ZONE", "START_COMPUTE_LOCAL_SCHEDULE"),
}

# The settings of each compute function, spelled out so every name the code reads is visible in it.
COMPUTE_SETTINGS = {
    "stop": {"schedule": "STOP_COMPUTE_SCHEDULE", "zone": "STOP_COMPUTE_TIME_ZONE",
             "local": "STOP_COMPUTE_LOCAL_SCHEDULE", "include": "STOP_COMPUTE_INCLUDE",
             "exclude": "STOP_COMPUTE_EXCLUDE", "tag": "STOP_COMPUTE_EXEMPT_TAG", "dry_run": "STOP_COMPUTE_DRY_RUN"},
    "start": {"schedule": "START_COMPUTE_SCHEDULE", "zone": "START_COMPUTE_TIME_ZONE",
              "local": "START_COMPUTE_LOCAL_SCHEDULE", "include": "START_COMPUTE_INCLUDE",
              "exclude": "START_COMPUTE_EXCLUDE", "tag": "START_COMPUTE_TAG", "dry_run": "START_COMPUTE_DRY_RUN"},
}


class _Reader:
    """Reads settings from a mapping and collects every problem instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]):
        self.env = env
        self.problems: list[str] = []

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
            self.problems.append(f"{name}={value!r} is not valid: expected {hint}")
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
            self.problems.append(f"{name} has items that are not ARM scopes {bad}: expected a comma list of "
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
        self.problems.append(f"{name}={value!r} is not a boolean: use true/false, 1/0 or yes/no")
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
            self.problems.append(f"{name}={value!r} is not valid: expected {kind} from {low:g} to {high:g}")
            return default
        return number

    def schedule(self, name: str) -> str:
        value = self.required(name, 'a six-field NCRONTAB expression such as "0 25 21 * * *"')
        if value is None:
            return ""
        try:
            validate(value, self.env)
        except ScheduleError as error:
            self.problems.append(f"{name}={value!r} is not a valid schedule: {error}")
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
            self.problems.append(f"{zone_name}={zone!r} is not valid: {error}")
            return None
        try:
            local = LocalSchedule(validate(expression), zone)
        except ScheduleError as error:
            self.problems.append(f"{local_name}={expression!r} is not a valid schedule: {error}")
            return None
        try:
            problem = _coverage(host, expression, zone, (now or datetime.now(timezone.utc)).date())
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
                f"{name} has invalid entries {bad}: expected a comma list of compute names or glob patterns "
                "(letters, digits, '-', '_', and * ? [...]), each optionally after its workspace's name and a '/', "
                "e.g. 'ci-*,gpu-dev,ws-research/*'"
            )
        return tuple(item for item in items if item)

    def fail_if_any(self) -> None:
        if self.problems:
            raise ConfigError(self.problems)


@functools.lru_cache(maxsize=32)
def _coverage(host: str, local: str, zone: str, today) -> str | None:
    """Why `host` misses an occurrence of `local` in the coming 366 days, cached per day (warm ticks skip it)."""
    start = datetime.combine(today, datetime.min.time(), timezone.utc)
    return host_schedule_error(validate(host), LocalSchedule(validate(local), zone), start)


def _is_valid_pattern(item: str) -> bool:
    # `instance`, or `workspace/instance`. fnmatch silently treats an unclosed '[' as a literal: reject it so a typo
    # is not a pattern matching nothing.
    parts = item.split("/")
    return len(parts) <= 2 and all(_PATTERN.match(part) and _GLOB_SHAPE.fullmatch(part) for part in parts)


def shape(value: str) -> str:
    """What a value looks like, without repeating it: identity settings are never echoed (one may hold a secret)."""
    kinds = [name for name, test in (("letters", str.isalpha), ("digits", str.isdigit)) if any(map(test, value))]
    if any(not (ch.isalnum() or ch in "-.") for ch in value):
        kinds.append("other characters")
    return f"the value has {len(value)} characters ({', '.join(kinds) or 'none'})"


def _read_azure(reader: _Reader, workspace_required: bool = True) -> AzureSettings:
    secret = reader.optional("AZURE_CLIENT_SECRET")
    client_id = reader.optional("AZURE_CLIENT_ID")
    if client_id is not None and not _GUID.match(client_id):
        reader.problems.append(
            f"AZURE_CLIENT_ID is not valid: expected an application (client) id, a GUID of 36 characters such as "
            f"00000000-0000-0000-0000-000000000000; {shape(client_id)} (is a secret in the wrong setting?)"
        )
        client_id = None
    tenant_id = reader.optional("AZURE_TENANT_ID")
    if tenant_id is not None and not (_GUID.match(tenant_id) or _TENANT_DOMAIN.match(tenant_id)):
        reader.problems.append(
            f"AZURE_TENANT_ID is not valid: expected a tenant id GUID or a domain such as contoso.onmicrosoft.com; "
            f"{shape(tenant_id)}"
        )
    if secret is not None:
        # A secret means a service principal, which needs its tenant and client id too.
        if tenant_id is None:
            reader.problems.append("AZURE_TENANT_ID is missing: a service principal (AZURE_CLIENT_SECRET is set) "
                                   "needs its Microsoft Entra tenant id")
        if reader.optional("AZURE_CLIENT_ID") is None:
            reader.problems.append("AZURE_CLIENT_ID is missing: a service principal (AZURE_CLIENT_SECRET is set) "
                                   "needs its application (client) id")
    cloud_name = reader.optional("AML_CLOUD") or CLOUDS[0]
    cloud = next((name for name in CLOUDS if name.lower() == cloud_name.lower()), None)
    if cloud is None:
        reader.problems.append(f"AML_CLOUD={cloud_name!r} is not valid: expected one of {', '.join(CLOUDS)}")
    return AzureSettings(
        tenant_id=tenant_id,
        client_id=client_id,
        client_secret=secret,
        subscription_id=reader.workspace_part(
            "AML_SUBSCRIPTION_ID", _GUID, "the workspace's subscription id (a GUID)", workspace_required
        ),
        resource_group=reader.workspace_part(
            "AML_RESOURCE_GROUP", _RESOURCE_GROUP,
            "the workspace's resource group name (1-90 letters, digits, '-', '_', '.', '(', ')')", workspace_required,
        ),
        workspace_name=reader.workspace_part(
            "AML_WORKSPACE_NAME", _WORKSPACE, "the workspace name (2-33 letters, digits, '-', '_')", workspace_required
        ),
        cloud=cloud or CLOUDS[0],
        retry_budget_seconds=reader.number(
            "AML_RETRY_BUDGET_SECONDS", DEFAULT_RETRY_BUDGET_SECONDS, 0, MAX_RETRY_BUDGET_SECONDS, float
        ),
    )


def _read_parameters(reader: _Reader) -> dict:
    text = reader.optional("RUN_PIPELINE_PARAMETERS")
    if text is None:
        return {}
    hint = 'expected a JSON object of parameter names to values, e.g. {"learning_rate": 0.01, "mode": "full"}'
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        reader.problems.append(f"RUN_PIPELINE_PARAMETERS is not valid JSON ({error.msg} at {error.pos}): {hint}")
        return {}
    if not isinstance(value, dict):
        reader.problems.append(f"RUN_PIPELINE_PARAMETERS is a JSON {type(value).__name__}, not an object: {hint}")
        return {}
    nested = sorted(name for name, item in value.items() if isinstance(item, (dict, list)) or item is None)
    if nested:
        reader.problems.append(
            f"RUN_PIPELINE_PARAMETERS has values that are not strings, numbers or booleans for {nested}: {hint}"
        )
    for problem in template_problems(value):
        reader.problems.append(f"RUN_PIPELINE_PARAMETERS {problem} (placeholders are {{tick}} and {{window_start}}, "
                               "each with an optional strftime format, e.g. {tick:%Y-%m-%d})")
    return value


def _check_wait_fits(reader: _Reader, wait_minutes: int, host_json: Path) -> None:
    """A wait the host would cut short is refused: the user gets the app's message, not a host timeout."""
    timeout = function_timeout(host_json)
    if not wait_minutes or timeout is None or timedelta(minutes=wait_minutes) + WAIT_MARGIN <= timeout:
        return
    most = int((timeout - WAIT_MARGIN).total_seconds() // 60)
    limit = f"at most {most}" if most > 0 else "0"
    reader.problems.append(
        f"RUN_PIPELINE_WAIT_MINUTES={wait_minutes} does not fit in host.json functionTimeout "
        f"({_timespan(timeout)}): the wait plus {int(WAIT_MARGIN.total_seconds() // 60)} minute for signing in and "
        f"submitting must end before the host stops the function; set RUN_PIPELINE_WAIT_MINUTES to {limit}, or "
        "raise functionTimeout (Premium, Dedicated and Flex Consumption plans allow more than 10 minutes)"
    )


def _timespan(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    return f"{seconds // 3600:02}:{seconds // 60 % 60:02}:{seconds % 60:02}"


def load_pipeline_settings(env: Mapping[str, str], host_json: Path = HOST_JSON,
                           now: datetime | None = None) -> PipelineSettings:
    """Settings of RunPipelineTimer; raises ConfigError naming every bad or missing setting."""
    reader = _Reader(env)
    azure = _read_azure(reader)
    schedule = reader.schedule("RUN_PIPELINE_SCHEDULE")
    local = reader.local_schedule("RUN_PIPELINE_SCHEDULE", schedule, "RUN_PIPELINE_TIME_ZONE",
                                  "RUN_PIPELINE_LOCAL_SCHEDULE", now)
    pipeline_id = reader.matching(
        "RUN_PIPELINE_ID", reader.optional("RUN_PIPELINE_ID"), _GUID, "a published pipeline id (a GUID)"
    )
    endpoint_name = reader.matching(
        "RUN_PIPELINE_ENDPOINT_NAME",
        reader.optional("RUN_PIPELINE_ENDPOINT_NAME"),
        _ENDPOINT,
        "a pipeline endpoint name",
    )
    chosen = [name for name in ("RUN_PIPELINE_ID", "RUN_PIPELINE_ENDPOINT_NAME") if reader.optional(name)]
    if len(chosen) != 1:
        reader.problems.append(
            "RUN_PIPELINE_ID and RUN_PIPELINE_ENDPOINT_NAME are both set: set exactly one of them"
            if chosen
            else "RUN_PIPELINE_ID or RUN_PIPELINE_ENDPOINT_NAME is missing: set exactly one of them "
            "(a published pipeline id, or a pipeline endpoint name whose default version is submitted)"
        )
    experiment = reader.matching(
        "RUN_PIPELINE_EXPERIMENT",
        reader.optional("RUN_PIPELINE_EXPERIMENT") or DEFAULT_EXPERIMENT,
        _EXPERIMENT,
        "an experiment name (letters, digits, '-', '_', at most 255, starting with a letter or digit)",
    )
    settings = PipelineSettings(
        azure=azure,
        schedule=schedule,
        local=local,
        pipeline_id=pipeline_id,
        endpoint_name=endpoint_name,
        experiment=experiment or DEFAULT_EXPERIMENT,
        parameters=_read_parameters(reader),
        skip_if_active=reader.boolean("RUN_PIPELINE_SKIP_IF_ACTIVE", False),
        wait_minutes=int(reader.number("RUN_PIPELINE_WAIT_MINUTES", 0, 0, MAX_WAIT_MINUTES, int)),
    )
    _check_wait_fits(reader, settings.wait_minutes, host_json)
    reader.fail_if_any()
    return settings


def _read_tag(reader: _Reader, name: str, default: tuple[str, str]) -> tuple[str, str]:
    text = reader.optional(name)
    if text is None:
        return default
    key, sep, value = (part.strip() for part in text.partition("="))
    if not sep or not key or not value:
        reader.problems.append(f"{name}={text!r} is not valid: expected key=value, e.g. {'='.join(default)}")
        return default
    return key, value


def load_compute_settings(env: Mapping[str, str], action: str = "stop", now: datetime | None = None) -> ComputeSettings:
    """Settings of StopComputeTimer (or, with action="start", StartComputeTimer); raises ConfigError naming every
    bad or missing setting."""
    names = COMPUTE_SETTINGS[action]
    reader = _Reader(env)
    scopes = reader.scopes("AML_COMPUTE_SCOPES")
    schedule = reader.schedule(names["schedule"])
    settings = ComputeSettings(
        azure=_read_azure(reader, workspace_required=not reader.optional("AML_COMPUTE_SCOPES")),
        schedule=schedule,
        local=reader.local_schedule(names["schedule"], schedule, names["zone"], names["local"], now),
        include=reader.patterns(names["include"]),
        exclude=reader.patterns(names["exclude"]),
        tag=_read_tag(reader, names["tag"], DEFAULT_EXEMPT_TAG if action == "stop" else DEFAULT_START_TAG),
        dry_run=reader.boolean(names["dry_run"], False),
        scopes=scopes,
    )
    reader.fail_if_any()
    return settings
