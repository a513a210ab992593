"""Keep identity values out of log lines and errors: the tenant, client id and secret are named, never shown.

Services echo them (ARM's AuthorizationFailed names the client id, Entra's AADSTS700016 the application id), so
any text from a service passes through `scrub` before it reaches a log line or an exception. All functions of one
Function App share its app settings, so the values remembered for a tick are the process's.
"""

from __future__ import annotations

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
