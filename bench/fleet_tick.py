"""One StopComputeTimer tick over a fleet (AML_COMPUTE_SCOPES): requests and wall time against two slower shapes.

    python bench/fleet_tick.py [--subscriptions 3] [--workspaces 8] [--instances 20] [--running 10] [--latency-ms 20]

The app lists every subscription's workspaces, then every workspace's computes, and stops the Running instances,
all in one fair pool of 16 requests in flight (shared.fairpool). Compared with the same calls made workspace after
workspace (one pool per workspace, as a loop over workspaces would) and one at a time. Each case starts like a fresh
process on a fresh fake; an untimed warm-up runs first.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime, timezone

import _common

import StopComputeTimer
from shared import fleet
from shared.arm import API_VERSION, ArmClient, Paging, workspaces_of
from shared.armids import workspaces_path
from shared.retry import RetryPolicy
from shared.scopes import Scope
from shared.selection import STOP, Rules
from shared.settings import DEFAULT_CONCURRENCY, load_compute_settings
from shared.tokens import signed_in

ARM = "https://management.azure.com"

TICK = datetime(2026, 11, 21, 21, 25, tzinfo=timezone.utc)


def subscription(index: int) -> str:
    return f"{index + 1:08d}-aaaa-4aaa-8aaa-{index + 1:012d}"


def seed(fake, subscriptions: int, workspaces: int, instances: int, running: int) -> str:
    """The fleet in the fake; returns AML_COMPUTE_SCOPES naming its subscriptions."""
    for s in range(subscriptions):
        for w in range(workspaces):
            workspace = fake.add_workspace(subscription(s), f"rg-{w % 2}", f"ws-{s}-{w}")
            for i in range(instances):
                workspace.add_instance(f"ci-{i:03d}", "Running" if i < running else "Stopped")
    return ",".join(f"/subscriptions/{subscription(s)}" for s in range(subscriptions))


def app_tick(fake) -> None:
    StopComputeTimer.main(_common.make_timer(TICK))


def workspace_after_workspace(fake) -> None:
    """The same REST calls, one workspace at a time (each with its own pool of 16)."""
    settings = load_compute_settings(os.environ)
    policy = RetryPolicy(120)
    with signed_in(settings.azure) as tokens:
        client = ArmClient(ARM, tokens)
        for scope in settings.scopes:
            url, paging = f"{ARM}{workspaces_path(scope.path)}?api-version={API_VERSION}", Paging()
            while url:
                answer = client.call("list_workspaces", "GET", url, policy.allowance())
                items, url = paging.page(answer)
                for workspace in workspaces_of(answer, items):
                    fleet.power_tick(client, policy, [Scope(workspace.subscription, workspace.resource_group,
                                                            workspace.name)], Rules(STOP), False, True, None, {},
                                     DEFAULT_CONCURRENCY)


def run_case(action, args, latency_ms: float, in_flight: int = DEFAULT_CONCURRENCY,
             **settings: str) -> tuple[int, float, int, int]:
    """Requests, wall time, instances left Running, and requests to the price list."""
    _common.fresh_process()
    with _common.fake_azure(latency_ms) as fake:
        scopes = seed(fake, args.subscriptions, args.workspaces, args.instances, args.running)
        _common.apply_settings(AML_COMPUTE_SCOPES=scopes, AML_SUBSCRIPTION_ID="", AML_RESOURCE_GROUP="",
                               AML_WORKSPACE_NAME="", AML_COMPUTE_CONCURRENCY=str(in_flight), **settings)
        _, requests, seconds = _common.measure(fake, lambda: action(fake))
        left = sum(i.state == "Running" for ws in fake.workspaces.values() for i in ws.instances.values())
        return requests, seconds, left, len(fake.requests_to("prices.azure.com"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=3)
    parser.add_argument("--workspaces", type=int, default=8, help="per subscription")
    parser.add_argument("--instances", type=int, default=20, help="per workspace")
    parser.add_argument("--running", type=int, default=10, help="of them Running")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    small = argparse.Namespace(subscriptions=1, workspaces=1, instances=2, running=1)

    run_case(app_tick, small, 0)  # untimed warm-up: lazy imports are imports too
    app = run_case(app_tick, args, args.latency_ms)
    without_prices = run_case(app_tick, args, args.latency_ms, AML_COMPUTE_COST="false")
    serial_ws = run_case(workspace_after_workspace, args, args.latency_ms, AML_COMPUTE_COST="false")
    one_at_a_time = run_case(app_tick, args, args.latency_ms, in_flight=1, AML_COMPUTE_COST="false")

    workspaces = args.subscriptions * args.workspaces
    stops = workspaces * args.running
    pages = args.subscriptions * _pages(args.workspaces, 100)
    bound = 1 + pages + workspaces * _pages(args.instances, 100) + stops + 1  # + one price query per region (1)
    print(f"fleet: {args.subscriptions} subscriptions x {args.workspaces} workspaces x {args.instances} instances "
          f"({args.running} Running each), {args.latency_ms:g} ms per request (fake Azure)\n")
    print(_common.table(
        ["stop tick", "requests", "wall s", "left Running"],
        [["app: one pool of 16 for the tick", *_row(app)],
         ["app without prices (AML_COMPUTE_COST=false)", *_row(without_prices)],
         ["workspace after workspace (pool per workspace)", *_row(serial_ws)],
         ["one request at a time", *_row(one_at_a_time)]],
    ))
    print()
    verdict = "holds" if app[0] <= bound else "DOES NOT HOLD"
    print(f"bound: the token 1 + discovery pages {pages} + one list page per workspace {workspaces} + one stop per "
          f"Running instance {stops} + one price query for the fleet's one region = {bound}: app {app[0]} <= {bound} "
          f"{verdict}")
    print(f"prices: {app[3]} request(s) to the price list, +{app[0] - without_prices[0]} requests and "
          f"{app[1] - without_prices[1]:+.2f} s against AML_COMPUTE_COST=false ({without_prices[1]:.2f} s)")
    print(f"summary: app {app[1]:.2f} s; {serial_ws[1] / app[1]:.1f}x faster than workspace after workspace "
          f"({serial_ws[1]:.2f} s), {one_at_a_time[1] / app[1]:.1f}x faster than one request at a time "
          f"({one_at_a_time[1]:.2f} s)")


def _pages(items: int, size: int) -> int:
    return max(1, -(-items // size))


def _row(case: tuple[int, float, int, int]) -> list[object]:
    return [case[0], f"{case[1]:.2f}", case[2]]


if __name__ == "__main__":
    main()
