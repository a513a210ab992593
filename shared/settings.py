"""Typed, validated app settings, read when a function runs and never at import.

Every problem is collected and reported at once in one `ConfigError` (shared.setting_reader), naming each setting
and what a good value looks like, before any call to Azure. Secret values are never part of a message. Which
settings a function reads is its row in shared.functions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from shared import clock, strictjson
from shared import jobs as jobs_module
from shared.clouds import CLOUDS, DEFAULT, cloud_named
from shared.functions import RUN_PIPELINE, Function, by_verb
from shared.hostconfig import HOST_JSON, function_timeout
from shared.identity import AzureSettings
from shared.jobs import (
    EXPERIMENT,
    EXPERIMENT_HINT,
    MAX_WAIT_MINUTES,
    PARAMETERS_HINT,
    Job,
    parameter_problems,
    read_jobs,
    wait_problem,
)
from shared.localtime import LocalSchedule
from shared.ncrontab import ScheduleError, validate
from shared.occurrences import Occurrences
from shared.prices import CURRENCIES
from shared.redact import shape, shown
from shared.scopes import Scope
from shared.setting_reader import ConfigError, SettingReader, coverage_problem
from shared.storage import StorageSettings, read_storage
from shared.targets import (
    BATCH_ENDPOINT,
    DEPLOYMENT_HINT,
    DEPLOYMENT_PATTERN,
    DEPLOYMENT_SETTING,
    KINDS,
    Target,
)

__all__ = ["AzureSettings", "ComputeSettings", "ConfigError", "PipelineSettings", "check_settings",
           "load_compute_settings", "load_occurrences", "load_pipeline_settings"]

DEFAULT_EXPERIMENT = "scheduled-pipeline-runs"
DEFAULT_RETRY_BUDGET_SECONDS = 120.0
MAX_RETRY_BUDGET_SECONDS = 3600.0
DEFAULT_CONCURRENCY = 16  # requests in flight at once in a compute tick (docs/reliability.md: why 16)
MAX_CONCURRENCY = 64
MAX_LATE_MINUTES = 10080  # a week
INLINE, QUEUE = "inline", "queue"  # AML_FANOUT: the timer does the work, or hands it to the queue workers

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_TENANT_DOMAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z]{2,}$")
_RESOURCE_GROUP = re.compile(r"^[-\w.()]{0,89}[-\w()]$")
_WORKSPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,32}$")


@dataclass(frozen=True)
class PipelineSettings:
    """What RunPipelineTimer submits each tick: the jobs of pipelines.json, or the RUN_PIPELINE_* settings' one."""

    azure: AzureSettings
    schedule: str  # what the host fires on
    jobs: tuple[Job, ...]
    disabled: frozenset[str] = frozenset()  # RUN_PIPELINE_DISABLED: jobs paused without a redeploy
    jobs_file: Path | None = None  # None: single-pipeline mode
    max_late: timedelta | None = None  # RUN_PIPELINE_MAX_LATE_MINUTES: a later tick is skipped (None: no limit)
    storage: StorageSettings | None = None  # the host's own (claims; the work queues with fanout queue)
    fanout: str = INLINE  # AML_FANOUT

    @property
    def job(self) -> Job:
        """The one job of single-pipeline mode."""
        if self.jobs_file is not None:
            raise ValueError(f"{self.jobs_file.name} holds the jobs: there is no single one")
        return self.jobs[0]

    @property
    def local(self) -> LocalSchedule | None:
        """Single-pipeline mode's local schedule (RUN_PIPELINE_TIME_ZONE), which decides whether a tick acts."""
        return None if self.jobs_file is not None else self.job.local

    def occurrences(self, job: Job) -> Occurrences:
        return Occurrences(validate(self.schedule), job.local)


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
    max_late: timedelta | None = timedelta(minutes=60)  # a past-due tick later than this is skipped
    concurrency: int = DEFAULT_CONCURRENCY  # AML_COMPUTE_CONCURRENCY: requests in flight at once
    storage: StorageSettings | None = None
    fanout: str = INLINE


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


def _max_late(reader: SettingReader, function: Function) -> timedelta | None:
    """How late a past-due tick may still act (the function's *_MAX_LATE_MINUTES); None: no limit."""
    minutes = reader.number(function.max_late, function.default_max_late, 1, MAX_LATE_MINUTES, int)
    return None if minutes is None else timedelta(minutes=minutes)


def _read_host(reader: SettingReader, azure: AzureSettings) -> tuple[StorageSettings | None, str]:
    """The host's own storage (for claims and work queues) and AML_FANOUT, which needs it for `queue`."""
    storage, problems = read_storage(reader.env, azure.endpoints)
    reader.problems.extend(problems)
    fanout = (reader.optional("AML_FANOUT") or INLINE).lower()
    if fanout not in (INLINE, QUEUE):
        reader.problems.append(f"AML_FANOUT is not valid: expected {INLINE} (the timer does the work) or {QUEUE} "
                               f"(the queue workers do); {shape(fanout)}")
        fanout = INLINE
    elif fanout == QUEUE and (storage is None or not (storage.connection_string or storage.queue_uri)):
        reader.problems.append(f"AML_FANOUT={QUEUE} needs the Function App's storage queues: set AzureWebJobsStorage "
                               "(or its identity-based AzureWebJobsStorage__accountName)")
    return storage, fanout


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
        reader.problems.append(f"AML_CLOUD is not valid: expected one of "
                               f"{', '.join(known.name for known in CLOUDS)}; {shape(cloud_name)}")
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
        # Set by App Service and Functions when the app has a managed identity (not app settings of the user's).
        identity_endpoint=reader.optional("IDENTITY_ENDPOINT"),
        identity_header=reader.optional("IDENTITY_HEADER"),
    )


# The settings that describe the one job of single-pipeline mode (and that a pipelines.json job describes itself).
SINGLE_JOB_SETTINGS = ("RUN_PIPELINE_EXPERIMENT", "RUN_PIPELINE_PARAMETERS", "RUN_PIPELINE_SKIP_IF_ACTIVE",
                       "RUN_PIPELINE_WAIT_MINUTES", "RUN_PIPELINE_TIME_ZONE", "RUN_PIPELINE_LOCAL_SCHEDULE")


def _read_parameters(reader: SettingReader) -> dict:
    text = reader.optional("RUN_PIPELINE_PARAMETERS")
    if text is None:
        return {}
    try:
        value = strictjson.loads(text)
    except json.JSONDecodeError as error:
        reader.problems.append(f"RUN_PIPELINE_PARAMETERS is not valid JSON ({error.msg} at {error.pos}): "
                               f"{PARAMETERS_HINT}")
        return {}
    reader.problems.extend(strictjson.duplicate_keys(value, "RUN_PIPELINE_PARAMETERS"))
    reader.problems.extend(parameter_problems(value, "RUN_PIPELINE_PARAMETERS"))
    return value if isinstance(value, dict) else {}


def _single_job(reader: SettingReader, local: LocalSchedule | None, timeout) -> Job:
    """The one job of the RUN_PIPELINE_* settings."""
    chosen = [kind for kind in KINDS if reader.optional(kind.setting)]
    for kind in chosen:
        reader.matching(kind.setting, reader.optional(kind.setting), kind.pattern, kind.hint)
    if len(chosen) > 1:
        reader.problems.append(f"{_listed([kind.setting for kind in chosen], 'and')} are "
                               f"{'both' if len(chosen) == 2 else 'all'} set: set exactly one of them")
    elif not chosen:
        reader.problems.append(f"{_listed([kind.setting for kind in KINDS], 'or')} is missing: set exactly one of "
                               f"them ({'; '.join(kind.what for kind in KINDS[:-1])}; or {KINDS[-1].what})")
    kind = chosen[0] if chosen else KINDS[0]
    deployment = reader.optional(DEPLOYMENT_SETTING)
    if deployment is not None and kind is not BATCH_ENDPOINT:
        reader.problems.append(f"{DEPLOYMENT_SETTING} is set, but {BATCH_ENDPOINT.setting} is not: it names the "
                               f"deployment of that batch endpoint to invoke (remove it, or set "
                               f"{BATCH_ENDPOINT.setting})")
    elif deployment is not None:
        reader.matching(DEPLOYMENT_SETTING, deployment, DEPLOYMENT_PATTERN, DEPLOYMENT_HINT)
    target = Target(kind, reader.optional(kind.setting) or "", deployment)
    experiment = reader.matching("RUN_PIPELINE_EXPERIMENT",
                                 reader.optional("RUN_PIPELINE_EXPERIMENT") or DEFAULT_EXPERIMENT, EXPERIMENT,
                                 EXPERIMENT_HINT)
    wait = int(reader.number("RUN_PIPELINE_WAIT_MINUTES", 0, 0, MAX_WAIT_MINUTES, int))
    too_long = wait_problem("RUN_PIPELINE_WAIT_MINUTES", wait, timeout)
    if too_long:
        reader.problems.append(too_long)
    return Job(None, local, target, experiment or DEFAULT_EXPERIMENT, _read_parameters(reader),
               reader.boolean("RUN_PIPELINE_SKIP_IF_ACTIVE", False), wait)


def _file_jobs(reader: SettingReader, path: Path, schedule: str, timeout, now: datetime | None) -> tuple[Job, ...]:
    """The jobs of pipelines.json, none of the single-pipeline settings beside them, and the host schedule covering
    every enabled job."""
    for name in [kind.setting for kind in KINDS] + [DEPLOYMENT_SETTING, *SINGLE_JOB_SETTINGS]:
        if reader.optional(name):
            reader.problems.append(f"{name} is set, but {path.name} holds the pipelines: set it per job in the file "
                                   f"(or remove {path.name} to use the RUN_PIPELINE_* settings), and remove {name}")
    jobs, problems = read_jobs(path, timeout)
    reader.problems.extend(problems)
    if problems or not schedule:
        return tuple(jobs)
    day = (now or clock.now()).date()
    for job in jobs:
        if not job.enabled:
            continue
        try:
            problem = coverage_problem(schedule, str(job.local.schedule), job.local.zone_name, day)
        except ScheduleError:
            break  # the host schedule's own problem is reported already
        if problem:
            reader.problems.append(f"RUN_PIPELINE_SCHEDULE={schedule!r} cannot serve {path.name} job {job.name!r} "
                                   f"(\"{job.local.schedule}\" in {job.local.zone_name}): {problem} (python -m "
                                   "shared.schedule jobs prints the schedule that covers every job)")
    return tuple(jobs)


def _listed(items: list[str], last: str) -> str:
    """`a`, `a or b`, `a, b or c`."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


def _disabled(reader: SettingReader, jobs: tuple[Job, ...], path: Path | None) -> frozenset[str]:
    text = reader.optional("RUN_PIPELINE_DISABLED")
    if text is None:
        return frozenset()
    names = frozenset(item.strip() for item in text.split(",") if item.strip())
    if path is None:
        reader.problems.append("RUN_PIPELINE_DISABLED is set, but there is no pipelines.json: it pauses jobs of the "
                               "file by name (to pause the single pipeline, disable the function: "
                               "AzureWebJobs.RunPipelineTimer.Disabled=true)")
    elif names - {job.name for job in jobs} and jobs:
        unknown = ", ".join(shown(name, "glob") for name in sorted(names - {job.name for job in jobs}))
        reader.problems.append(f"RUN_PIPELINE_DISABLED names jobs {path.name} does not have: {unknown} (its jobs: "
                               f"{', '.join(job.name for job in jobs)})")
    return names


def load_pipeline_settings(env: Mapping[str, str], host_json: Path = HOST_JSON, now: datetime | None = None,
                           jobs_file: Path | None = None) -> PipelineSettings:
    """Settings of RunPipelineTimer, with the jobs of pipelines.json when the app has one; raises ConfigError
    naming every bad or missing setting and every problem of the file."""
    reader = SettingReader(env)
    azure = _read_azure(reader)
    timeout = function_timeout(host_json)
    path = jobs_file or jobs_module.JOBS_FILE
    if path.exists():
        schedule = reader.schedule(RUN_PIPELINE.schedule)
        jobs = _file_jobs(reader, path, schedule, timeout, now)
        settings = PipelineSettings(azure, schedule, jobs, _disabled(reader, jobs, path), path,
                                    _max_late(reader, RUN_PIPELINE), *_read_host(reader, azure))
    else:
        schedule, local = _schedules(reader, RUN_PIPELINE, now)
        settings = PipelineSettings(azure, schedule, (_single_job(reader, local, timeout),),
                                    _disabled(reader, (), None), None, _max_late(reader, RUN_PIPELINE),
                                    *_read_host(reader, azure))
    reader.fail_if_any()
    return settings


def _read_tag(reader: SettingReader, name: str, default: tuple[str, str]) -> tuple[str, str]:
    text = reader.optional(name)
    if text is None:
        return default
    key, sep, value = (part.strip() for part in text.partition("="))
    if not sep or not key or not value:
        reader.problems.append(f"{name} is not valid: expected key=value, e.g. {'='.join(default)}; {shape(text)}")
        return default
    return key, value


def load_compute_settings(env: Mapping[str, str], action: str = "stop", now: datetime | None = None) -> ComputeSettings:
    """Settings of StopComputeTimer (or, with action="start", StartComputeTimer); raises ConfigError naming every
    bad or missing setting."""
    function = by_verb(action)
    names = function.power
    reader = SettingReader(env)
    scopes = reader.scopes("AML_COMPUTE_SCOPES")
    schedule, local = _schedules(reader, function, now)
    azure = _read_azure(reader, workspace_required=not reader.optional("AML_COMPUTE_SCOPES"))
    storage, fanout = _read_host(reader, azure)
    settings = ComputeSettings(
        azure=azure,
        schedule=schedule,
        local=local,
        include=reader.patterns(names.include),
        exclude=reader.patterns(names.exclude),
        tag=_read_tag(reader, names.tag, names.action.default_tag),
        dry_run=reader.boolean(names.dry_run, False),
        scopes=scopes,
        cost_currency=_read_currency(reader) if reader.boolean("AML_COMPUTE_COST", True) else None,
        max_late=_max_late(reader, function),
        concurrency=int(reader.number("AML_COMPUTE_CONCURRENCY", DEFAULT_CONCURRENCY, 1, MAX_CONCURRENCY, int)),
        storage=storage,
        fanout=fanout,
    )
    reader.fail_if_any()
    return settings


def check_settings(function: Function, env: Mapping[str, str]) -> None:
    """The function's settings read exactly as its tick reads them: ConfigError naming every problem."""
    if function.power is None:
        load_pipeline_settings(env)
    else:
        load_compute_settings(env, function.power.action.verb)


def _read_currency(reader: SettingReader) -> str:
    value = (reader.optional("AML_COMPUTE_COST_CURRENCY") or "USD").upper()
    if value not in CURRENCIES:
        reader.problems.append(f"AML_COMPUTE_COST_CURRENCY is not valid: expected a currency the Azure Retail Prices "
                               f"API offers: {', '.join(CURRENCIES)}; {shape(value)}")
        return "USD"
    return value
