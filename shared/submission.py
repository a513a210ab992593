"""One submit path for every kind of target: find the tick's run, skip while one is active, submit once, wait.

A job's tick does the same steps whichever service takes the run, so the same situation gives the same log line:
1. the run this app already started for the tick (a host retry, a duplicate firing, a lost answer): `already_submitted`;
2. with skip_if_active, a run of the target still active among its ACTIVE_SCAN_LIMIT most recent: `skipped_active`;
3. the submit, exactly once (a retry looks for the earlier attempt's run first): `submitted`, or `already_submitted`
   when another invocation's submit of the same tick got there first;
4. the wait the job asks for: `completed`, or a failure naming the run's end.
Every job's tick is claimed first (shared.claims): a second invocation of the same tick finds the claim
(`skipped reason=claimed_elsewhere`, or `already_submitted` once done), and one that takes over a crashed holder's
claim first looks for the run it may have started, tagged or not. A `Target` adapts one service: a published pipeline
or pipeline endpoint of the SDK v1 (shared.pipelines: runs in run history, tagged with the tick), or a batch endpoint
of Azure ML v2 (shared.batch: jobs named after the tick). Both
services name their statuses alike: a run has ended in `Completed`, `Failed` or `Canceled`, succeeded in `Completed`;
any other status, and one that cannot be read, counts as active (never start a parallel run on doubt): the SDK v1's
RunStatus (azureml/_restclient/constants.py) and azure-ai-ml's JobStatus end in the same three.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from shared import clock
from shared.armids import WorkspaceRef
from shared.claims import ELSEWHERE, FINISHED, TAKEN_OVER, Claim, Claims
from shared.clock import stamp
from shared.clouds import Cloud
from shared.errors import AppError
from shared.jobs import Job
from shared.logfmt import kv
from shared.occurrences import Occurrences
from shared.parameters import effective
from shared.tick import Tick

log = logging.getLogger(__name__)

POLL_SECONDS = 30.0  # between two reads of a run's status while a job waits for it
RUN_PIPELINE_PARTITION = "RunPipelineTimer"  # the claims of the pipeline ticks (shared.claims)
SUCCEEDED = "Completed"
ENDED = frozenset({SUCCEEDED, "Failed", "Canceled"})
# skip_if_active looks at this many of the target's most recent runs (v1: the pipeline's newest runs in the
# experiment; v2: the jobs of the job's previous occurrences, one read each).
ACTIVE_SCAN_LIMIT = 5


class PipelineError(AppError):
    """The pipeline could not be resolved, submitted or did not succeed; the message says which and why."""


def is_active(status: object) -> bool:
    return status not in ENDED


@dataclass(frozen=True)
class Run:
    """A run (v1) or job (v2) of a target: its id (a v2 job's is its name), its status when read, its studio link."""

    id: str
    status: str | None
    url: str


@dataclass(frozen=True)
class Submitted:
    """What a submit did: the run, whether an earlier attempt's run was found (`recovered`) or another invocation's
    (`concurrent`), and fields for its log line (a `reason` makes the line a warning)."""

    run: Run
    how: str = "submitted"  # submitted, recovered or concurrent
    fields: dict[str, object] = field(default_factory=dict)


class Target(Protocol):
    """One kind of target, resolved for one job: the four things the template asks of it."""

    fields: dict[str, object]  # what names the target in the log lines

    def tick_run(self, tick: Tick) -> Run | None: ...

    def active_run(self, tick: Tick) -> Run | None: ...

    def submit(self, tick: Tick, parameters: dict[str, str]) -> Submitted: ...

    def status(self, run_id: str) -> str | None: ...

    def run(self, run_id: str) -> Run | None:
        """A run of the target by its id (None: the service has none)."""

    def adopt(self, tick: Tick, since: datetime) -> Run | None:
        """The run a crashed invocation may have started for the tick since `since`, found and marked as the
        tick's (None: there is none)."""


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


def studio_url(cloud: Cloud, workspace: WorkspaceRef, run_id: str) -> str:
    """A run or job in the studio (no `tid`: the tenant id is an identity value, kept out of log lines)."""
    return (f"{cloud.studio}/runs/{run_id}?wsid=/subscriptions/{workspace.subscription}/resourcegroups/"
            f"{workspace.resource_group}/workspaces/{workspace.name}")


def submit_job(target: Target, job: Job, occurrences: Occurrences, tick: Tick, claims: Claims) -> Outcome:
    """One job's part of a tick, the same steps for every kind of target, under the tick's claim (shared.claims):
    exactly once across invocations too. The outcome's waiter waits when the job says to."""
    fields = {**({"job": job.name} if job.name else {}), "target": job.target.kind.key, **target.fields,
              "experiment": job.experiment, "tick": tick.id}
    claim = claims.claim(RUN_PIPELINE_PARTITION, f"{tick.id}|{job.name or '-'}")
    if claim.outcome == ELSEWHERE:  # another invocation is at it (a second instance, a deployment slot)
        log.info(kv("pipeline", action="skipped", **fields, reason="claimed_elsewhere",
                    claimed_at=stamp(claim.since)))
        return Outcome("skipped", "")
    if claim.outcome == FINISHED:
        run = target.run(claim.result) or Run(claim.result, None, "")
        return _found("already_submitted", run, fields)
    try:
        outcome = _submit_once(target, job, occurrences, tick, claim, fields)
    except BaseException:
        claims.release(claim)  # nothing was done: the host's retry starts clean
        raise
    if outcome.action == "skipped_active":
        claims.release(claim)  # the tick did nothing: a later firing of it may find the pipeline idle
    else:
        claims.finish(claim, outcome.run_id)
    return outcome


def _submit_once(target: Target, job: Job, occurrences: Occurrences, tick: Tick, claim: Claim,
                 fields: dict) -> Outcome:
    earlier = target.tick_run(tick)
    if earlier is not None:
        return _found("already_submitted", earlier, fields)
    if claim.outcome == TAKEN_OVER:  # its holder crashed: its run may be there, the service's tags dropped
        adopted = target.adopt(tick, claim.since)
        if adopted is not None:
            log.info(kv("pipeline", action="already_submitted", **fields, run_id=adopted.id, status=adopted.status,
                        recovered=True, portal_url=adopted.url))
            return Outcome("already_submitted", adopted.id, adopted.status, adopted.url)
    if job.skip_if_active:
        active = target.active_run(tick)
        if active is not None:
            return _found("skipped_active", active, fields)
    parameters = effective(job.parameters, tick_times(occurrences, tick))  # strings, as both services take them
    done = target.submit(tick, parameters)
    run = done.run
    action = "already_submitted" if done.how == "concurrent" else "submitted"
    log.log(logging.WARNING if "reason" in done.fields else logging.INFO, kv(
        "pipeline", action=action, **fields, run_id=run.id, status=run.status, recovered=done.how == "recovered",
        **done.fields, parameters=json.dumps(parameters, separators=(",", ":")), portal_url=run.url))
    if job.wait_minutes <= 0 or action != "submitted":
        return Outcome(action, run.id, run.status, run.url)
    return Outcome(action, run.id, run.status, run.url, _waiter(job, target, run, {**fields, "run_id": run.id}))


def _found(action: str, run: Run, fields: dict) -> Outcome:
    log.info(kv("pipeline", action=action, **fields, run_id=run.id, status=run.status, portal_url=run.url))
    return Outcome(action, run.id, run.status, run.url)


def _waiter(job: Job, target: Target, run: Run, fields: dict) -> Callable[[], str]:
    """The wait a job asks for, its wait_minutes counted from now (the submit): reads the run's status every
    POLL_SECONDS until it ends (a `waiting` line each time it changes), logs `completed`, and raises unless it ended
    `Completed`."""
    until = clock.monotonic() + job.wait_minutes * 60

    def wait() -> str:
        seen = run.status
        while True:
            status = target.status(run.id)
            if not is_active(status):
                break
            if status != seen:  # what the run is doing, as it changes (the runner shows it while it waits)
                log.info(kv("pipeline", action="waiting", **fields, status=status))
                seen = status
            remaining = until - clock.monotonic()
            if remaining <= 0:
                setting = named(job, "RUN_PIPELINE_WAIT_MINUTES", "wait_minutes")
                raise PipelineError(f"run {run.id} is still {status} after {setting}={job.wait_minutes}: it goes on "
                                    "in Azure; raise the setting or set it to 0 to return after submit")
            clock.sleep(min(POLL_SECONDS, remaining))
        if status != SUCCEEDED:
            raise PipelineError(f"run {run.id} ended {status}: see {run.url}")
        log.info(kv("pipeline", action="completed", **fields, status=status))
        return status

    return wait
