"""Keep what a user pasted out of log lines and errors: identity values are named, never shown; a setting's value
that is not of its shape is described, never repeated.

Services echo identity values (ARM's AuthorizationFailed names the client id, Entra's AADSTS700016 the application
id), so any text from a service passes through `scrub` before it reaches a log line or an exception. All functions of
one Function App share its app settings, so the values remembered for a tick are the process's.

A setting that is wrong may hold anything, a secret pasted into the wrong field included, and the configuration
error is logged by the deployed app: `shown` describes such a value (its length, what it looks like), and quotes
only a short one of the shape its setting takes (a schedule's fields, a zone, a glob, an ARM scope), which cannot be
a secret of Azure's formats.
"""

from __future__ import annotations

import re
import threading

IDENTITY_SETTINGS = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")
_MIN_LENGTH = 4  # shorter values would mask ordinary words
_lock = threading.Lock()
_values: dict[str, str] = {}


def remember(**values: str | None) -> None:
    """Record this tick's identity values, keyed by setting name (e.g. AZURE_CLIENT_ID=...)."""
    with _lock:
        _values.clear()
        _values.update({name: value for name, value in values.items() if value and len(value) >= _MIN_LENGTH})


def scrub(text: str) -> str:
    """`text` with every remembered identity value replaced by `<SETTING_NAME>`."""
    with _lock:
        values = sorted(_values.items(), key=lambda item: -len(item[1]))
    for name, value in values:
        text = text.replace(value, f"<{name}>")
        if value.lower() != value:
            text = text.replace(value.lower(), f"<{name}>")
    return text


def shape(value: str) -> str:
    """What a value looks like, without repeating it: identity settings are never echoed (one may hold a secret)."""
    kinds = [name for name, test in (("letters", str.isalpha), ("digits", str.isdigit)) if any(map(test, value))]
    if any(not (ch.isalnum() or ch in "-.") for ch in value):
        kinds.append("other characters")
    return f"the value has {len(value)} characters ({', '.join(kinds) or 'none'})"


# What a value of each kind looks like when it is one a person wrote (short, and of that kind's characters only): a
# schedule has spaces between its fields, which no secret or key Azure issues has.
SHAPES = {
    "schedule": re.compile(r"^(?=.* )[0-9A-Za-z*,/?#%\- ]{1,60}$"),
    "zone": re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]{0,30}(/[A-Za-z0-9_+\-]{1,30}){0,2}$"),
    "glob": re.compile(r"^[A-Za-z0-9*?\[\]!_/\-]{1,40}$"),
    "scope": re.compile(r"^/[A-Za-z0-9/._()\-]{1,300}$"),
}


def shown(value: str, kind: str | None = None) -> str:
    """`'value'` for a short value of `kind`'s shape, else a description of it (never the value itself)."""
    pattern = SHAPES.get(kind or "")
    if not value or pattern is not None and pattern.match(value):
        return repr(value)
    return f"({shape(value)})"
