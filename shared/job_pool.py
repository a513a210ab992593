"""The due jobs of one RunPipelineTimer tick: submitted concurrently under one bound, each isolated, none started
past the deadline, and what they share read once.

A team's file may have hundreds of jobs due at one tick. Submitted one after another at ~200 ms a request (4 each),
200 of them take minutes and the host kills the tick with the rest unsubmitted and unlogged. Here MAX_IN_FLIGHT jobs
go at once; the sign-in and workspace of each kind of target (SDK v1, or REST for v2) are made once, before any job;
a target that several jobs name is resolved once (for v1, one SDK client for the tick, so the workspace's data types
are read once); and a job not started before the invocation's deadline is `deferred`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

from shared import clock
from shared.claims import Claims
from shared.functions import RUN_PIPELINE
from shared.hostconfig import Deadline
from shared.jobs import Job
from shared.retry import CALL_FAILURES, Allowance, RetryPolicy, bound_sdk_backoff
from shared.settings import PipelineSettings
from shared.submission import Outcome, Target, submit_job
from shared.tick import Tick
from shared.transport import OutOfTime

MAX_IN_FLIGHT = 8  # jobs submitted at once: each is a few requests to one workspace's services

DEFERRED = "deferred"  # what `submit_all` gives for a job the deadline left unstarted


class _Once:
    """A value made by the first caller of each key, shared by the others (its error too): thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[object, list] = {}  # key -> [lock, done, value, error]

    def get(self, key: object, make: Callable[[], object]) -> object:
        with self._lock:
            entry = self._entries.setdefault(key, [threading.Lock(), False, None, None])
        with entry[0]:
            if not entry[1]:
                try:
                    entry[2] = make()
                except CALL_FAILURES as error:
                    entry[3] = error
                entry[1] = True
        if entry[3] is not None:
            raise entry[3]
        return entry[2]


class TickJobs:
    """What the due jobs of one tick share: its connections (by kind) and its resolved targets."""

    def __init__(self, settings: PipelineSettings, policy: RetryPolicy, stack: ExitStack, claims: Claims):
        self.settings, self.policy, self.stack, self.claims = settings, policy, stack, claims
        self._once = _Once()

    def _connection(self, sdk_v1: bool):
        """The workspace through the SDK v1 (imported here: only a v1 job needs it), or over REST for a v2 job."""
        def connect():
            allowance = self.policy.allowance()
            if not sdk_v1:
                from shared.batch import connect as rest

                return self.stack.enter_context(rest(self.settings.azure, allowance.deadline))
            from shared.pipelines import workflow_provider
            from shared.workspace import connect as sdk

            bound_sdk_backoff(self.settings.azure.retry_budget_seconds)  # the SDK's own waits fit the allowance
            connection = self.stack.enter_context(sdk(self.settings.azure, allowance))
            return connection, workflow_provider(connection)

        return self._once.get(("connection", sdk_v1), connect)

    def target(self, job: Job, allowance: Allowance) -> Target:
        """The job's target, resolved once per tick however many jobs name it: the template's adapter."""
        if not job.target.kind.sdk_v1:
            from shared.batch import BatchTarget, resolve

            ws = self._connection(False)
            endpoint = self._once.get(("batch", job.target.value, job.target.deployment),
                                      lambda: resolve(ws, job, allowance))
            return BatchTarget(ws, job, self.settings.occurrences(job), allowance, endpoint)
        from shared.pipelines import PublishedTarget, resolve

        connection, provider = self._connection(True)
        published = self._once.get((job.target.kind.key, job.target.value),
                                   lambda: resolve(connection, job, allowance, provider))
        return PublishedTarget(connection, job, allowance, self.settings.azure.endpoints, RUN_PIPELINE.name,
                               published)

    def submit(self, job: Job, tick: Tick) -> Outcome:
        allowance = self.policy.allowance()  # the job's own: one job's trouble never spends another's retries
        return submit_job(self.target(job, allowance), job, self.settings.occurrences(job), tick, self.claims)


def submit_all(jobs: list[Job], submit: Callable[[Job], object], deadline: Deadline) -> list[object]:
    """`submit(job)` for each job, MAX_IN_FLIGHT at once, in order of the list; a job not started before the deadline
    (or cut short by it) gives DEFERRED; any other error is the job's result, for the caller to judge."""
    def one(job: Job) -> object:
        if not deadline.allows(clock.monotonic()):
            return DEFERRED
        try:
            return submit(job)
        except OutOfTime:
            return DEFERRED
        except CALL_FAILURES as error:
            return error

    if len(jobs) <= 1:
        return [one(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=min(MAX_IN_FLIGHT, len(jobs)), thread_name_prefix="job") as pool:
        return list(pool.map(one, jobs))
