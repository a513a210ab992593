"""A team's scheduled pipelines: pipelines.json in the app root, one job each, reviewed like code, checked before
any call to Azure (and in CI, `python -m shared.schedule jobs`), deployed with the app.

    {"pipelines": [{"name": "nightly-train", "schedule": "0 0 2 * * *", "time_zone": "Europe/Berlin",
                    "pipeline_endpoint": "train", "experiment": "nightly",
                    "parameters": {"run_date": "{tick:%Y-%m-%d}"}, "skip_if_active": true, "wait_minutes": 0}]}

Each job's schedule is read in its zone (default UTC) with the local-time rules of shared.localtime; the host fires
on RUN_PIPELINE_SCHEDULE, which must cover every occurrence of every enabled job. Without the file, the RUN_PIPELINE_*
settings are the one job (shared.settings). The rules a job's fields follow, whatever their source, live here.
A job's target is a published pipeline or pipeline endpoint (SDK v1), or a batch endpoint (Azure ML v2) with an
optional `deployment` (shared.targets).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from shared import strictjson
from shared.hostconfig import HOST_JSON
from shared.localtime import LocalSchedule, ZoneError, cover, host_schedule_for, load_zone
from shared.ncrontab import Schedule, ScheduleError, validate
from shared.parameters import problems as template_problems
from shared.strictjson import json_type
from shared.targets import BATCH_ENDPOINT, DEPLOYMENT_HINT, DEPLOYMENT_KEY, DEPLOYMENT_PATTERN, KINDS, Target
from shared.tick import Tick, acts_at

JOBS_FILE = HOST_JSON.parent / "pipelines.json"
DEFAULT_ZONE = "UTC"
MAX_WAIT_MINUTES = 1440
# What a tick needs besides a wait: signing in, resolving and submitting the pipeline.
WAIT_MARGIN = timedelta(minutes=1)
EXPERIMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")
EXPERIMENT_HINT = "an experiment name (letters, digits, '-', '_', at most 255, starting with a letter or digit)"
PARAMETERS_HINT = 'expected a JSON object of parameter names to values, e.g. {"learning_rate": 0.01, "mode": "full"}'
_NAME = re.compile(r"^[a-z0-9-]{1,40}$")
_KEYS = {"name", "schedule", "time_zone", "experiment", "parameters", "skip_if_active", "wait_minutes", "enabled",
         DEPLOYMENT_KEY, *(kind.key for kind in KINDS)}


@dataclass(frozen=True)
class Job:
    """One scheduled pipeline: its name (None for the RUN_PIPELINE_* settings' one job), when it acts (its schedule
    in its zone; None: at every tick the host fires), what it submits and how."""

    name: str | None
    local: LocalSchedule | None
    target: Target
    experiment: str
    parameters: dict = field(default_factory=dict)
    skip_if_active: bool = False
    wait_minutes: int = 0
    enabled: bool = True

    def due(self, tick: Tick) -> bool:
        return acts_at(tick, self.local)


def parameter_problems(value: object, name: str) -> list[str]:
    """What is wrong with a job's parameters (a JSON object of strings, numbers and booleans, with placeholders)."""
    if not isinstance(value, dict):
        return [f"{name} is a JSON {json_type(value)}, not an object: {PARAMETERS_HINT}"]
    found = []
    nested = sorted(key for key, item in value.items() if isinstance(item, (dict, list)) or item is None)
    if nested:
        found.append(f"{name} has values that are not strings, numbers or booleans for {nested}: {PARAMETERS_HINT}")
    found += [f"{name} {problem} (placeholders are {{tick}} and {{window_start}}, each with an optional strftime "
              "format, e.g. {tick:%Y-%m-%d})" for problem in template_problems(value)]
    return found


def wait_problem(name: str, wait_minutes: int, timeout: timedelta | None) -> str | None:
    """A wait the host would cut short is refused: the user gets the app's message, not a host timeout."""
    if not wait_minutes or timeout is None or timedelta(minutes=wait_minutes) + WAIT_MARGIN <= timeout:
        return None
    most = int((timeout - WAIT_MARGIN).total_seconds() // 60)
    seconds = int(timeout.total_seconds())
    shown = f"{seconds // 3600:02}:{seconds // 60 % 60:02}:{seconds % 60:02}"
    return (f"{name}={wait_minutes} does not fit in host.json functionTimeout ({shown}): the wait plus "
            f"{int(WAIT_MARGIN.total_seconds() // 60)} minute for signing in and submitting must end before the host "
            f"stops the function; set {name} to {f'at most {most}' if most > 0 else '0'}, or raise "
            "functionTimeout (Premium, Dedicated and Flex Consumption plans allow more than 10 minutes)")


def covering_schedule(jobs: list[Job], start: datetime) -> Schedule | None:
    """The tightest host schedule (UTC) that fires at every occurrence of every enabled job (None: no enabled job)."""
    enabled = [job for job in jobs if job.enabled]
    return cover([host_schedule_for(job.local, start).schedule for job in enabled]) if enabled else None


TOP_KEY = "pipelines"
FILE_HINT = ('expected {"pipelines": [{"name": ..., "schedule": ..., "pipeline_id", "pipeline_endpoint" or '
             '"batch_endpoint": ...}]}')


def read_jobs(path: Path, timeout: timedelta | None) -> tuple[list[Job], list[str]]:
    """The jobs of the file, and every problem with it (naming the file, the job and the field)."""
    try:
        document = strictjson.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as error:
        return [], [f"{path.name} cannot be read: {error.strerror or error}"]
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        where = f" at line {error.lineno} column {error.colno}" if isinstance(error, json.JSONDecodeError) else ""
        return [], [f"{path.name} is not valid JSON ({getattr(error, 'msg', error)}{where}): {FILE_HINT}"]
    if not isinstance(document, dict):
        return [], [f"{path.name} is a JSON {json_type(document)}, not an object: {FILE_HINT}"]
    problems = [f"{path.name}: {key!r} is not a key of the file (its one key is \"{TOP_KEY}\", a list of jobs)"
                for key in document if key != TOP_KEY]
    problems += [f"{path.name}: the key \"{key}\" appears more than once (JSON keeps only the last, silently): keep "
                 "one" for key in getattr(document, "duplicates", ())]
    entries = document.get(TOP_KEY)
    if not isinstance(entries, list):
        return [], problems + [f"{path.name}: \"{TOP_KEY}\" is "
                               f"{'missing' if TOP_KEY not in document else 'a JSON ' + json_type(entries)}: "
                               f"{FILE_HINT}"]
    jobs, names = [], set()
    for index, entry in enumerate(entries):
        job, found = _read_job(path.name, index, entry, timeout)
        problems += found
        if job is not None:
            if job.name in names:
                problems.append(f"{path.name}: job {job.name!r}: the name is used by another job: names are unique "
                                "(they are in the runs' tags and the log lines)")
            names.add(job.name)
            jobs.append(job)
    if not entries:
        problems.append(f"{path.name} holds no job: add one, or delete the file to use the RUN_PIPELINE_* settings")
    return jobs, problems


def _read_job(file: str, index: int, entry: object, timeout: timedelta | None) -> tuple[Job | None, list[str]]:
    if not isinstance(entry, dict):
        return None, [f"{file}: job #{index + 1} is a JSON {json_type(entry)}, not an object"]
    name = entry.get("name")
    where = f"{file}: job {name!r}" if isinstance(name, str) and name else f"{file}: job #{index + 1}"
    problems: list[str] = strictjson.duplicate_keys(entry, where)

    def problem(text: str) -> None:
        problems.append(f"{where}: {text}")

    def typed(key: str, kind: type, default: object) -> object:
        """The field's value, of its JSON type; a string that is there must not be blank."""
        value = entry.get(key, default)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            problem(f"{key}={json.dumps(value)} is a JSON {json_type(value)}: expected a "
                    f"{'whole number' if kind is int else 'boolean' if kind is bool else 'string'}")
            return default
        if kind is str and key in entry and not value.strip():
            problem(f"{key} is an empty string: give it a value, or leave the field out")
            return default
        return value

    for key in sorted(set(entry) - _KEYS):
        problem(f"{key!r} is not a field of a job (fields: {', '.join(sorted(_KEYS))})")
    named = isinstance(name, str) and bool(_NAME.match(name))
    if not named:
        problem(f"name={json.dumps(name)} is not valid: expected 1-40 lowercase letters, digits and '-'")
    local = _read_schedule(entry, problem)
    targets = [kind for kind in KINDS if kind.key in entry]
    if len(targets) != 1:
        problem(f"{' and '.join(kind.key for kind in targets)} are all set: set exactly one" if targets else
                f"no target: set exactly one of {', '.join(kind.key for kind in KINDS)}")
    target = None
    if targets:
        value = typed(targets[0].key, str, "")
        if value and not targets[0].pattern.match(value):
            problem(f"{targets[0].key}={json.dumps(value)} is not valid: expected {targets[0].hint}")
        target = Target(targets[0], value, _read_deployment(entry, targets[0], typed, problem)) if value else None
    # The experiment defaults to the job's name: checked when it is given, or when the name it comes from is good.
    experiment = typed("experiment", str, name if named else "")
    if experiment and not EXPERIMENT.match(experiment):
        problem(f"experiment={json.dumps(experiment)} is not valid: expected {EXPERIMENT_HINT}")
    parameters = entry.get("parameters", {})
    problems += [f"{where}: {text}" for text in parameter_problems(parameters, "parameters")]
    wait = typed("wait_minutes", int, 0)
    if not 0 <= wait <= MAX_WAIT_MINUTES:
        problem(f"wait_minutes={wait} is not valid: expected a whole number from 0 to {MAX_WAIT_MINUTES}")
        wait = 0
    too_long = wait_problem("wait_minutes", wait, timeout)
    if too_long:
        problem(too_long)
    job = Job(name if isinstance(name, str) else None, local, target, experiment,
              parameters if isinstance(parameters, dict) else {}, typed("skip_if_active", bool, False), wait,
              typed("enabled", bool, True)) if local and target else None
    return (job if not problems else None), problems


def _read_deployment(entry: dict, kind, typed, problem) -> str | None:
    """A batch endpoint job's `deployment` (None: the endpoint's default one)."""
    if DEPLOYMENT_KEY not in entry:
        return None
    deployment = typed(DEPLOYMENT_KEY, str, "")
    if kind is not BATCH_ENDPOINT:
        problem(f"{DEPLOYMENT_KEY} is set, but the job's target is {kind.key}: {DEPLOYMENT_KEY} names a deployment of "
                f"its {BATCH_ENDPOINT.key}")
    elif deployment and not DEPLOYMENT_PATTERN.match(deployment):
        problem(f"{DEPLOYMENT_KEY}={json.dumps(deployment)} is not valid: expected {DEPLOYMENT_HINT}")
    return deployment or None


def _read_schedule(entry: dict, problem) -> LocalSchedule | None:
    schedule, zone = entry.get("schedule"), entry.get("time_zone", DEFAULT_ZONE)
    local = None
    if not isinstance(zone, str):
        problem(f"time_zone={json.dumps(zone)} is not valid: expected an IANA zone such as Europe/Berlin")
        zone = None
    else:
        try:
            load_zone(zone)
        except ZoneError as error:
            problem(f"time_zone={json.dumps(zone)} is not valid: {error}")
            zone = None
    if not isinstance(schedule, str):
        problem("schedule is missing: set a six-field NCRONTAB such as \"0 0 2 * * *\", read in time_zone"
                if "schedule" not in entry else f"schedule={json.dumps(schedule)} is a JSON {json_type(schedule)}: "
                "expected a string")
        return None
    try:
        parsed = validate(schedule)
    except ScheduleError as error:
        problem(f"schedule={json.dumps(schedule)} is not a valid schedule: {error}")
        return None
    if zone is not None:
        local = LocalSchedule(parsed, zone)
    return local
