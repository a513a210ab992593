"""Stop or start the selected compute instances: one list call per workspace, one power call per instance.

Both are the public ARM REST operations (azure-rest-api-specs, Microsoft.MachineLearningServices
2024-04-01: `Compute_List`, `GET .../workspaces/{ws}/computes`, paged with `nextLink`; `Compute_Stop` /
`Compute_Start`, `POST .../computes/{name}/stop|start`, documented as 202 only) rather than the SDK's objects:
- `ComputeInstance.stop()` fetches the instance twice before its POST: three requests per instance where the
  list already carried every state;
- `ComputeTarget.list()` builds a full SDK object for every compute, so one compute type the SDK v1 does not know
  fails the whole list, and an instance without `createdBy.userName` costs an AAD Graph call.
The power action is not waited for: the 202 means the service took the request. The spec promises no status for
"not in the right state" (users see 400, sometimes only in the operation's result), so after any other 4xx the
app reads the instance (`Compute_Get`) and decides by its state, never by the status code.
All requests of a tick share one bounded pool: scopes are listed (shared.arm), workspaces listed and instances
acted on as soon as each answer arrives, never workspace after workspace.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from shared.arm import API_VERSION, WorkspaceRef, list_workspaces, service_error
from shared.errors import AppError
from shared.logfmt import kv, shorten
from shared.retry import CALL_FAILURES, RetryBudget, request_once, send, with_retries
from shared.scopes import Scope
from shared.selection import Decision, Instance, PowerAction, Rules, select

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 16


class ComputeListError(AppError):
    """A workspace's computes could not be listed; nothing was done in it."""


class ComputeActionError(AppError):
    """Something could not be done: the message names each failed scope, workspace and instance."""


class PowerRefused(AppError):
    """The service refused a power action and the instance's state does not explain it."""


@dataclass(frozen=True)
class Result:
    """What happened to one instance this tick."""

    workspace: WorkspaceRef
    name: str
    state: str
    action: str
    reason: str
    error: str = ""


@dataclass(frozen=True)
class Failure:
    """A scope or workspace that could not be read this tick."""

    kind: str  # scope or workspace
    name: str
    error: str


def list_instances(arm_url: str, workspace: WorkspaceRef, headers: dict[str, str],
                   budget: RetryBudget) -> list[Instance]:
    """Every compute instance of the workspace, from the one (paged) list call that carries states and tags."""
    url: str | None = f"{arm_url}{workspace.id}/computes?api-version={API_VERSION}"
    found: list[Instance] = []
    while url:
        response = send(budget, "list_computes", "GET", url, headers)
        if response.status_code >= 400:
            raise ComputeListError(f"listing the computes of workspace {workspace.name} failed: "
                                   f"{service_error(response)}")
        page = response.json()
        for compute in page.get("value", []):
            properties = compute.get("properties") or {}
            if properties.get("computeType") == "ComputeInstance":
                state = (properties.get("properties") or {}).get("state") or "Unknown"
                found.append(Instance(compute["name"], state, dict(compute.get("tags") or {}), workspace.name))
        url = page.get("nextLink")
    return found


def read_state(arm_url: str, workspace: WorkspaceRef, name: str, headers: dict[str, str],
               budget: RetryBudget) -> str | None:
    """The instance's state now (`Compute_Get`), or None when it no longer exists."""
    url = f"{arm_url}{workspace.id}/computes/{name}?api-version={API_VERSION}"
    response = send(budget, "get_compute", "GET", url, headers)
    if response.status_code == 404:
        return None
    if response.status_code >= 400:
        raise PowerRefused(f"reading the instance failed: {service_error(response)}")
    return ((response.json().get("properties") or {}).get("properties") or {}).get("state") or "Unknown"


def request_power(arm_url: str, workspace: WorkspaceRef, name: str, action: PowerAction, headers: dict[str, str],
                  budget: RetryBudget) -> str:
    """POST the action (retried); returns `done`, `meanwhile` (someone else did it first) or `gone`."""
    url = f"{arm_url}{workspace.id}/computes/{name}/{action.verb}?api-version={API_VERSION}"
    attempts = 0

    def attempt() -> str:
        nonlocal attempts
        attempts += 1
        response = request_once(action.verb, "POST", url, headers)
        if response.status_code < 400:
            return "done"
        error = service_error(response)
        state = read_state(arm_url, workspace, name, headers, budget)
        if state is None:
            return "gone"
        if state in action.settles_to:
            # On a retry, that is our own earlier request whose answer was lost; on the first attempt, the
            # instance got there between the list and this call (someone else did it).
            return "done" if attempts > 1 else "meanwhile"
        raise PowerRefused(f"{error} (state {state})")

    return with_retries(budget, f"{action.verb} {name}", attempt)


def _act(arm_url: str, workspace: WorkspaceRef, decision: Decision, action: PowerAction, headers: dict[str, str],
         dry_run: bool, budget: RetryBudget) -> Result:
    def result(verdict: str, reason: str, error: str = "") -> Result:
        return Result(workspace, decision.name, decision.state, verdict, reason, error)

    if decision.action == "skip":
        return result("skipped", decision.reason)
    if dry_run:
        return result(action.dry, decision.reason)
    try:
        outcome = request_power(arm_url, workspace, decision.name, action, headers, budget)
    except PowerRefused as error:
        return result("failed", "refused", str(error))
    except CALL_FAILURES as error:
        return result("failed", "service_error", shorten(error, 240))
    if outcome == "meanwhile":
        return result("skipped", action.meanwhile)
    if outcome == "gone":
        return result("skipped", "deleted_meanwhile")
    return result(action.done, decision.reason)


def power_tick(arm_url: str, auth_header: Callable[[], dict[str, str]], scopes: Sequence[Scope], rules: Rules,
               dry_run: bool, budget: RetryBudget, isolate: bool = False) -> list[Result]:
    """Discover the scopes' workspaces, list each, act on the selected instances: all in one pool.

    With `isolate` (a fleet), a scope or workspace that cannot be listed is a `Failure` and the others go on;
    without it (the one AML_* workspace) its error is the tick's. Raises ComputeActionError after everything
    else was handled if anything failed.
    """
    started = time.monotonic()
    headers = with_retries(budget, "token", auth_header)
    results: list[Result] = []
    failures: list[Failure] = []
    listed: dict[str, WorkspaceRef] = {}
    with ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT) as pool:
        pending: dict[Future, tuple[str, object]] = {}
        for scope in scopes:
            pending[pool.submit(list_workspaces, arm_url, scope, headers, budget)] = ("scope", scope)
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                kind, subject = pending.pop(future)
                if kind == "act":
                    results.append(future.result())
                    continue
                try:
                    found = future.result()
                except CALL_FAILURES as error:
                    if not isolate:
                        raise
                    failures.append(_failed(kind, subject, error))
                    continue
                if kind == "scope":
                    if isolate and not subject.workspace:
                        log.info(kv("compute_scope", scope=subject.path, action="listed", workspaces=len(found)))
                    for workspace in found:
                        if workspace.key not in listed:
                            listed[workspace.key] = workspace
                            pending[pool.submit(list_instances, arm_url, workspace, headers, budget)] = \
                                ("workspace", workspace)
                else:
                    for decision in select(found, rules):
                        pending[pool.submit(_act, arm_url, subject, decision, rules.action, headers, dry_run,
                                            budget)] = ("act", subject)
    results.sort(key=lambda item: (item.workspace.subscription, item.workspace.name.lower(), item.name.lower()))
    failed_ids = {failure.name.lower() for failure in failures}
    reported = sorted((ws for ws in listed.values() if ws.key not in failed_ids),
                      key=lambda ws: (ws.subscription, ws.name.lower()))
    _report(results, reported, failures, rules.action, dry_run, time.monotonic() - started)
    _raise_if_failed(results, failures, rules.action)
    return results


def _failed(kind: str, subject, error: BaseException) -> Failure:
    """A scope or workspace that could not be listed, logged with the service's error."""
    name = subject.path if kind == "scope" else subject.id
    failure = Failure(kind, name, shorten(error, 240))
    fields = {"scope": name} if kind == "scope" else {"workspace": subject.name, "subscription": subject.subscription}
    log.error(kv(f"compute_{kind}", **fields, action="failed", reason="list_failed", error=failure.error))
    return failure


def _counts(results: list[Result], action: PowerAction) -> dict[str, int]:
    actions = Counter(result.action for result in results)
    reasons = Counter(f"skipped_{result.reason}" for result in results if result.action == "skipped")
    return {"instances": len(results), action.done: actions[action.done], action.dry: actions[action.dry],
            "skipped": actions["skipped"], "failed": actions["failed"], **dict(sorted(reasons.items()))}


def _report(results: list[Result], workspaces: list[WorkspaceRef], failures: list[Failure], action: PowerAction,
            dry_run: bool, elapsed: float) -> None:
    """One line per instance, one summary per workspace, one total for the tick."""
    for result in results:
        fields = {"name": result.name, "state": result.state, "action": result.action, "reason": result.reason,
                  "workspace": result.workspace.name, "subscription": result.workspace.subscription}
        if result.error:
            fields["error"] = result.error
        log.log(logging.ERROR if result.action == "failed" else logging.INFO, kv("compute", **fields))
    for workspace in workspaces:
        mine = [result for result in results if result.workspace == workspace]
        log.info(kv("compute_summary", workspace=workspace.name, subscription=workspace.subscription,
                    **_counts(mine, action), dry_run=dry_run))
    log.info(kv("compute_total", power=action.verb, workspaces=len(workspaces), **_counts(results, action),
                failed_scopes=sum(failure.kind == "scope" for failure in failures),
                failed_workspaces=sum(failure.kind == "workspace" for failure in failures),
                dry_run=dry_run, elapsed_s=round(elapsed, 3)))


def _raise_if_failed(results: list[Result], failures: list[Failure], action: PowerAction) -> None:
    failed = [result for result in results if result.action == "failed"]
    if not failed and not failures:
        return
    parts = [f"{failure.kind} {failure.name}: {failure.error}" for failure in failures]
    if failed:
        tried = sum(result.action != "skipped" or result.reason in (action.meanwhile, "deleted_meanwhile")
                    for result in results)
        parts.append(f"{len(failed)} of {tried} compute instance(s) could not be {action.done}: " + "; ".join(
            f"{result.workspace.name}/{result.name}: {result.error}" for result in failed))
    raise ComputeActionError("; ".join(parts))
