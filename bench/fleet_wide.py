"""The same 10,000 running instances in few large workspaces or many small ones: a tick's own cost, and its report's.

    python bench/fleet_wide.py [--instances 10000] [--shapes 200x50,2000x5] [--subscriptions 10] [--latency-ms 0]

One StopComputeTimer tick over AML_COMPUTE_SCOPES (the workspaces spread over --subscriptions), no ARM limits and no
latency by default, so what is timed is the app's own work: discovery, lists, 10,000 stops, and the report (one
line per instance, a summary per workspace, the total), whose time is printed apart. A report that scans every
result once per workspace grows with workspaces x instances; the app's is linear in its results.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timezone

import _common

import StopComputeTimer
from shared import fleet

TICK = datetime(2026, 11, 21, 21, 25, tzinfo=timezone.utc)


def subscription(index: int) -> str:
    return f"{index + 1:08d}-cccc-4ccc-8ccc-{index + 1:012d}"


def run(workspaces: int, per_workspace: int, subscriptions: int, latency_ms: float) -> tuple[float, float, int]:
    """(tick seconds, report seconds, instances stopped)."""
    _common.fresh_process()
    report, spent = fleet.report, []

    def timed_report(*args, **kwargs):
        started = time.perf_counter()
        report(*args, **kwargs)
        spent.append(time.perf_counter() - started)

    fleet.report = timed_report
    try:
        with _common.fake_azure(latency_ms) as fake:
            fake.workspaces.clear()
            fake.compute_page_size = max(100, per_workspace)
            for w in range(workspaces):
                workspace = fake.add_workspace(subscription(w % subscriptions), "rg", f"ws-{w:05d}")
                for i in range(per_workspace):
                    workspace.add_instance(f"ci-{i:03d}", "Running")
            _common.apply_settings(AML_COMPUTE_SCOPES=",".join(f"/subscriptions/{subscription(s)}"
                                                               for s in range(subscriptions)),
                                   AML_SUBSCRIPTION_ID="", AML_RESOURCE_GROUP="", AML_WORKSPACE_NAME="",
                                   AML_COMPUTE_COST="false")
            _, seconds = _common.timed(lambda: StopComputeTimer.main(_common.make_timer(TICK)))
            stopped = sum(i.state == "Stopping" for ws in fake.workspaces.values() for i in ws.instances.values())
    finally:
        fleet.report = report
    return seconds, sum(spent), stopped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="200x50,2000x5", help="workspaces x instances each")
    parser.add_argument("--subscriptions", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    import logging

    logging.getLogger("shared").setLevel(logging.INFO)  # the report's lines are written, as in the host
    logging.getLogger("shared").addHandler(logging.NullHandler())
    logging.getLogger("shared").propagate = False
    run(2, 2, 1, 0)  # untimed warm-up
    rows = []
    for shape in args.shapes.split(","):
        workspaces, per = (int(part) for part in shape.split("x"))
        seconds, reported, stopped = run(workspaces, per, args.subscriptions, args.latency_ms)
        rows.append([f"{workspaces} workspaces x {per}", stopped, f"{seconds:.2f}", f"{reported:.2f}"])
    print(f"one StopComputeTimer tick, {args.subscriptions} subscriptions, {args.latency_ms:g} ms per request, no ARM "
          "limits (fake Azure)\n")
    print(_common.table(["fleet", "stopped", "tick s", "report s"], rows))


if __name__ == "__main__":
    main()
