"""A command-line tool whose reader stops reading (`... | head -1`) ends quietly, not with a BrokenPipeError.

What the reader took is what it asked for: the tool exits 0, and the interpreter's last flush of stdout (which would
raise again) goes to /dev/null, as the Python documentation recommends ("Note on SIGPIPE").
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable


def run(main: Callable[[], int]) -> int:
    try:
        return main()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
