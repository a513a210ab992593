"""Exit statuses and the runner's own output channels (its notes go to stderr, the function's logs to stdout)."""

from __future__ import annotations

import sys

EXIT_OK, EXIT_FAILED, EXIT_SETUP = 0, 1, 2


class SetupError(Exception):
    """A usage or set-up problem, reported on stderr with exit status 2."""


def say(line: str) -> None:
    print(line, file=sys.stdout, flush=True)


def note(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
