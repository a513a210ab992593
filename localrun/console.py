"""What the runner prints and how it exits: the function's log lines and results on stdout, the runner's own notes
on stderr, the exit statuses, and the set-up error that exits 2."""

from __future__ import annotations

import sys

EXIT_OK, EXIT_FAILED, EXIT_SETUP = 0, 1, 2


class SetupError(Exception):
    """A usage or set-up problem, reported on stderr with exit status 2."""


def say(line: str) -> None:
    print(line, file=sys.stdout, flush=True)


def note(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
