"""Reading the app's `event key=value` lines back in tests, the way a KQL query would."""

from __future__ import annotations

import re

_FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def fields(logs, event: str) -> list[dict[str, str]]:
    """The fields of every captured `event ...` line, in order (quoted values keep their quotes)."""
    found = []
    for record in logs.records:
        message = record.getMessage()
        if message.startswith(f"{event} "):
            found.append(dict(_FIELD.findall(message)))
    return found


def only(logs, event: str) -> dict[str, str]:
    [line] = fields(logs, event)
    return line


def instances(logs) -> dict[str, dict[str, str]]:
    """`compute` lines keyed by `workspace/name`."""
    return {f"{line['workspace']}/{line['name']}": line for line in fields(logs, "compute")}
