"""Time as the app reads and writes it: instants in UTC, ISO 8601 in and out, a naive time taken as UTC.

Azure writes times its own way (the host's schedule status and run history's `createdUtc` carry up to seven
fractional digits and a `Z`, which Python 3.10's `fromisoformat` refuses), and the app writes every instant in its
log lines, tags and errors as `2027-01-15T03:00:00Z`. One parser and one format for all of it. Imports nothing of
the app: every floor may use it.

`monotonic()` and `sleep()` are the clock every wait of a tick runs on (retries, pacing under ARM's limits, the
invocation's deadline, token lifetimes): one clock, so the tests can make it virtual in one place.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

UTC = timezone.utc
_FRACTION = re.compile(r"(\.\d{1,6})\d*")
_ZULU = re.compile(r"[Zz]$")


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive datetime is taken as UTC (the host's clock on Linux plans)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 time as Azure or a user writes it (up to 7 fractional digits, `Z` or an offset, naive = UTC), in
    UTC; raises ValueError for anything else."""
    return as_utc(datetime.fromisoformat(_ZULU.sub("+00:00", _FRACTION.sub(r"\1", text.strip()))))


def stamp(moment: datetime) -> str:
    """The instant as the app writes it everywhere: `2027-01-15T03:00:00Z`."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> datetime:
    return datetime.now(UTC)


def epoch() -> float:
    """Seconds since the epoch, for the lifetimes services write that way (a managed identity's `expires_on`)."""
    return time.time()


def monotonic() -> float:
    return time.monotonic()


def sleep(seconds: float) -> None:
    time.sleep(seconds)
