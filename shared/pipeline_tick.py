"""RunPipelineTimer, each tick: the jobs due at it (pipelines.json's, or the RUN_PIPELINE_* settings' one), each
submitted exactly once, isolated from the others; then the waits a job asks for; one summary line.

Single-pipeline mode behaves as it always did: its local schedule (if any) decides whether the tick acts, and its
one job's error is the invocation's. With pipelines.json every job whose schedule has an occurrence at the tick runs;
one that fails never keeps the others from running, and afterwards the invocation fails naming each failed job.
The SDK v1 is imported only when a job's target needs it (a published pipeline or pipeline endpoint); a batch
endpoint job (Azure ML v2, shared.batch) goes over REST alone, so an app of batch endpoints never loads `azureml`.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass

import azure.functions as func

from shared import clock
from shared.errors import AppError
from shared.functions import RUN_PIPELINE
from shared.hostconfig import Deadline
from shared.jobs import Job
from shared.logfmt import kv, shorten
from shared.retry import CALL_FAILURES, RetryPolicy, bound_sdk_backoff
from shared.settings import PipelineSettings, load_pipeline_settings
from shared.submission import submit_job
from shared.tick import Tick, tick_of
from shared.timers import log_tick, minutes_late, open_tick, start_retries

log = logging.getLogger(__name__)

# The `reason` of a job that failed, by what failed (the app's own errors name what to check).
_FAILED_REASON = {"SignInError": "sign_in", "WorkspaceError": "workspace", "PipelineError": "pipeline",
                  "RunHistoryError": "run_history"}


class JobsFailed(AppError):
    """Some of a tick's pipelines.json jobs failed; the others ran. The message names each failed job."""


@dataclass(frozen=True)
class JobOutcome:
    job: Job
    action: str  # submitted, already_submitted, skipped_active, disabled or failed
    run_id: str = ""
    status: str | None = None
    portal_url: str | None = None
    error: str = ""


def run_pipeline_tick(timer: func.TimerRequest, env: Mapping[str, str] | None = None,
                      only: str | None = None) -> list[JobOutcome] | None:
    """RunPipelineTimer: submit the jobs due at this tick once each (None: not a local occurrence). `only` restricts
    the tick to one pipelines.json job (the runner's --job)."""
    deadline = Deadline.of_invocation(clock.monotonic())
    settings = load_pipeline_settings(os.environ if env is None else env)
    if settings.jobs_file is None:
        tick = open_tick(RUN_PIPELINE.name, timer, settings.schedule, settings.local, settings.max_late)
        if tick is None:
            return None
        due = list(settings.jobs)
    else:
        tick = tick_of(timer, settings.schedule, clock.now())
        due = [job for job in settings.jobs if job.due(tick) and only in (None, job.name)]
        late = minutes_late(tick, settings.max_late) if due else None
        if late is not None:
            log_tick(RUN_PIPELINE.name, tick, None, False, "too_late", late_minutes=late)
            return None
        log_tick(RUN_PIPELINE.name, tick, None, bool(due), "no_job_due")
    policy = start_retries(settings.azure, deadline)
    outcomes = _run_jobs(settings, due, tick, policy)
    counts = Counter(outcome.action for outcome in outcomes)
    log.info(kv("pipeline_summary", tick=tick.id, due=len(due), **{action: counts[action] for action in (
        "submitted", "already_submitted", "skipped_active", "disabled", "failed")}))
    failed = [outcome for outcome in outcomes if outcome.action == "failed"]
    if failed:
        raise JobsFailed(f"{len(failed)} of {len(due)} due {settings.jobs_file.name} job(s) failed: " + "; ".join(
            f"{outcome.job.name}: {outcome.error}" for outcome in failed))
    return outcomes


def _run_jobs(settings: PipelineSettings, due: list[Job], tick: Tick, policy: RetryPolicy) -> list[JobOutcome]:
    """Each due job once, then the waits; in single-pipeline mode the job's error is raised as it is."""
    isolate = settings.jobs_file is not None
    outcomes: dict[str, JobOutcome] = {}
    waiters = []
    with ExitStack() as stack:
        connections: dict[bool, object] = {}  # by whether the job goes through the SDK v1: made when first needed
        for job in due:
            paused = "run_pipeline_disabled" if job.name in settings.disabled else \
                "disabled_in_file" if not job.enabled else None
            if paused:
                log.info(kv("pipeline", action="disabled", job=job.name, reason=paused, tick=tick.id))
                outcomes[job.name or ""] = JobOutcome(job, "disabled")
                continue
            try:
                v1 = job.target.kind.sdk_v1
                allowance = policy.allowance()  # the job's own: one job's trouble never spends another's retries
                if v1 not in connections:
                    connections[v1] = stack.enter_context(_connect(settings, allowance, v1))
                outcome = submit_job(_target(connections[v1], settings, job, allowance), job,
                                     settings.occurrences(job), tick)
            except CALL_FAILURES as error:
                if not isolate:
                    raise
                outcomes[job.name or ""] = _failed(job, tick, error)
                continue
            outcomes[job.name or ""] = JobOutcome(job, outcome.action, outcome.run_id, outcome.status,
                                                  outcome.portal_url)
            if outcome.waiter:
                waiters.append((job, outcome))
        for job, outcome in waiters:  # after every submit: the waits overlap, none delays another job's submit
            try:
                status = outcome.waiter()
            except CALL_FAILURES as error:
                if not isolate:
                    raise
                outcomes[job.name or ""] = _failed(job, tick, error)
                continue
            outcomes[job.name or ""] = JobOutcome(job, "submitted", outcome.run_id, status, outcome.portal_url)
    return list(outcomes.values())


def _connect(settings: PipelineSettings, allowance, sdk_v1: bool):
    """The workspace through the SDK v1 (imported here: only a v1 job needs it), or over REST for a v2 job."""
    if not sdk_v1:
        from shared.batch import connect as rest

        return rest(settings.azure, allowance.deadline)
    from shared.workspace import connect

    bound_sdk_backoff(settings.azure.retry_budget_seconds)  # the SDK's own retry waits fit in the allowance too
    return connect(settings.azure, allowance)


def _target(connection, settings: PipelineSettings, job: Job, allowance):
    """The job's target, resolved: the template's adapter for its service (shared.submission)."""
    if not job.target.kind.sdk_v1:
        from shared.batch import BatchTarget

        return BatchTarget(connection, job, settings.occurrences(job), allowance)
    from shared.pipelines import PublishedTarget

    return PublishedTarget(connection, job, allowance, settings.azure.endpoints, RUN_PIPELINE.name)


def _failed(job: Job, tick: Tick, error: BaseException) -> JobOutcome:
    reason = _FAILED_REASON.get(type(error).__name__, "service_error")
    text = shorten(f"{type(error).__name__}: {error}", 300)
    log.error(kv("pipeline", action="failed", job=job.name, reason=reason, tick=tick.id, error=text))
    return JobOutcome(job, "failed", error=text)
