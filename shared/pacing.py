"""Pacing under ARM's request limits: a throttle pauses one subscription's reads or writes; it is not a fault.

ARM limits each principal per subscription (and region) with token buckets, one per kind of request: reads 250 at
once, then 25 per second; writes 200 at once, then 10 per second, a POST action such as `computes/{name}/stop`
being a write. Past that it answers 429 with `Retry-After` (seconds), and every answer says what is left in
`x-ms-ratelimit-remaining-subscription-reads` / `-writes` (Microsoft Learn, "Understand how Azure Resource Manager
throttles requests" and "Troubleshoot API throttling errors").

So each (subscription, kind) is a lane with its own state. Only a throttle pauses a lane: a 429, or a 503 that
names a `Retry-After`, until the time it names. A successful answer never pauses one, whatever it carries: an
accepted power action answers 202 with `Retry-After`, the interval at which to poll its operation, which says
nothing of the request limits. The remaining count meters the pace: while it is above what can be in flight the
lane is open, and below it requests go at the bucket's refill rate (the documented one, halved after each 429 and
recovering with each answer), so throttled answers stay few. Until a lane's first answer says how much is left, one
request goes alone (a probe), so a burst never meets a bucket that is already empty. A lane that is not open
raises `Throttled` instead of
waiting: the caller (shared.fairpool) gives the thread to another subscription. No pause is charged to any retry
allowance (shared.retry), which is for faults.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from shared import clock
from shared.armids import subscription_of

READ, WRITE = "read", "write"
REFILL_PER_SECOND = {READ: 25.0, WRITE: 10.0}
REMAINING_HEADER = {READ: "x-ms-ratelimit-remaining-subscription-reads",
                    WRITE: "x-ms-ratelimit-remaining-subscription-writes"}
# Below this many remaining requests a lane is metered: the most a tick has in flight at once (or a quarter of the
# largest count ARM has reported, for a smaller bucket).
LOW_WATER = 16
MIN_RATE = 1.0
PROBE_SECONDS = 0.05  # how soon to look again at a lane whose first answer has not come yet
MAX_PAUSE_SECONDS = 60.0  # a 429 without Retry-After: 1 s, doubling per 429 in a row, at most this

Lane = tuple[str, str]  # (subscription id, lower case; READ or WRITE)


class Throttled(Exception):  # noqa: N818 - not an error: the work waits for its lane
    """The lane is paused or metered until `until` (clock.monotonic): do other work meanwhile, then this again."""

    def __init__(self, lane: Lane, until: float):
        self.lane = lane
        self.until = until
        super().__init__(f"subscription {lane[0]} {lane[1]}s paused for {until - clock.monotonic():.1f} s")


def lane_of(method: str, url: str) -> Lane:
    """The subscription and kind of an ARM request (`GET`/`HEAD` read, anything else write)."""
    return subscription_of(url), READ if method.upper() in ("GET", "HEAD") else WRITE


@dataclass
class _State:
    rate: float
    paused_until: float = 0.0
    remaining: int | None = None
    largest: int = 0  # the largest remaining count seen: about the bucket's size
    in_flight: int = 0
    answered: bool = False  # an answer came back: the probe is over
    next_slot: float = 0.0
    throttles_in_a_row: int = 0

    @property
    def metered(self) -> bool:
        """Whether what ARM says is left, less what is in flight, is down to the low-water mark."""
        return self.remaining is not None and \
            self.remaining - self.in_flight <= min(LOW_WATER, self.largest // 4)

class Pacing:
    """Every lane of one tick, and how many answers were throttles."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lanes: dict[Lane, _State] = {}
        self.throttled = 0  # 429 answers this tick
        self.requests = 0

    def _state(self, lane: Lane) -> _State:
        return self._lanes.setdefault(lane, _State(REFILL_PER_SECOND[lane[1]]))

    def ready_at(self, lane: Lane, now: float) -> float:
        """When a request of this lane may start (`now`, when it is open)."""
        with self._lock:
            return self._ready_at(self._state(lane), now)

    @staticmethod
    def _ready_at(state: _State, now: float) -> float:
        if now < state.paused_until:
            return state.paused_until
        if not state.answered and state.in_flight:  # the probe is out: what is left is not known yet
            return now + PROBE_SECONDS
        if not state.metered:
            return now
        return max(now, state.next_slot)

    def paused_for(self, subscription: str) -> float:
        """Seconds until every lane of the subscription is open again (0: none is paused)."""
        now = clock.monotonic()
        with self._lock:
            return max([state.paused_until - now for (owner, _), state in self._lanes.items()
                        if owner == subscription.lower()] + [0.0])

    def acquire(self, lane: Lane) -> None:
        """Start a request of the lane now, or raise Throttled saying when it may start."""
        with self._lock:
            state, now = self._state(lane), clock.monotonic()
            ready = self._ready_at(state, now)
            if ready > now:
                raise Throttled(lane, ready)
            # The next metered request starts a refill interval after this one (after the last of a metered run).
            state.next_slot = (max(now, state.next_slot) if state.metered else now) + 1 / state.rate
            state.in_flight += 1
            self.requests += 1

    def release(self, lane: Lane, status: int | None, headers: Mapping[str, str], retry_after: float | None) -> None:
        """The request ended (`status` None: no answer): read what ARM says of the lane; raise Throttled on 429."""
        with self._lock:
            state, now = self._state(lane), clock.monotonic()
            state.in_flight -= 1
            if status is None:
                return
            state.answered = True
            remaining = _int(headers.get(REMAINING_HEADER[lane[1]]))
            if remaining is not None:
                state.remaining, state.largest = remaining, max(state.largest, remaining)
            if status == 429:
                self.throttled += 1
                state.throttles_in_a_row += 1
                pause = retry_after if retry_after is not None else \
                    min(MAX_PAUSE_SECONDS, 2.0 ** (state.throttles_in_a_row - 1))
                state.paused_until = max(state.paused_until, now + pause)
                state.rate = max(MIN_RATE, state.rate / 2)
                state.remaining = 0
                raise Throttled(lane, state.paused_until)
            if status == 503 and retry_after is not None:  # the service asks for time: the lane waits, the call retries
                state.paused_until = max(state.paused_until, now + retry_after)
                return
            state.throttles_in_a_row = 0
            state.rate = min(REFILL_PER_SECOND[lane[1]], state.rate * 1.1)


def _int(text: str | None) -> int | None:
    try:
        return max(0, int(str(text).strip())) if text is not None else None
    except ValueError:
        return None  # a header ARM did not send as a count
