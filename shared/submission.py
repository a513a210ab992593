"""What a job's submit shares, whichever service takes it (the SDK v1 pipelines service, or a v2 batch endpoint):
its outcome, its error, how messages and log lines name it, the tick's times for its parameters, the studio link
and the wait."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from shared import clock
from shared.clouds import Cloud
from shared.errors import AppError
from shared.jobs import Job
from shared.logfmt import kv
from shared.occurrences import Occurrences
from shared.tick import Tick

POLL_SECONDS = 30.0  # between two reads of a run's status while a job waits for it


class PipelineError(AppError):
    """The pipeline could not be resolved, submitted or did not succeed; the message says which and why."""


@dataclass(frozen=True)
class Outcome:
    """What a tick did for a job: `submitted`, `skipped_active` or `already_submitted`, and the run it concerns;
    `waiter` waits for the run to end when the job says to."""

    action: str
    run_id: str
    status: str | None = None
    portal_url: str | None = None
    waiter: Callable[[], str] | None = field(default=None, compare=False, repr=False)


def named(job: Job, setting: str, key: str) -> str:
    """How a message names a field of the job: its app setting, or the pipelines.json job and field."""
    return setting if job.name is None else f"job {job.name!r} {key}"


def tick_times(occurrences: Occurrences, tick: Tick) -> dict[str, datetime]:
    """{tick} and {window_start} for the parameters, in the schedule's zone (UTC, or the local schedule's)."""
    previous = occurrences.previous(tick.scheduled) or tick.scheduled
    return {"tick": occurrences.in_zone(tick.scheduled), "window_start": occurrences.in_zone(previous)}


def studio_url(cloud: Cloud, subscription: str, resource_group: str, workspace: str, run_id: str) -> str:
    """A run or job in the studio (no `tid`: the tenant id is an identity value, kept out of log lines)."""
    return (f"{cloud.studio}/runs/{run_id}?wsid=/subscriptions/{subscription}/resourcegroups/{resource_group}/"
            f"workspaces/{workspace}")


def job_fields(job: Job) -> dict[str, str]:
    """The first fields of a job's log lines: its pipelines.json name (when it has one) and its kind of target."""
    return {**({"job": job.name} if job.name else {}), "target": job.target.kind.key}


def waiter(job: Job, what: str, read_status: Callable[[], str | None], ended: Callable[[str | None], bool],
           succeeded: str, url: str, log: logging.Logger, fields: dict) -> Callable[[], str]:
    """The wait a job asks for, its wait_minutes counted from now (the submit): reads the status of `what` (a run or
    a job) every POLL_SECONDS until it ends, logs `completed` with `fields`, and raises unless it ended
    `succeeded`."""
    until = clock.monotonic() + job.wait_minutes * 60

    def wait() -> str:
        while True:
            status = read_status()
            if ended(status):
                break
            remaining = until - clock.monotonic()
            if remaining <= 0:
                setting = named(job, "RUN_PIPELINE_WAIT_MINUTES", "wait_minutes")
                raise PipelineError(f"{what} is still {status} after {setting}={job.wait_minutes}: it goes on in "
                                    "Azure; raise the setting or set it to 0 to return after submit")
            clock.sleep(min(POLL_SECONDS, remaining))
        if status != succeeded:
            raise PipelineError(f"{what} ended {status}: see {url}")
        log.info(kv("pipeline", action="completed", **fields, status=status))
        return status

    return wait
