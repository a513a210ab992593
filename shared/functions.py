"""The app's functions, one row each: a timer's folder, the app settings it reads, the power action it takes; a queue
worker's folder and queue.

Every place that needs "which setting is this function's schedule" (settings, the tick, `python -m shared.schedule`,
the runner, the week view) reads it here, so a fourth function is one more row. The names are spelled out, not
built from a prefix, so every setting the code reads is visible in it.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.selection import START, STOP, PowerAction


@dataclass(frozen=True)
class PowerSettings:
    """What a compute function reads besides its schedule, and which way it switches instances."""

    action: PowerAction
    include: str
    exclude: str
    tag: str  # stop: the exempting tag; start: the opt-in tag
    dry_run: str


@dataclass(frozen=True)
class Function:
    """One timer function: its folder name, the prefix of its settings, and the settings of its schedule (host,
    zone, local) and of how late a tick may still act (with its default: None, no limit)."""

    name: str
    prefix: str  # every setting of its own starts with it
    schedule: str  # the NCRONTAB the host fires on (function.json's "%SETTING%")
    zone: str
    local: str
    max_late: str
    default_max_late: int | None
    power: PowerSettings | None = None  # the compute functions only


RUN_PIPELINE = Function("RunPipelineTimer", "RUN_PIPELINE_", "RUN_PIPELINE_SCHEDULE", "RUN_PIPELINE_TIME_ZONE",
                        "RUN_PIPELINE_LOCAL_SCHEDULE", "RUN_PIPELINE_MAX_LATE_MINUTES", None)
STOP_COMPUTE = Function("StopComputeTimer", "STOP_COMPUTE_", "STOP_COMPUTE_SCHEDULE", "STOP_COMPUTE_TIME_ZONE",
                        "STOP_COMPUTE_LOCAL_SCHEDULE", "STOP_COMPUTE_MAX_LATE_MINUTES", 60,
                        PowerSettings(STOP, "STOP_COMPUTE_INCLUDE", "STOP_COMPUTE_EXCLUDE", "STOP_COMPUTE_EXEMPT_TAG",
                                      "STOP_COMPUTE_DRY_RUN"))
START_COMPUTE = Function("StartComputeTimer", "START_COMPUTE_", "START_COMPUTE_SCHEDULE", "START_COMPUTE_TIME_ZONE",
                         "START_COMPUTE_LOCAL_SCHEDULE", "START_COMPUTE_MAX_LATE_MINUTES", 60,
                         PowerSettings(START, "START_COMPUTE_INCLUDE", "START_COMPUTE_EXCLUDE", "START_COMPUTE_TAG",
                                       "START_COMPUTE_DRY_RUN"))
FUNCTIONS = (RUN_PIPELINE, STOP_COMPUTE, START_COMPUTE)


@dataclass(frozen=True)
class Worker:
    """A queue-triggered function (AML_FANOUT=queue): its folder, the queue it reads (function.json's queueName, on
    the connection AzureWebJobsStorage), and the timers whose work it does."""

    name: str
    queue: str
    timers: tuple[Function, ...]


COMPUTE_WORKER = Worker("ComputeWorker", "aml-compute-work", (STOP_COMPUTE, START_COMPUTE))
PIPELINE_WORKER = Worker("PipelineWorker", "aml-pipeline-work", (RUN_PIPELINE,))
WORKERS = (COMPUTE_WORKER, PIPELINE_WORKER)
# The prefixes of every app setting the app reads: the shared ones, and each function's.
SHARED_PREFIXES = ("AZURE_", "AML_")
SETTING_PREFIXES = (*SHARED_PREFIXES, *(function.prefix for function in FUNCTIONS))


def by_name(name: str) -> Function:
    """The row of a function folder (KeyError for a folder that is not one of the app's functions)."""
    return {function.name: function for function in FUNCTIONS}[name]


def by_verb(verb: str) -> Function:
    """The compute function whose power action is `verb` (stop or start)."""
    return next(function for function in FUNCTIONS if function.power and function.power.action.verb == verb)
