"""A bounded pool of threads that is fair across subscriptions, paced by their lanes, and ends at the deadline.

Work waits in one queue per lane (a subscription's reads or writes, shared.pacing). A free thread takes the next
task round-robin over the subscriptions whose lane is open now, so a throttled subscription holds no thread and never
delays the listing or the actions of another; a task that meets a paused lane (`Throttled`) goes back to the front
of its queue. When nothing is in flight and nothing can start yet, one thread sleeps until the first lane opens
(clock.sleep). Past the deadline no task starts; those in flight finish (their requests' timeouts end at the
deadline: a task the deadline cut short, `OutOfTime`, goes back to its queue); the rest come back as deferred.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from typing import Protocol

from shared import clock
from shared.hostconfig import Deadline
from shared.pacing import READ, WRITE, Lane, Pacing, Throttled
from shared.transport import OutOfTime


class Task(Protocol):
    lane: Lane

    def run(self) -> Iterable[Task]:
        """Do one step (at most one request of `lane` first); return the tasks it leads to."""


class FairPool:
    def __init__(self, pacing: Pacing, workers: int, deadline: Deadline):
        self.pacing = pacing
        self.workers = workers
        self.deadline = deadline
        self._cond = threading.Condition()
        self._queues: dict[str, dict[str, deque[Task]]] = {}  # subscription -> kind -> tasks, in arrival order
        self._turn: list[str] = []  # subscriptions in round-robin order
        self._in_flight = 0
        self._sleeping = False
        self._done = False
        self._expired = False  # a task met the deadline: the tick is at its end, whatever the clock says
        self._error: BaseException | None = None

    def run(self, tasks: Iterable[Task]) -> list[Task]:
        """Run `tasks` and all they lead to; returns those the deadline left unstarted, in queue order."""
        for task in tasks:
            self._put(task)
        threads = [threading.Thread(target=self._work, name=f"tick-{n}", daemon=True) for n in range(self.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if self._error is not None:
            raise self._error
        return [task for subscription in self._turn for kind in (READ, WRITE)
                for task in self._queues[subscription][kind]]

    def _put(self, task: Task, front: bool = False) -> None:
        subscription, kind = task.lane
        if subscription not in self._queues:
            self._queues[subscription] = {READ: deque(), WRITE: deque()}
            self._turn.append(subscription)
        queue = self._queues[subscription][kind]
        queue.appendleft(task) if front else queue.append(task)

    def _work(self) -> None:
        while (task := self._next()) is not None:
            try:
                follow = list(task.run())
            except Throttled:
                follow, again = [], task
            except OutOfTime:  # the deadline came in the middle of it: nothing more starts
                follow, again = [], task
                with self._cond:
                    self._expired = True
            except BaseException as error:  # noqa: BLE001 - an error the task does not isolate: run() re-raises it
                with self._cond:
                    self._error, self._done = self._error or error, True
                    self._in_flight -= 1
                    self._cond.notify_all()
                return
            else:
                again = None
            with self._cond:
                self._in_flight -= 1
                if again is not None:
                    self._put(again, front=True)
                for item in follow:
                    self._put(item)
                self._cond.notify_all()

    def _next(self) -> Task | None:
        """The next task to run, waiting while none can start; None when the pool is done."""
        with self._cond:
            while not self._done:
                now = clock.monotonic()
                task, ready = (None, None) if self._expired or not self.deadline.allows(now) else self._pick(now)
                if task is not None:
                    self._in_flight += 1
                    return task
                if ready is None or not self.deadline.allows(ready):  # nothing (more) can start before the end
                    if self._in_flight == 0:
                        self._done = True
                        self._cond.notify_all()
                    else:
                        self._cond.wait()
                elif self._in_flight == 0 and not self._sleeping:
                    self._sleeping = True
                    self._cond.release()
                    try:
                        clock.sleep(ready - now)
                    finally:
                        self._cond.acquire()
                        self._sleeping = False
                        self._cond.notify_all()
                else:
                    self._cond.wait(timeout=ready - now)
            return None

    def _pick(self, now: float) -> tuple[Task | None, float | None]:
        """Round-robin over the subscriptions: the first queued task whose lane is open, else when one opens."""
        earliest = None
        for _ in range(len(self._turn)):
            subscription = self._turn.pop(0)
            self._turn.append(subscription)
            for kind in (READ, WRITE):
                queue = self._queues[subscription][kind]
                if not queue:
                    continue
                ready = self.pacing.ready_at(queue[0].lane, now)
                if ready <= now:
                    return queue.popleft(), now
                earliest = ready if earliest is None else min(earliest, ready)
        return None, earliest
