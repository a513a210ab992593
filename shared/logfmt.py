"""One log line per decision, as `event key=value ...`, so Application Insights queries can parse it."""

from __future__ import annotations

import re

from shared.redact import scrub

_NEEDS_QUOTES = re.compile(r'[\s"]')
MESSAGE_LIMIT = 300


def _value(value: object) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = f"{value:.3f}".rstrip("0").rstrip(".") if value else "0"
    else:
        text = "" if value is None else str(value)
    if text == "" or _NEEDS_QUOTES.search(text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def kv(event: str, **fields: object) -> str:
    """Format `event k1=v1 k2=v2`; values with spaces or quotes are double-quoted (`=` alone needs no quotes)."""
    return " ".join([event, *(f"{key}={_value(value)}" for key, value in fields.items())])


def shorten(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """One line of at most `limit` characters, cut at a word boundary, identity values scrubbed."""
    line = " ".join(scrub(str(text)).split())
    if len(line) <= limit:
        return line
    cut = line[:limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:") + "…"
