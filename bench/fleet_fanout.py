"""A fleet bigger than one invocation: the queue fan-out (AML_FANOUT=queue) against the inline tick.

    python bench/fleet_fanout.py [--small 100] [--per 50] [--big 1000] [--latency-ms 200] [--timeout 00:01:00]
                                 [--workers 1,4,16] [--speed 10] [--big-first] [--no-inline]

100 subscriptions with 50 running instances each, and one with 1,000, whose write floor ((1,000 - 200) / 10 = 80 s
under ARM's documented buckets, applied per subscription by the fake) is longer than the functionTimeout (a tick's
deadline is it less 30 s). 200 ms per request. For 1, 4 and 16 competing worker instances (localrun.hostloop on a
private Azurite, each instance taking one message at a time with the app's pool of 16 requests in flight): when the
big subscription's first stop came, when its last came against its floor, requests, 429 answers, continuations. Then
the same fleet inline: one invocation, which defers what its deadline leaves to the next tick. Real time by default
(about ten minutes). `--speed N` runs the app's and the fake's time N times faster (the app's clock, ARM's buckets,
the latency, the deadline; Azurite's visibility timeouts stay in wall seconds), figures printed in the fleet's
seconds; but the app's own CPU is not sped up, so on 2 vCPU a speed above 1 inflates every figure by the CPU time of
~6,000 requests times N. Every simulated instance shares this machine's CPU (the host's take a machine each). The big
subscription comes last in AML_COMPUTE_SCOPES, so last in the queue; `--big-first` lists it first.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

import _common

import ComputeWorker
import StopComputeTimer
from localrun.azurite import Azurite
from localrun.hostloop import drain, queue_and_poison
from shared import clock, hostconfig
from shared.compute import ComputeActionError
from shared.fanout import COMPUTE_QUEUE
from shared.settings import load_compute_settings

BIG = "bbbbbbbb-0000-4000-8000-000000000001"
WRITE_BUCKET, WRITE_REFILL = 200, 10.0


class FastClock:
    """Time `speed` times faster than the wall clock: what shared.clock and the fake read instead of `time`."""

    def __init__(self, speed: float):
        self.speed, self.start = speed, time.monotonic()

    def monotonic(self) -> float:
        return self.start + (time.monotonic() - self.start) * self.speed

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds) / self.speed)

    def time(self) -> float:
        return time.time()


class Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock:
            self.lines.append(record.getMessage())


def subscription(n: int) -> str:
    return f"{n:08d}-aaaa-4aaa-8aaa-{n:012d}"


def seed(fake, small: int, per: int, big: int, big_first: bool) -> str:
    """The fleet; its scopes in AML_COMPUTE_SCOPES order (the order the timer enqueues them in)."""
    fake.workspaces.clear()
    subscriptions = [subscription(n + 1) for n in range(small)]
    subscriptions = [BIG, *subscriptions] if big_first else [*subscriptions, BIG]
    for sub in subscriptions:
        workspace = fake.add_workspace(sub, "rg", f"ws-{sub[:8]}")
        for i in range(big if sub == BIG else per):
            workspace.add_instance(f"ci-{i:04d}", "Running")
    return ",".join(f"/subscriptions/{sub}" for sub in subscriptions)


def run(args, workers: int | None, fast: FastClock, azurite: Azurite | None) -> dict:
    """One case: `workers` competing worker instances (None: inline). Returns its figures, in the fleet's seconds."""
    _common.fresh_process()
    lines = Lines()
    logging.getLogger("shared").addHandler(lines)
    logging.getLogger("shared").setLevel(logging.INFO)
    logging.getLogger("shared").propagate = False
    with _common.fake_azure(args.latency_ms / args.speed) as fake:
        fake.clock = fast.monotonic
        scopes = seed(fake, args.small, args.per, args.big, args.big_first)
        fake.limit_arm()  # ARM's documented buckets, per subscription
        extra = {"AzureWebJobsStorage": azurite.connection_string, "AML_FANOUT": "queue"} if azurite else {}
        _common.apply_settings(AML_COMPUTE_SCOPES=scopes, AML_SUBSCRIPTION_ID="", AML_RESOURCE_GROUP="",
                               AML_WORKSPACE_NAME="", AML_COMPUTE_COST="false", **extra)
        start = fast.monotonic()
        tick = clock.now().replace(microsecond=0)
        outcome = "succeeded"
        try:
            StopComputeTimer.main(_common.make_timer(tick))
        except ComputeActionError as error:
            outcome = type(error).__name__
        if azurite:
            queues = queue_and_poison(load_compute_settings(os.environ), COMPUTE_QUEUE)
            drained = drain(*queues, ComputeWorker.main, instances=workers, visibility=30, give_up_after=3600)
            outcome = f"{drained.done} messages, {drained.failed} failed, {len(drained.poisoned)} poisoned"
            for queue in queues:
                queue.delete_queue()
        stops = [at - start for at, *_ in fake.accepted]
        big = [at - start for at, sub, *_ in fake.accepted if sub == BIG]
        total = sum(len(ws.instances) for ws in fake.workspaces.values())
        figures = {"stopped": len(stops), "of": total, "last": max(stops, default=0.0),
                   "big_first": min(big, default=0.0), "big_last": max(big, default=0.0),
                   "requests": len(fake.requests),
                   "throttled": sum(fake.limits.throttled.values()),
                   "continuations": sum(" action=continued " in line for line in lines.lines), "outcome": outcome}
    logging.getLogger("shared").removeHandler(lines)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--per", type=int, default=50)
    parser.add_argument("--big", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--timeout", default="00:01:00", help="host.json functionTimeout")
    parser.add_argument("--workers", default="1,4,16")
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--big-first", action="store_true", help="list the big subscription first in the scopes")
    parser.add_argument("--no-inline", action="store_true", help="skip the inline case")
    args = parser.parse_args()
    fast = FastClock(args.speed)
    clock.time = fast  # the app's waits, pacing, deadline and token lifetimes run on the fleet's time
    floor = (args.big - WRITE_BUCKET) / WRITE_REFILL
    with tempfile.TemporaryDirectory() as folder:
        host = Path(folder) / "host.json"
        host.write_text(json.dumps({"version": "2.0", "functionTimeout": args.timeout}), encoding="utf-8")
        hostconfig.HOST_JSON = host
        print(f"fleet: {args.small} subscriptions x {args.per} running + one with {args.big} (its write floor "
              f"{floor:.0f} s); ARM's documented buckets; {args.latency_ms:g} ms per request; functionTimeout "
              f"{args.timeout}; time x{args.speed:g} (figures in the fleet's seconds); the big subscription "
              f"{'first' if args.big_first else 'last'} in AML_COMPUTE_SCOPES\n")
        azurite = Azurite()
        try:
            rows = []
            for workers in (int(item) for item in args.workers.split(",")):
                figures = run(args, workers, fast, azurite)
                rows.append([f"queue, {workers} worker instance(s)", figures])
        finally:
            azurite.stop()
        if not args.no_inline:
            rows.append(["inline (one invocation)", run(args, None, fast, None)])
    print(_common.table(
        ["case", "stopped", "last stop s", "big's first stop s", "big's last / floor", "requests", "429s",
         "continuations", "outcome"],
        [[name, f"{f['stopped']} of {f['of']}", f"{f['last']:.1f}", f"{f['big_first']:.1f}",
          f"{f['big_last'] / floor:.2f}", f["requests"],
          f["throttled"], f["continuations"], f["outcome"]] for name, f in rows]))


if __name__ == "__main__":
    main()
