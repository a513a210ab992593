"""What a warm process keeps between invocations (signed-in identities, SDK workspaces, prices), and how to forget it.

A Functions host reuses its Python process for many invocations; a cold start begins with none of this. The tools,
tests and benchmarks call `forget()` to start a tick like a fresh process.
"""

from __future__ import annotations

_caches: list[dict] = []


def cache() -> dict:
    """A new process-wide cache, emptied by `forget()`."""
    store: dict = {}
    _caches.append(store)
    return store


def forget() -> None:
    """Drop everything every cache holds (a fresh process starts like this)."""
    for store in _caches:
        store.clear()
