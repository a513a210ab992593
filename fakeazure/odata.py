"""The run-history query language, as far as the SDK itself writes it (azureml/_restclient/_odata/constants.py).

`(Tags/k eq "v")`, `(Properties/k eq "v")`, `(ParentRunId eq null)`, `(Status eq Running)`, `ne` for the
same, joined with `and`/`or` and parentheses. The fake parses it strictly: an expression outside this grammar
answers 400, so a malformed filter fails a test instead of matching everything. (The service also knows date
comparisons; the SDK writes their literal with a space, `str(datetime)`, so the app does not use them.)
"""

from __future__ import annotations

import re
from collections.abc import Callable

_TOKEN = re.compile(r'\s*(\(|\)|"[^"]*"|[^\s()"]+)')
_FIELDS = {"parentrunid": "parentRunId", "status": "status", "runtype": "runType", "createdutc": "createdUtc",
           "runid": "runId", "target": "target", "starttimeutc": "startTimeUtc"}
_ORDER_FIELDS = {"createdutc": "createdUtc", "starttimeutc": "startTimeUtc", "runid": "runId"}
_OPS = ("eq", "ne")

Predicate = Callable[[dict], bool]


class QueryError(ValueError):
    """A filter or order-by the fake cannot read; answered with 400."""


def parse_filter(text: str | None) -> Predicate:
    """A predicate over run DTOs (the JSON the service returns) for an OData filter string."""
    if not text or not text.strip():
        return lambda run: True
    tokens = _tokens(text)
    predicate, rest = _expression(tokens)
    if rest:
        raise QueryError(f"unexpected {' '.join(rest)!r} in filter {text!r}")
    return predicate


def parse_order(text: str | None) -> tuple[str, bool]:
    """(DTO key, descending) for an order-by such as `CreatedUtc desc`."""
    parts = (text or "CreatedUtc desc").split()
    if len(parts) not in (1, 2) or parts[0].lower() not in _ORDER_FIELDS or \
            (len(parts) == 2 and parts[1].lower() not in ("asc", "desc")):
        raise QueryError(f"cannot order by {text!r}")
    return _ORDER_FIELDS[parts[0].lower()], len(parts) == 2 and parts[1].lower() == "desc"


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            if text[position:].strip():
                raise QueryError(f"cannot read filter {text!r} at {position}")
            break
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _expression(tokens: list[str]) -> tuple[Predicate, list[str]]:
    left, rest = _term(tokens)
    while rest and rest[0].lower() in ("and", "or"):
        joiner = rest[0].lower()
        right, rest = _term(rest[1:])
        left = _join(left, right, joiner)
    return left, rest


def _join(left: Predicate, right: Predicate, joiner: str) -> Predicate:
    if joiner == "and":
        return lambda run: left(run) and right(run)
    return lambda run: left(run) or right(run)


def _term(tokens: list[str]) -> tuple[Predicate, list[str]]:
    if not tokens:
        raise QueryError("the filter ends too early")
    if tokens[0] == "(":
        inner, rest = _expression(tokens[1:])
        if not rest or rest[0] != ")":
            raise QueryError("unbalanced parentheses in filter")
        return inner, rest[1:]
    if len(tokens) < 3 or tokens[1].lower() not in _OPS:
        raise QueryError(f"expected 'Field op value', got {' '.join(tokens[:3])!r}")
    return _comparison(tokens[0], tokens[1].lower(), tokens[2]), tokens[3:]


def _comparison(field: str, op: str, literal: str) -> Predicate:
    getter = _getter(field)
    if literal.lower() == "null":
        expected = None
    elif literal.startswith('"'):
        expected = literal[1:-1]
    else:
        expected = literal
    if op == "eq":
        return lambda run: _text(getter(run)) == expected
    return lambda run: _text(getter(run)) != expected


def _getter(field: str) -> Callable[[dict], object]:
    prefix, _, key = field.partition("/")
    if key and prefix.lower() == "tags":
        return lambda run: (run.get("tags") or {}).get(key)
    if key and prefix.lower() == "properties":
        return lambda run: (run.get("properties") or {}).get(key)
    name = _FIELDS.get(field.lower())
    if name is None:
        raise QueryError(f"unknown field {field!r} in filter")
    return lambda run: run.get(name)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
