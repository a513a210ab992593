"""What host.json tells the app about its own invocation: how long the host lets a function run, and so the
deadline by which a tick ends on its own.

`functionTimeout` is a TimeSpan string (`hh:mm:ss`, optionally `d.hh:mm:ss`); `-1` means no limit (Premium,
Dedicated, Flex). When it is absent the host applies the plan's default, 5 minutes on the Consumption plan, the
tightest one, so that is what the app assumes. The host kills an invocation at its timeout, in the middle of whatever
it was doing; a tick that knows its deadline (the timeout less a margin for its last calls and its summary) stops
starting new work before that and says what it left.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

HOST_JSON = Path(__file__).resolve().parents[1] / "host.json"
CONSUMPTION_DEFAULT = timedelta(minutes=5)
DEADLINE_MARGIN = timedelta(seconds=30)
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$")


def function_timeout(path: Path = HOST_JSON) -> timedelta | None:
    """The host's limit for one invocation, or None when there is none."""
    try:
        text = json.loads(path.read_text(encoding="utf-8-sig")).get("functionTimeout")
    except (OSError, ValueError):
        return CONSUMPTION_DEFAULT
    if text is None:
        return CONSUMPTION_DEFAULT
    if str(text).strip() == "-1":
        return None
    match = _TIMESPAN.match(str(text).strip())
    if match is None:
        return CONSUMPTION_DEFAULT
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


class Deadline:
    """When the tick starts nothing new (on clock.monotonic), or never (`at` None)."""

    def __init__(self, at: float | None, timeout: timedelta | None = None):
        self.at = at
        self.timeout = timeout

    @classmethod
    def of_invocation(cls, started: float, path: Path | None = None) -> Deadline:
        """The invocation's start plus host.json's functionTimeout, less DEADLINE_MARGIN (none with `-1`)."""
        timeout = function_timeout(path or HOST_JSON)
        if timeout is None:
            return cls(None)
        return cls(started + (timeout - DEADLINE_MARGIN).total_seconds(), timeout)

    def allows(self, moment: float) -> bool:
        return self.at is None or moment < self.at

    def describe(self) -> str:
        if self.timeout is None:
            return "no deadline"
        seconds = int(self.timeout.total_seconds())
        return (f"host.json functionTimeout {seconds // 3600:02}:{seconds // 60 % 60:02}:{seconds % 60:02} less "
                f"{int(DEADLINE_MARGIN.total_seconds())} s")
