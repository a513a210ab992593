"""RUN_PIPELINE_PARAMETERS that know their tick: `{tick}` and `{window_start}` in string values.

`{tick}` is the occurrence a run is for, `{window_start}` the previous occurrence of the same schedule (the start of
the data window that ends at the tick), both in the schedule's zone (UTC, or RUN_PIPELINE_TIME_ZONE with the local
schedule). Each takes an optional strftime format after a colon (`{tick:%Y-%m-%d}`); without one it is ISO 8601
with its offset. `{{` and `}}` are literal braces. Nothing else is allowed (no attributes, indexes or conversions,
no directive strftime does not document), so a typo is a configuration error before any call, not a wrong date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from shared.errors import AppError

PLACEHOLDERS = ("tick", "window_start")
# The directives Python documents for strftime (every platform has them); `%%` is a literal percent sign.
_DIRECTIVE = re.compile(r"%(.?)")
_DIRECTIVES = set("aAwdbBmyYHIpMSfzZjUWcxXGuV%")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]|[^{}]+")


class TemplateError(AppError, ValueError):
    """A string parameter whose placeholders cannot be read."""


@dataclass(frozen=True)
class Field:
    name: str
    format: str | None


def parse_template(text: str) -> list[str | Field]:
    """Literal text and fields, in order; raises TemplateError saying what is wrong."""
    parts: list[str | Field] = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append(token[0])
        elif token == "{":
            raise TemplateError("a '{' is not closed: write {{ for a literal brace")
        elif token == "}":
            raise TemplateError("a '}' has no '{': write }} for a literal brace")
        elif match.group(1) is not None:
            parts.append(_field(match.group(1)))
        else:
            parts.append(token)
    return parts


def _field(inside: str) -> Field:
    name, colon, format_ = inside.partition(":")
    if name not in PLACEHOLDERS:
        shown = "{" + inside + "}"
        if re.match(r"^\w+[.\[!]", name):
            raise TemplateError(f"{shown}: only {{name}} and {{name:format}} are allowed, no attributes, indexes or "
                                "conversions")
        raise TemplateError(f"{shown}: unknown placeholder {name!r}: use {{tick}} or {{window_start}}")
    if colon:
        for directive in _DIRECTIVE.findall(format_):
            if directive not in _DIRECTIVES:
                raise TemplateError(f"{{{inside}}}: strftime has no directive %{directive}"
                                    if directive else f"{{{inside}}}: the format ends with a lone '%'")
    return Field(name, format_ if colon and format_ else None)


def render(text: str, values: dict[str, datetime]) -> str:
    """`text` with each field replaced by its time, formatted."""
    out = []
    for part in parse_template(text):
        if isinstance(part, Field):
            moment = values[part.name]
            out.append(moment.strftime(part.format) if part.format else moment.isoformat())
        else:
            out.append(part)
    return "".join(out)


def effective(parameters: dict[str, object], values: dict[str, datetime]) -> dict[str, str]:
    """The parameters a run gets: strings rendered, other values as the strings the SDK sends."""
    return {name: render(value, values) if isinstance(value, str) else str(value) for name, value in parameters.items()}


def problems(parameters: dict[str, object]) -> list[str]:
    """`name: what is wrong` for each string value whose placeholders cannot be read."""
    found = []
    for name, value in parameters.items():
        if isinstance(value, str):
            try:
                parse_template(value)
            except TemplateError as error:
                found.append(f"{name!r}: {error}")
    return found
