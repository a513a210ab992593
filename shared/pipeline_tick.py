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
from shared.claims import Claims, open_claims
from shared.errors import AppError
from shared.functions import RUN_PIPELINE
from shared.hostconfig import Deadline
from shared.job_pool import DEFERRED, TickJobs, submit_all
from shared.jobs import Job
from shared.logfmt import kv, shorten
from shared.retry import CALL_FAILURES, RetryPolicy
from shared.settings import QUEUE, PipelineSettings, load_pipeline_settings
from shared.tick import Tick, tick_of
from shared.timers import log_tick, minutes_late, open_tick, start_retries

log = logging.getLogger(__name__)

# The `reason` of a job that failed, by what failed (the app's own errors name what to check).
_FAILED_REASON = {"SignInError": "sign_in", "WorkspaceError": "workspace", "PipelineError": "pipeline",
                  "RunHistoryError": "run_history"}


class JobsFailed(AppError):
    """Some of a tick's pipelines.json jobs failed or were left by the deadline; the others ran. The message names
    each one."""


@dataclass(frozen=True)
class JobOutcome:
    job: Job
    action: str  # submitted, already_submitted, skipped_active, skipped (claimed elsewhere), disabled, deferred, failed
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
    if settings.fanout == QUEUE and settings.jobs_file is not None and due:  # the workers submit (shared.fanout)
        from shared.fanout import enqueue_jobs

        enqueue_jobs(tick, due, settings)
        return []
    return run_jobs(settings, due, tick, deadline)


def run_jobs(settings: PipelineSettings, due: list[Job], tick: Tick, deadline: Deadline) -> list[JobOutcome]:
    """The due jobs of a tick (all of them, or a worker's one), each once; one summary line; one error naming every
    job that failed or that the deadline left."""
    policy = start_retries(settings.azure, deadline)
    outcomes = _run_jobs(settings, due, tick, policy, open_claims(settings.storage, settings.azure))
    counts = Counter(outcome.action for outcome in outcomes)
    log.info(kv("pipeline_summary", tick=tick.id, due=len(due), **{action: counts[action] for action in (
        "submitted", "already_submitted", "skipped_active", "skipped", "disabled", "deferred", "failed")}))
    _raise_if_incomplete(outcomes, len(due), tick, settings, deadline)
    return outcomes


def _raise_if_incomplete(outcomes: list[JobOutcome], due: int, tick: Tick, settings: PipelineSettings,
                         deadline: Deadline) -> None:
    """One error naming every failed job, and every job the deadline left (with how to run it by hand)."""
    failed = [outcome for outcome in outcomes if outcome.action == "failed"]
    deferred = [outcome.job.name or "" for outcome in outcomes if outcome.action == "deferred"]
    parts = []
    if failed:
        parts.append(f"{len(failed)} of {due} due {settings.jobs_file.name if settings.jobs_file else ''} job(s) "
                     "failed: " + "; ".join(f"{outcome.job.name}: {outcome.error}" for outcome in failed))
    if deferred:
        parts.append(f"the tick reached its deadline ({deadline.describe()}) before {len(deferred)} job(s) started: "
                     f"{', '.join(deferred)}; run one by hand with python -m localrun RunPipelineTimer --job NAME "
                     f"--tick {tick.id}")
    if parts:
        raise JobsFailed("; ".join(parts))


def _run_jobs(settings: PipelineSettings, due: list[Job], tick: Tick, policy: RetryPolicy,
              claims: Claims) -> list[JobOutcome]:
    """Each due job once (concurrently, shared.job_pool), then the waits; in single-pipeline mode the job's error is
    raised as it is."""
    isolate = settings.jobs_file is not None
    outcomes: dict[str, JobOutcome] = {}
    active = []
    for job in due:
        paused = "run_pipeline_disabled" if job.name in settings.disabled else \
            "disabled_in_file" if not job.enabled else None
        if paused:
            log.info(kv("pipeline", action="disabled", job=job.name, reason=paused, tick=tick.id))
            outcomes[job.name or ""] = JobOutcome(job, "disabled")
        else:
            active.append(job)
    waiters = []
    with ExitStack() as stack:
        shared = TickJobs(settings, policy, stack, claims)
        for job, result in zip(active, submit_all(active, lambda job: shared.submit(job, tick), policy.deadline),
                               strict=True):
            if result == DEFERRED:
                log.warning(kv("pipeline", action="deferred", **({"job": job.name} if job.name else {}),
                               reason="deadline", tick=tick.id))
                outcomes[job.name or ""] = JobOutcome(job, "deferred")
            elif isinstance(result, BaseException):
                if not isolate:
                    raise result
                outcomes[job.name or ""] = _failed(job, tick, result)
            else:
                outcomes[job.name or ""] = JobOutcome(job, result.action, result.run_id, result.status,
                                                      result.portal_url)
                if result.waiter:
                    waiters.append((job, result))
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


def _failed(job: Job, tick: Tick, error: BaseException) -> JobOutcome:
    reason = _FAILED_REASON.get(type(error).__name__, "service_error")
    text = shorten(f"{type(error).__name__}: {error}", 300)
    log.error(kv("pipeline", action="failed", job=job.name, reason=reason, tick=tick.id, error=text))
    return JobOutcome(job, "failed", error=text)
