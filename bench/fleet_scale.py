"""A fleet tick at ARM's scale: one subscription with 1,000 running instances beside three small ones, under ARM's
documented request limits (token buckets per subscription: reads 250 then 25/s, writes 200 then 10/s).

    python bench/fleet_scale.py [--workspaces 200] [--running 5] [--small 3] [--latency-ms 20]
                                [--short-timeout 00:01:15]

Prints: how many instances were stopped; when subscription A's last stop was accepted against the write floor
((stops - 200) / 10 s); when the small subscriptions were done; throttled answers as a share of the stops. Then the
same fleet with a functionTimeout below the floor: the first invocation ends on its own before its deadline with
`deferred=` set, and the next one finishes. Real time throughout (a few minutes).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import _common

import StopComputeTimer
from shared import hostconfig

TICK = datetime(2026, 11, 21, 21, 25, tzinfo=timezone.utc)
BIG = "aaaaaaaa-0000-4000-8000-000000000001"
SMALL = [f"bbbbbbbb-0000-4000-8000-00000000000{n}" for n in (1, 2, 3)]
WRITE_BUCKET, WRITE_REFILL = 200, 10.0


class Totals(logging.Handler):
    """The compute_total line of each invocation."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[dict[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("compute_total "):
            self.lines.append(dict(re.findall(r"(\w+)=(\S+)", message)))


def seed(fake, workspaces: int, running: int, small: int) -> str:
    for w in range(workspaces):
        workspace = fake.add_workspace(BIG, "rg-big", f"ws-big-{w:03d}")
        for i in range(running):
            workspace.add_instance(f"ci-{i}", "Running")
    for s, subscription in enumerate(SMALL):
        for w in range(5):
            workspace = fake.add_workspace(subscription, "rg-small", f"ws-small-{s}-{w}")
            for i in range(small):
                workspace.add_instance(f"ci-{i}", "Running")
    return ",".join(f"/subscriptions/{sub}" for sub in [BIG, *SMALL])


def invoke(totals: Totals) -> tuple[float, str | None]:
    started = time.monotonic()
    try:
        StopComputeTimer.main(_common.make_timer(TICK))
        error = None
    except Exception as failure:  # noqa: BLE001 - the invocation's result is what this measures
        error = f"{type(failure).__name__}: {failure}"
    return time.monotonic() - started, error


def run(args, timeout: str | None) -> None:
    _common.fresh_process()
    totals = Totals()
    logging.getLogger("shared").addHandler(totals)
    logging.getLogger("shared").setLevel(logging.INFO)
    with tempfile.TemporaryDirectory() as folder, _common.fake_azure(args.latency_ms) as fake:
        if timeout:
            host = Path(folder) / "host.json"
            host.write_text(json.dumps({"version": "2.0", "functionTimeout": timeout}), encoding="utf-8")
            hostconfig.HOST_JSON = host
        fake.workspaces.clear()
        scopes = seed(fake, args.workspaces, args.running, args.small)
        _common.apply_settings(AML_COMPUTE_SCOPES=scopes, AML_SUBSCRIPTION_ID="", AML_RESOURCE_GROUP="",
                               AML_WORKSPACE_NAME="")
        fake.limit_arm()  # ARM's documented buckets
        total = sum(len(ws.instances) for ws in fake.workspaces.values())
        start = fake.clock()
        invocations = []
        while len(invocations) < 3:
            invocations.append(invoke(totals))
            if invocations[-1][1] is None or "DeadlineReached" not in invocations[-1][1]:
                break
        accepted = {}
        for at, subscription, _, _ in fake.accepted:
            accepted.setdefault(subscription, []).append(at - start)
        stopped = sum(len(times) for times in accepted.values())
        big_stops = args.workspaces * args.running
        floor = max(0.0, (big_stops - WRITE_BUCKET) / WRITE_REFILL)
        throttled = sum(fake.limits.throttled.values())
        label = f"functionTimeout {timeout}" if timeout else "functionTimeout 00:10:00 (host.json)"
        print(f"\n{label}: {len(invocations)} invocation(s)")
        for n, ((seconds, error), line) in enumerate(zip(invocations, totals.lines, strict=False), 1):
            print(f"  invocation {n}: {seconds:.1f} s, stopped={line.get('stopped')} deferred={line.get('deferred')} "
                  f"throttled={line.get('throttled')}" + (f"; failed: {error[:160]}" if error else "; succeeded"))
        print(f"  stopped {stopped} of {total} instances; left Running "
              f"{sum(i.state == 'Running' for ws in fake.workspaces.values() for i in ws.instances.values())}")
        print(f"  subscription A: last stop at {max(accepted.get(BIG, [0])):.1f} s; write floor {floor:.0f} s "
              f"(ratio {max(accepted.get(BIG, [0])) / floor if floor else 0:.2f}, target <= 1.2)")
        small_done = max(max(accepted.get(sub, [0])) for sub in SMALL)
        print(f"  small subscriptions: done at {small_done:.2f} s (target <= 3 s)")
        print(f"  throttled answers: {throttled} for {stopped} stops ({throttled / max(1, stopped):.1%}, "
              "target < 10%)")
    logging.getLogger("shared").removeHandler(totals)
    hostconfig.HOST_JSON = _common.REPO_ROOT / "host.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=200, help="in subscription A")
    parser.add_argument("--running", type=int, default=5, help="per workspace of A")
    parser.add_argument("--small", type=int, default=3, help="running per workspace of the three small ones")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--short-timeout", default="00:01:15", help="a functionTimeout below the floor")
    args = parser.parse_args()
    print(f"fleet: A {args.workspaces} workspaces x {args.running} running; three subscriptions x 5 workspaces x "
          f"{args.small} running; ARM's documented buckets; {args.latency_ms:g} ms per request (fake Azure)")
    run(args, None)
    if args.short_timeout:
        run(args, args.short_timeout)


if __name__ == "__main__":
    main()
