"""Typed, validated app settings, read when a function runs and never at import.

Every problem is collected and reported at once in one `ConfigError` (shared.setting_reader), naming each setting
and what a good value looks like, before any call to Azure. Secret values are never part of a message. Which
settings a function reads is its row in shared.functions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from shared.clouds import CLOUDS, DEFAULT, Cloud, cloud_named
from shared.functions import FUNCTIONS, RUN_PIPELINE, Function
from shared.hostconfig import HOST_JSON, function_timeout
from shared.localtime import LocalSchedule
from shared.occurrences import Occurrences
from shared.parameters import problems as template_problems
from shared.prices import CURRENCIES
from shared.redact import shape
from shared.schedule import validate
from shared.scopes import Scope
from shared.setting_reader import ConfigError, SettingReader

__all__ = ["AzureSettings", "ComputeSettings", "ConfigError", "PipelineSettings", "load_compute_settings",
           "load_occurrences", "load_pipeline_settings"]

DEFAULT_EXPERIMENT = "scheduled-pipeline-runs"
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


@dataclass(frozen=True)
class AzureSettings:
    """Who signs in and which workspace: shared by every function."""

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

    @property
    def endpoints(self) -> Cloud:
        return cloud_named(self.cloud) or DEFAULT


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

    @property
    def occurrences(self) -> Occurrences:
        return Occurrences(validate(self.schedule), self.local)


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
    cost_currency: str | None = "USD"  # the currency the tick prices what it acted on in; None: no prices


def _schedules(reader: SettingReader, function: Function, now: datetime | None) -> tuple[str, LocalSchedule | None]:
    """The function's host schedule and, with its zone, the local schedule the host schedule must cover."""
    schedule = reader.schedule(function.schedule)
    return schedule, reader.local_schedule(function.schedule, schedule, function.zone, function.local, now)


def load_occurrences(function: Function, env: Mapping[str, str], now: datetime | None = None) -> Occurrences:
    """The occurrences a function acts at, from its schedule settings alone (for the tools that fire or draw its
    ticks); raises ConfigError naming a bad one."""
    reader = SettingReader(env)
    schedule, local = _schedules(reader, function, now)
    reader.fail_if_any()
    return Occurrences(validate(schedule), local)


def _read_azure(reader: SettingReader, workspace_required: bool = True) -> AzureSettings:
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
    cloud_name = reader.optional("AML_CLOUD") or DEFAULT.name
    cloud = cloud_named(cloud_name)
    if cloud is None:
        reader.problems.append(f"AML_CLOUD={cloud_name!r} is not valid: expected one of "
                               f"{', '.join(known.name for known in CLOUDS)}")
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
        cloud=(cloud or DEFAULT).name,
        retry_budget_seconds=reader.number(
            "AML_RETRY_BUDGET_SECONDS", DEFAULT_RETRY_BUDGET_SECONDS, 0, MAX_RETRY_BUDGET_SECONDS, float
        ),
    )


def _read_parameters(reader: SettingReader) -> dict:
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


def _check_wait_fits(reader: SettingReader, wait_minutes: int, host_json: Path) -> None:
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
    reader = SettingReader(env)
    azure = _read_azure(reader)
    schedule, local = _schedules(reader, RUN_PIPELINE, now)
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


def _read_tag(reader: SettingReader, name: str, default: tuple[str, str]) -> tuple[str, str]:
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
    function = next(function for function in FUNCTIONS if function.power and function.power.action.verb == action)
    names = function.power
    reader = SettingReader(env)
    scopes = reader.scopes("AML_COMPUTE_SCOPES")
    schedule, local = _schedules(reader, function, now)
    settings = ComputeSettings(
        azure=_read_azure(reader, workspace_required=not reader.optional("AML_COMPUTE_SCOPES")),
        schedule=schedule,
        local=local,
        include=reader.patterns(names.include),
        exclude=reader.patterns(names.exclude),
        tag=_read_tag(reader, names.tag, names.action.default_tag),
        dry_run=reader.boolean(names.dry_run, False),
        scopes=scopes,
        cost_currency=_read_currency(reader) if reader.boolean("AML_COMPUTE_COST", True) else None,
    )
    reader.fail_if_any()
    return settings


def _read_currency(reader: SettingReader) -> str:
    value = (reader.optional("AML_COMPUTE_COST_CURRENCY") or "USD").upper()
    if value not in CURRENCIES:
        reader.problems.append(f"AML_COMPUTE_COST_CURRENCY={value!r} is not valid: expected a currency the Azure "
                               f"Retail Prices API offers: {', '.join(CURRENCIES)}")
        return "USD"
    return value
