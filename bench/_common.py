"""Shared helpers of the benchmark scripts: repo root on sys.path, isolated HOME, settings, the fake Azure, timing.

Importing this module puts the repo root on sys.path and points HOME at a fresh temp dir, so a script
`import _common` first and then imports the app and the fake like the tests do.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# The SDK prints deprecation and syntax warnings on import; they are noise in a figures table.
warnings.filterwarnings("ignore")

from shared.functions import SETTING_PREFIXES  # noqa: E402 - after the repo root is on sys.path

APP_PREFIXES = (*SETTING_PREFIXES, "IDENTITY_", "MSI_")


# The SDK writes ~/.azureml (discovery cache, client info) under a HOME it reads once, at import: set it first.
HOME = tempfile.mkdtemp(prefix="bench-home-")
os.environ["HOME"] = os.environ["USERPROFILE"] = HOME
atexit.register(shutil.rmtree, HOME, ignore_errors=True)


def fresh_process() -> None:
    """Start the next tick like a fresh process: no cached workspace connection, no discovery cache on disk."""
    from shared import warm

    warm.forget()
    shutil.rmtree(Path(HOME, ".azureml"), ignore_errors=True)


def base_settings() -> dict[str, str]:
    """The app settings of the tests (service principal, the fake's workspace), as the host exposes them."""
    from fakeazure import app_settings

    return app_settings()


def apply_settings(**overrides: str) -> None:
    """Replace every app setting in os.environ with the base settings plus `overrides`."""
    for name in list(os.environ):
        if name.startswith(APP_PREFIXES):
            del os.environ[name]
    os.environ.update({**base_settings(), **overrides})


def make_timer(next_tick: datetime, past_due: bool = False):
    """A TimerRequest decoded from the host's JSON payload, as the Python worker does for `mytimer`."""
    from azure.functions.meta import Datum
    from azure.functions.timer import TimerRequestConverter

    payload = {
        "Schedule": {"AdjustForDST": True},
        "IsPastDue": past_due,
        "ScheduleStatus": {
            "Last": (next_tick - timedelta(days=1)).isoformat(),
            "Next": next_tick.isoformat(),
            "LastUpdated": (next_tick - timedelta(days=1)).isoformat(),
        },
    }
    return TimerRequestConverter.decode(Datum(json.dumps(payload), "json"), trigger_metadata={})


@contextmanager
def fake_azure(latency_ms: float) -> Iterator:
    """A fresh FakeAzure answering every `requests` call (unregistered URLs fail: no network)."""
    import responses

    from fakeazure import FakeAzure

    azure = FakeAzure(latency=latency_ms / 1000.0)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        azure.install(rsps)
        yield azure


def seed_instances(fake, instances: int, running: int) -> None:
    """`instances` compute instances named ci-000..., the first `running` of them Running, the rest Stopped."""
    width = max(3, len(str(instances - 1)))
    for i in range(instances):
        fake.add_instance(f"ci-{i:0{width}d}", "Running" if i < running else "Stopped")


def pages(instances: int) -> int:
    """List pages the fake serves for `instances` computes."""
    from fakeazure.arm import COMPUTE_PAGE_SIZE

    return max(1, math.ceil(instances / COMPUTE_PAGE_SIZE))


def timed(action: Callable[[], object]) -> tuple[object, float]:
    """Run `action`; return its result and the wall time in seconds."""
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def measure(fake, action: Callable[[], object]) -> tuple[object, int, float]:
    """Run `action`; return its result, the requests it made to `fake`, and its wall time."""
    before = len(fake.requests)
    result, seconds = timed(action)
    return result, len(fake.requests) - before, seconds


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """An aligned plain-text table: first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])
