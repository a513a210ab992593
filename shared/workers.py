"""The queue workers of AML_FANOUT=queue (the messages and their enqueueing are shared.fanout's).

`ComputeWorker` does one subscription's share of a compute tick exactly as the inline tick does (discovery, lists,
selection, paced actions, prices), and before its deadline enqueues a continuation for what is left (visible once the
subscription's paused lanes open) and succeeds. Its actions are idempotent, and a done mark in the claims table says
a share is done: a redelivered message acts on nothing. `PipelineWorker` submits one pipelines.json job of a tick,
under the job's tick claim (exactly once). Both apply the timer's rule for a tick fired too late: a message the queue
held past `*_MAX_LATE_MINUTES` does nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import azure.functions as func

from shared import clock
from shared.claims import open_claims
from shared.errors import AppError
from shared.fanout import COMPUTE_QUEUE, MAX_CONTINUATIONS, MAX_DELAY_SECONDS, BadMessage, Work, decode, queue_of
from shared.functions import by_name
from shared.hostconfig import Deadline
from shared.logfmt import kv
from shared.scopes import parse_scopes
from shared.tick import Tick

log = logging.getLogger(__name__)


def _tick(work: Work) -> Tick:
    return Tick(clock.parse_instant(work.tick), work.past_due, "queue")


def compute_worker(message: func.QueueMessage, env: Mapping[str, str] | None = None) -> None:
    """ComputeWorker: a subscription's share of a compute tick, exactly as the inline tick does it; a continuation
    for what its deadline leaves."""
    from shared.compute import DeadlineReached
    from shared.compute_tick import act
    from shared.pacing import Pacing
    from shared.settings import load_compute_settings

    deadline = Deadline.of_invocation(clock.monotonic())
    work = decode(message.get_body().decode("utf-8"))
    function = by_name(work.function)
    settings = load_compute_settings(os.environ if env is None else env, function.power.action.verb)
    fields = {"function": function.name, "tick": work.tick, "subscription": work.subscription,
              "continuation": work.continuation, "dequeue_count": message.dequeue_count}
    late = work.minutes_late(settings.max_late)
    if late is not None:  # the timer's rule, counting the time the queue held it
        log.warning(kv("compute_worker", **fields, action="skipped", reason="too_late", late_minutes=late))
        return
    claims = open_claims(settings.storage, settings.azure)
    row = f"{work.tick}|{work.subscription}"
    if claims.done(function.name, row) is not None:
        log.info(kv("compute_worker", **fields, action="skipped", reason="already_done"))
        return
    scopes, bad = parse_scopes(",".join(work.scopes))
    if bad or not scopes:
        raise BadMessage(f"the message's scopes are not ARM scopes: {len(bad)} of {len(work.scopes)}")
    pacing = Pacing()
    try:
        act(function, settings, scopes, True, deadline, {"tick": work.tick, "subscription": work.subscription,
                                                         "continuation": work.continuation}, pacing)
    except DeadlineReached:
        _continue(work, settings, pacing, fields)
        return
    claims.mark_done(function.name, row, f"continuations={work.continuation}")


def _continue(work: Work, settings, pacing, fields: dict) -> None:
    """What the deadline left, for another worker invocation: visible once the subscription's lanes open."""
    if work.continuation >= MAX_CONTINUATIONS:
        raise AppError(f"{work.function} {work.tick} subscription {work.subscription}: still not done after "
                       f"{MAX_CONTINUATIONS} continuations")
    delay = min(MAX_DELAY_SECONDS, int(pacing.paused_for(work.subscription) + 0.999))
    next_work = Work(work.function, work.tick, work.past_due, work.subscription, work.scopes,
                     continuation=work.continuation + 1, enqueued=work.enqueued)
    queue_of(settings, COMPUTE_QUEUE).send_message(next_work.encode(), visibility_timeout=delay)
    log.info(kv("compute_worker", **fields, action="continued", reason="deadline", visible_in_s=delay))


def pipeline_worker(message: func.QueueMessage, env: Mapping[str, str] | None = None) -> None:
    """PipelineWorker: one pipelines.json job of a tick, submitted under its tick claim (exactly once)."""
    from shared.pipeline_tick import run_jobs
    from shared.settings import load_pipeline_settings

    deadline = Deadline.of_invocation(clock.monotonic())
    work = decode(message.get_body().decode("utf-8"))
    settings = load_pipeline_settings(os.environ if env is None else env)
    jobs = [job for job in settings.jobs if job.name == work.job]
    if settings.jobs_file is None or not jobs:
        raise BadMessage(f"the message names job {work.job!r}, which the app's pipelines.json does not have")
    late = work.minutes_late(settings.max_late)
    if late is not None:
        log.warning(kv("pipeline", action="skipped", job=work.job, reason="too_late", tick=work.tick,
                       late_minutes=late))
        return
    run_jobs(settings, jobs, _tick(work), deadline)
