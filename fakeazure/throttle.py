"""ARM's request limits as the fake applies them: a token bucket per subscription and kind of request.

Microsoft Learn, "Understand how Azure Resource Manager throttles requests": each principal, per subscription (and
region), has a bucket for reads (250, refilled at 25 per second), one for writes (PUT, POST and PATCH: 200, 10 per
second) and one for deletes (200, 10 per second). A request that finds its bucket empty is answered 429 with
`Retry-After` in whole seconds, and every answer carries what is left in
`x-ms-ratelimit-remaining-subscription-reads` / `-writes` / `-deletes`. The fake has one principal, so its buckets are
per subscription; smaller buckets make fast tests, the documented ones the benchmark.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

DOCUMENTED = {"reads": (250, 25.0), "writes": (200, 10.0), "deletes": (200, 10.0)}


def kind_of(method: str) -> str:
    return {"GET": "reads", "HEAD": "reads", "DELETE": "deletes"}.get(method.upper(), "writes")


def subscription_of(url: str) -> str | None:
    parts = urlparse(url).path.strip("/").split("/")
    return parts[1].lower() if len(parts) > 1 and parts[0].lower() == "subscriptions" else None


@dataclass
class Bucket:
    size: int
    refill: float  # tokens per second
    tokens: float
    updated: float

    def take(self, now: float) -> tuple[bool, int, int]:
        """(admitted, tokens left, whole seconds until one is back)."""
        self.tokens = min(self.size, self.tokens + (now - self.updated) * self.refill)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True, int(self.tokens), 0
        return False, 0, max(1, math.ceil((1 - self.tokens) / self.refill))


class ArmLimits:
    """The buckets of every subscription the fake has answered for."""

    def __init__(self, clock: Callable[[], float], reads: tuple[int, float] = DOCUMENTED["reads"],
                 writes: tuple[int, float] = DOCUMENTED["writes"], deletes: tuple[int, float] = DOCUMENTED["deletes"]):
        self.clock = clock
        self.limits = {"reads": reads, "writes": writes, "deletes": deletes}
        self.buckets: dict[tuple[str, str], Bucket] = {}
        self.throttled: dict[str, int] = {}  # subscription -> 429 answers

    def admit(self, method: str, url: str) -> tuple[bool, dict[str, str]]:
        """Whether ARM takes the request, and the headers its answer carries."""
        subscription = subscription_of(url)
        if subscription is None:
            return True, {}
        kind = kind_of(method)
        now = self.clock()
        size, refill = self.limits[kind]
        bucket = self.buckets.setdefault((subscription, kind), Bucket(size, refill, float(size), now))
        admitted, left, wait = bucket.take(now)
        headers = {f"x-ms-ratelimit-remaining-subscription-{kind}": str(left)}
        if not admitted:
            self.throttled[subscription] = self.throttled.get(subscription, 0) + 1
            headers["Retry-After"] = str(wait)
        return admitted, headers
