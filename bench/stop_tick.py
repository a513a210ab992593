"""One StopComputeTimer tick against the seed article's per-instance SDK loop, on the same fake workspace.

    python bench/stop_tick.py [--instances 200] [--running 100] [--latency-ms 20]

Both sides start like a fresh process (no cached workspace or discovery cache, a fresh fake); imports, including
the SDK's lazy ones (an untimed warm-up pass), are done before timing.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime, timezone

import _common
from azureml.core import Workspace
from azureml.core.authentication import ServicePrincipalAuthentication
from azureml.core.compute import ComputeInstance

import StopComputeTimer

TICK = datetime(2026, 11, 21, 21, 25, tzinfo=timezone.utc)


def app_tick() -> None:
    StopComputeTimer.main(_common.make_timer(TICK))


def seed_loop() -> None:
    """The seed article's loop: sign in, list, then get_status() and stop() one instance at a time."""
    auth = ServicePrincipalAuthentication(
        tenant_id=os.environ["AZURE_TENANT_ID"],
        service_principal_id=os.environ["AZURE_CLIENT_ID"],
        service_principal_password=os.environ["AZURE_CLIENT_SECRET"],
    )
    ws = Workspace(os.environ["AML_SUBSCRIPTION_ID"], os.environ["AML_RESOURCE_GROUP"],
                   os.environ["AML_WORKSPACE_NAME"], auth=auth)
    for name, target in ws.compute_targets.items():
        if target.type != "ComputeInstance":
            continue
        if ComputeInstance(ws, name).get_status().state == "Running":
            ComputeInstance(ws, name).stop(wait_for_completion=False, show_output=False)


def run_case(action, instances: int, running: int, latency_ms: float) -> tuple[int, float, int]:
    """Requests, wall time and instances left Running, on a fresh fake in fresh-process conditions."""
    _common.fresh_process()
    with _common.fake_azure(latency_ms) as fake:
        _common.seed_instances(fake, instances, running)
        _, requests, seconds = _common.measure(fake, action)
        left = sum(instance.state == "Running" for instance in fake.instances.values())
    return requests, seconds, left


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--running", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    n, k, latency = args.instances, min(args.running, args.instances), args.latency_ms
    _common.apply_settings()

    for action in (app_tick, seed_loop):  # untimed warm-up: the SDK's lazy imports are imports too
        run_case(action, 2, 1, 0)
    app_requests, app_seconds, app_left = run_case(app_tick, n, k, latency)
    seed_requests, seed_seconds, seed_left = run_case(seed_loop, n, k, latency)

    extra_pages = _common.pages(n) - 1
    # openid configuration, token, subscriptions, workspace, the list's first page, one stop per Running instance
    bound = k + 2 + extra_pages
    formula = 6 + 2 * n + 3 * k
    print(f"N={n} compute instances, k={k} Running, {latency:g} ms per request (fake Azure)\n")
    print(_common.table(
        ["stop tick", "requests", "wall s", "left Running"],
        [["app (StopComputeTimer)", app_requests, f"{app_seconds:.2f}", app_left],
         ["seed loop (SDK per instance)", seed_requests, f"{seed_seconds:.2f}", seed_left]],
    ))
    print()
    print(f"seed loop requests: measured {seed_requests}, reference 6 + 2N + 3k = {formula} "
          f"(the fake pages the list every 100 computes: {extra_pages} extra page(s))")
    print(f"app bound k + 2 + extra pages = {bound}: {app_requests} <= {bound} "
          f"{'holds' if app_requests <= bound else 'DOES NOT HOLD'}")
    print(f"summary: app {app_requests} requests in {app_seconds:.2f} s vs seed loop {seed_requests} requests in "
          f"{seed_seconds:.2f} s: {seed_requests / app_requests:.1f}x fewer requests, "
          f"{seed_seconds / app_seconds:.1f}x faster")


if __name__ == "__main__":
    main()
