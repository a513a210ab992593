"""Stops against a subscription whose write bucket is empty: requests, time and throttled answers against the floor.

    python bench/write_pace.py [--instances 6] [--latency-ms 20]

ARM refills a subscription's write bucket at 10 a second; here it holds one write, then refills at that rate, so
N stops cannot all be accepted before (N - 1) / 10 s (the floor: 0.5 s for 6). Every accepted stop answers 202 with
`Retry-After: 10` (when to poll the operation) and `x-ms-ratelimit-remaining-subscription-writes: 0`, as ARM does
with its bucket empty. A pace that took that Retry-After for a throttle would wait 10 s after every stop. Real time.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

import _common

import StopComputeTimer

TICK = datetime(2026, 11, 21, 21, 25, tzinfo=timezone.utc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=6)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    _common.apply_settings(AML_COMPUTE_COST="false")
    _common.fresh_process()
    with _common.fake_azure(args.latency_ms) as fake:
        _common.seed_instances(fake, 1, 1)
        StopComputeTimer.main(_common.make_timer(TICK))  # untimed warm-up: imports, sign-in
    with _common.fake_azure(args.latency_ms) as fake:
        _common.seed_instances(fake, args.instances, args.instances)
        fake.limit_arm(writes=(1, 10.0))
        _, requests, seconds = _common.measure(fake, lambda: StopComputeTimer.main(_common.make_timer(TICK)))
        start = min(at for at, *_ in fake.accepted)
        last = max(at for at, *_ in fake.accepted) - start
        floor = (args.instances - 1) / 10
        print(f"{args.instances} running instances, write bucket empty (1 write, then 10/s), 202 with Retry-After: "
              f"{fake.accepted_retry_after}, {args.latency_ms:g} ms per request (fake Azure)\n")
        print(_common.table(["stops", "requests", "throttled (429)", "last stop s", "floor s", "tick s"],
                            [[len(fake.accepted), requests, sum(fake.limits.throttled.values()), f"{last:.2f}",
                              f"{floor:.2f}", f"{seconds:.2f}"]]))


if __name__ == "__main__":
    main()
