"""AML_FANOUT=queue: the timers hand their work to queue-triggered workers on the app's own storage, so a fleet is no
longer as big as one invocation, and a crashed invocation loses nothing.

The host's own engine for work past one invocation is a Storage queue with a queue-triggered function: at-least-once
delivery, retries, a poison queue after `maxDequeueCount` (host.json), scale-out across instances. So:
- StopComputeTimer / StartComputeTimer enqueue one message per subscription of the tick (ARM's throttling unit) on
  `aml-compute-work`, each enqueue claimed per (function, tick, subscription), so a re-fired tick enqueues nothing
  twice; `ComputeWorker` does that subscription's share (shared.workers).
- RunPipelineTimer with pipelines.json enqueues one message per due job on `aml-pipeline-work`; `PipelineWorker`
  submits that job, under the job's tick claim (exactly once).
This module holds the messages and the enqueueing; shared.workers the workers.
Messages are JSON with a version, the function, the tick, and the subscription or the job; the host reads them base64
(its default encoding), and they stay far below the 64 KB a queue message may hold.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from shared import clock
from shared.claims import FINISHED, MINE, TAKEN_OVER, Claims, open_claims
from shared.errors import AppError
from shared.functions import COMPUTE_WORKER, PIPELINE_WORKER, RUN_PIPELINE, Function, by_name
from shared.logfmt import kv
from shared.scopes import Scope
from shared.tick import Tick

log = logging.getLogger(__name__)

COMPUTE_QUEUE, PIPELINE_QUEUE = COMPUTE_WORKER.queue, PIPELINE_WORKER.queue
VERSION = 1
MAX_CONTINUATIONS = 100  # a subscription's share is done in far fewer (each continuation is an invocation's worth)
MAX_DELAY_SECONDS = 600  # a continuation is visible at most this long after it is enqueued


class BadMessage(AppError):
    """A queue message this app cannot read: the host retries it, then moves it to the poison queue."""


@dataclass(frozen=True)
class Work:
    """One message: a subscription's share of a compute tick, or one pipelines.json job of a pipeline tick."""

    function: str
    tick: str
    past_due: bool = False
    subscription: str = ""
    scopes: tuple[str, ...] = ()
    job: str = ""
    continuation: int = 0
    enqueued: str = ""  # when the timer enqueued it (a continuation: the first message's)
    v: int = field(default=VERSION)

    def minutes_late(self, max_late) -> int | None:
        """How late acting on it now is, when later than `max_late` (None: in time): what the timer was late by (a
        past-due tick), plus how long the queue has held it."""
        if max_late is None:
            return None
        now, enqueued = clock.now(), clock.parse_instant(self.enqueued) if self.enqueued else clock.now()
        late = (now - enqueued) + (max(enqueued - clock.parse_instant(self.tick), timedelta(0)) if self.past_due
                                   else timedelta(0))
        return int(late.total_seconds() // 60) if late > max_late else None

    def encode(self) -> str:
        return json.dumps({key: list(value) if isinstance(value, tuple) else value
                           for key, value in asdict(self).items() if value not in ("", (), 0) or key == "v"},
                          separators=(",", ":"))


def decode(text: str) -> Work:
    try:
        body = json.loads(text)
    except ValueError:
        raise BadMessage(f"the message is not JSON: {text[:80]!r}") from None
    if not isinstance(body, dict) or body.get("v") != VERSION:
        raise BadMessage(f"the message is not a version {VERSION} work item of this app")
    try:
        work = Work(**{**body, "scopes": tuple(body.get("scopes", ()))})
        by_name(work.function)
        clock.parse_instant(work.tick)
    except (TypeError, KeyError, ValueError) as error:
        raise BadMessage(f"the message does not describe a tick's work ({type(error).__name__}: {error})") from None
    return work


def queue_of(settings, name: str):
    from azure.core.exceptions import ResourceExistsError

    from shared.storage import queue_client

    queue = queue_client(settings.storage, settings.azure, name)
    try:
        queue.create_queue()
    except ResourceExistsError:
        pass
    return queue


def _enqueue(claims: Claims, queue, work: Work, row: str, fields: dict) -> bool:
    """Send the message unless this tick already did (a claim per message); True when sent."""
    claim = claims.claim(work.function, f"{row}|enqueue")
    if claim.outcome not in (MINE, TAKEN_OVER):
        log.info(kv("fanout", **fields, action="skipped", reason="already_enqueued" if claim.outcome == FINISHED
                    else "claimed_elsewhere"))
        return False
    try:
        queue.send_message(work.encode())
    except BaseException:
        claims.release(claim)
        raise
    claims.finish(claim, "enqueued")
    log.info(kv("fanout", **fields, action="enqueued"))
    return True


def subscriptions_of(settings) -> dict[str, tuple[str, ...]]:
    """The tick's scopes by subscription (one message each): AML_COMPUTE_SCOPES, or the AML_* workspace."""
    azure = settings.azure
    scopes = settings.scopes or (Scope(azure.subscription_id, azure.resource_group, azure.workspace_name),)
    found: dict[str, list[str]] = {}
    for scope in scopes:
        found.setdefault(scope.subscription.lower(), []).append(scope.path)
    return {subscription: tuple(paths) for subscription, paths in found.items()}


def enqueue_compute(function: Function, tick: Tick, settings) -> int:
    """The compute timer's part with AML_FANOUT=queue: one message per subscription of the tick; nothing of ARM."""
    claims = open_claims(settings.storage, settings.azure)
    queue = queue_of(settings, COMPUTE_QUEUE)
    sent = 0
    for subscription, scopes in subscriptions_of(settings).items():
        work = Work(function.name, tick.id, tick.past_due, subscription, scopes, enqueued=clock.stamp(clock.now()))
        sent += _enqueue(claims, queue, work, f"{tick.id}|{subscription}",
                         {"function": function.name, "tick": tick.id, "subscription": subscription})
    log.info(kv("fanout_summary", function=function.name, tick=tick.id, queue=COMPUTE_QUEUE, enqueued=sent))
    return sent


def enqueue_jobs(tick: Tick, due: list, settings) -> int:
    """RunPipelineTimer's part with AML_FANOUT=queue and pipelines.json: one message per due job."""
    claims = open_claims(settings.storage, settings.azure)
    queue = queue_of(settings, PIPELINE_QUEUE)
    sent = sum(_enqueue(claims, queue, Work(RUN_PIPELINE.name, tick.id, tick.past_due, job=job.name,
                                            enqueued=clock.stamp(clock.now())),
                        f"{tick.id}|{job.name}", {"function": RUN_PIPELINE.name, "tick": tick.id, "job": job.name})
               for job in due)
    log.info(kv("fanout_summary", function=RUN_PIPELINE.name, tick=tick.id, queue=PIPELINE_QUEUE, enqueued=sent))
    return sent
