"""Stop the selected running compute instances: one list call, then one stop call per instance, concurrently.

Why not the SDK's `ComputeInstance.stop()`: it fetches the instance twice before its POST, three requests per
instance where the list call already carried every state. The ARM operation it ends in,
`POST .../workspaces/{ws}/computes/{name}/stop`, is public and documented, so the app calls it directly with
`requests`, once per instance, and does not wait for Stopped (the 202 means the service took the request).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests
from azureml.core.compute import ComputeInstance, ComputeTarget

from shared.logfmt import kv
from shared.selection import Decision, Instance, Rules, select
from shared.settings import ComputeSettings
from shared.workspace import Connection

log = logging.getLogger(__name__)

STOP_API_VERSION = "2024-04-01"
MAX_PARALLEL_STOPS = 16


class ComputeStopError(RuntimeError):
    """Some instances could not be stopped; the message names each one and its error."""


@dataclass(frozen=True)
class Result:
    """What happened to one instance this tick."""

    name: str
    state: str
    action: str
    reason: str


def list_instances(connection: Connection) -> list[Instance]:
    """Every compute instance of the workspace, from the one (paged) list call that carries states and tags."""
    computes = ComputeTarget.list(connection.workspace)
    return [
        Instance(compute.name, compute.status.state if compute.status else "Unknown", dict(compute.tags or {}))
        for compute in computes
        if isinstance(compute, ComputeInstance)
    ]


def stop_url(connection: Connection, name: str) -> str:
    return f"{connection.arm_url}{connection.arm_id}/computes/{name}/stop?api-version={STOP_API_VERSION}"


def request_stop(connection: Connection, name: str, headers: dict[str, str]) -> str:
    """POST the stop; returns `stopped`, or `stopped_meanwhile` when the service says it is not running."""
    response = requests.post(stop_url(connection, name), headers=headers, timeout=60)
    if response.status_code == 409:
        # The instance left Running between the list and this call (stopped or stopping by someone else).
        return "stopped_meanwhile"
    if response.status_code >= 400:
        raise ComputeStopError(f"status={response.status_code}: {response.text[:300]}")
    return "stopped"


def _act(connection: Connection, decision: Decision, headers: dict[str, str], dry_run: bool) -> Result:
    if decision.action != "stop":
        return Result(decision.name, decision.state, "skipped", decision.reason)
    if dry_run:
        return Result(decision.name, decision.state, "would_stop", decision.reason)
    try:
        outcome = request_stop(connection, decision.name, headers)
    except (ComputeStopError, requests.RequestException) as error:
        return Result(decision.name, decision.state, "failed", str(error))
    if outcome == "stopped_meanwhile":
        return Result(decision.name, decision.state, "skipped", "stopped_meanwhile")
    return Result(decision.name, decision.state, "stopped", decision.reason)


def stop_instances(connection: Connection, settings: ComputeSettings,
                   clock: Callable[[], float] = time.monotonic) -> list[Result]:
    """One tick of StopComputeTimer; raises ComputeStopError after all were tried if any stop failed."""
    started = clock()
    rules = Rules(settings.include, settings.exclude, settings.exempt_tag)
    decisions = select(list_instances(connection), rules)
    to_stop = sum(decision.action == "stop" for decision in decisions)
    headers = connection.auth.get_authentication_header() if to_stop and not settings.dry_run else {}
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL_STOPS, to_stop))) as pool:
        results = list(pool.map(lambda d: _act(connection, d, headers, settings.dry_run), decisions))
    for result in results:
        line = kv("compute", name=result.name, state=result.state, action=result.action, reason=result.reason)
        log.log(logging.ERROR if result.action == "failed" else logging.INFO, line)
    actions = Counter(result.action for result in results)
    reasons = Counter(f"skipped_{result.reason}" for result in results if result.action == "skipped")
    log.info(kv("compute_summary", instances=len(results), stopped=actions["stopped"],
                would_stop=actions["would_stop"], skipped=actions["skipped"], failed=actions["failed"],
                **dict(sorted(reasons.items())), dry_run=settings.dry_run, elapsed_s=round(clock() - started, 3)))
    failed = [result for result in results if result.action == "failed"]
    if failed:
        raise ComputeStopError(
            f"{len(failed)} of {to_stop} compute instance(s) could not be stopped: "
            + "; ".join(f"{result.name}: {result.reason}" for result in failed)
        )
    return results
