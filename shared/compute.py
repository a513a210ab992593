"""Stop the selected running compute instances: one list call, then one stop call per instance, concurrently.

Both calls are the public ARM REST operations (`GET .../workspaces/{ws}/computes`, paged, and
`POST .../computes/{name}/stop`) rather than the SDK's objects:
- `ComputeInstance.stop()` fetches the instance twice before its POST: three requests per instance where the
  list already carried every state;
- `ComputeTarget.list()` builds a full SDK object for every compute, so one compute type the SDK v1 does not know
  (or a payload it finds incomplete) fails the whole list, and an instance without `createdBy.userName` costs an
  extra AAD Graph token and call. The app needs only name, type, state and tags, which the REST payload has.
The stop is not waited for: the 202 means the service took the request.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from shared.logfmt import kv
from shared.retry import RetryBudget, TransientHttpError, request_once, send, with_retries
from shared.selection import Decision, Instance, Rules, select
from shared.settings import ComputeSettings
from shared.workspace import Connection

log = logging.getLogger(__name__)

API_VERSION = "2024-04-01"
MAX_PARALLEL_STOPS = 16


class ComputeListError(RuntimeError):
    """The workspace's computes could not be listed; nothing was stopped."""


class ComputeStopError(RuntimeError):
    """Some instances could not be stopped; the message names each one and its error."""


@dataclass(frozen=True)
class Result:
    """What happened to one instance this tick."""

    name: str
    state: str
    action: str
    reason: str


def list_instances(connection: Connection, headers: dict[str, str], budget: RetryBudget) -> Iterator[Instance]:
    """Every compute instance of the workspace, from the one (paged) list call that carries states and tags."""
    url: str | None = f"{connection.arm_url}{connection.arm_id}/computes?api-version={API_VERSION}"
    while url:
        response = send(budget, "list_computes", "GET", url, headers)
        if response.status_code >= 400:
            raise ComputeListError(f"listing the computes of workspace {connection.workspace.name} failed: "
                                   f"status={response.status_code}: {response.text[:300]}")
        page = response.json()
        for compute in page.get("value", []):
            properties = compute.get("properties") or {}
            if properties.get("computeType") == "ComputeInstance":
                state = (properties.get("properties") or {}).get("state") or "Unknown"
                yield Instance(compute["name"], state, dict(compute.get("tags") or {}))
        url = page.get("nextLink")


def stop_url(connection: Connection, name: str) -> str:
    return f"{connection.arm_url}{connection.arm_id}/computes/{name}/stop?api-version={API_VERSION}"


def request_stop(connection: Connection, name: str, headers: dict[str, str], budget: RetryBudget) -> str:
    """POST the stop (retried); returns `stopped`, or `stopped_meanwhile` when it had left Running before."""
    attempts = 0

    def attempt() -> str:
        nonlocal attempts
        attempts += 1
        response = request_once("stop", "POST", stop_url(connection, name), headers)
        if response.status_code == 409:
            # Not running any more. On a retry, that is our own earlier stop whose answer was lost; on the first
            # attempt, the instance left Running between the list and this call (stopped by someone else).
            return "stopped" if attempts > 1 else "stopped_meanwhile"
        if response.status_code >= 400:
            raise ComputeStopError(f"status={response.status_code}: {response.text[:300]}")
        return "stopped"

    return with_retries(budget, f"stop {name}", attempt)


def _act(connection: Connection, decision: Decision, headers: dict[str, str], settings: ComputeSettings,
         budget: RetryBudget) -> Result:
    if decision.action != "stop":
        return Result(decision.name, decision.state, "skipped", decision.reason)
    if settings.dry_run:
        return Result(decision.name, decision.state, "would_stop", decision.reason)
    try:
        outcome = request_stop(connection, decision.name, headers, budget)
    except (ComputeStopError, TransientHttpError, requests.RequestException) as error:
        return Result(decision.name, decision.state, "failed", str(error).splitlines()[0])
    if outcome == "stopped_meanwhile":
        return Result(decision.name, decision.state, "skipped", "stopped_meanwhile")
    return Result(decision.name, decision.state, "stopped", decision.reason)


def stop_instances(connection: Connection, settings: ComputeSettings, budget: RetryBudget) -> list[Result]:
    """One tick of StopComputeTimer; raises ComputeStopError after all were tried if any stop failed."""
    started = time.monotonic()
    rules = Rules(settings.include, settings.exclude, settings.exempt_tag)
    headers = with_retries(budget, "token", connection.auth.get_authentication_header)
    decisions = select(list_instances(connection, headers, budget), rules)
    to_stop = sum(decision.action == "stop" for decision in decisions)
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL_STOPS, to_stop))) as pool:
        results = list(pool.map(lambda d: _act(connection, d, headers, settings, budget), decisions))
    for result in results:
        line = kv("compute", name=result.name, state=result.state, action=result.action, reason=result.reason)
        log.log(logging.ERROR if result.action == "failed" else logging.INFO, line)
    actions = Counter(result.action for result in results)
    reasons = Counter(f"skipped_{result.reason}" for result in results if result.action == "skipped")
    log.info(kv("compute_summary", instances=len(results), stopped=actions["stopped"],
                would_stop=actions["would_stop"], skipped=actions["skipped"], failed=actions["failed"],
                **dict(sorted(reasons.items())), dry_run=settings.dry_run,
                elapsed_s=round(time.monotonic() - started, 3)))
    failed = [result for result in results if result.action == "failed"]
    if failed:
        raise ComputeStopError(
            f"{len(failed)} of {to_stop} compute instance(s) could not be stopped: "
            + "; ".join(f"{result.name}: {result.reason}" for result in failed)
        )
    return results
