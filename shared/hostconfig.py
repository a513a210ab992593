"""What host.json tells the app about its own invocation: how long the host lets a function run.

`functionTimeout` is a TimeSpan string (`hh:mm:ss`, optionally `d.hh:mm:ss`); `-1` means no limit (Premium,
Dedicated, Flex). When it is absent the host applies the plan's default, 5 minutes on the Consumption plan, the
tightest one, so that is what the app assumes.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

HOST_JSON = Path(__file__).resolve().parents[1] / "host.json"
CONSUMPTION_DEFAULT = timedelta(minutes=5)
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
