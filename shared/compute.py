"""Compute instances over ARM REST: what a list page holds, how a power action is judged, and what a tick reports.

The calls are the public ARM operations (azure-rest-api-specs, Microsoft.MachineLearningServices 2024-04-01:
`Compute_List`, `GET .../workspaces/{ws}/computes`, paged with `nextLink`; `Compute_Get`; `Compute_Stop` /
`Compute_Start`, `POST .../computes/{name}/stop|start`, documented as 202 only) rather than the SDK's objects:
- `ComputeInstance.stop()` fetches the instance twice before its POST: three requests per instance where the
  list already carried every state;
- `ComputeTarget.list()` builds a full SDK object for every compute, so one compute type the SDK v1 does not know
  fails the whole list, and an instance without `createdBy.userName` costs an AAD Graph call.
The power action is not waited for: the 202 means the service took the request. The spec promises no status for
"not in the right state" (users see 400, sometimes only in the operation's result), so after any other 4xx the
app reads the instance (`Compute_Get`) and decides by its state, never by the status code (shared.fleet).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass

from shared.arm import API_VERSION
from shared.armids import WorkspaceRef
from shared.errors import AppError
from shared.logfmt import kv
from shared.selection import Instance, PowerAction
from shared.transport import Answer

log = logging.getLogger(__name__)


class ComputeActionError(AppError):
    """Something could not be done: the message names each failed scope, workspace and instance."""


class DeadlineReached(ComputeActionError):
    """The tick stopped at its deadline: the message says how much it left for the next tick."""


@dataclass(frozen=True)
class Result:
    """What happened to one instance this tick, and what it costs per hour while it runs (None: not known)."""

    workspace: WorkspaceRef
    name: str
    state: str
    action: str
    reason: str
    error: str = ""
    vm_size: str = ""
    region: str = ""
    hourly_cost: float | None = None


@dataclass(frozen=True)
class Costs:
    """How a tick prices what it acted on: the currency, and the regions whose prices it could not read (and why)."""

    currency: str
    unread: dict[str, str]  # region (lower case) -> `prices_unavailable` or `deadline`

    def fields(self, results: list[Result], action: PowerAction, dry_run: bool) -> dict[str, str | int]:
        """`<action>_hourly_cost=` (cents) and `currency=` for the instances acted on; `cost=partial unpriced=N` when
        some prices are unknown, `cost=unknown reason=...` when none could be read."""
        acted = [result for result in results if result.action == (action.dry if dry_run else action.done)]
        priced = [result.hourly_cost for result in acted if result.hourly_cost is not None]
        unread = [self.unread[result.region.lower()] for result in acted if result.hourly_cost is None
                  and result.region.lower() in self.unread]
        fields: dict[str, str | int] = {}
        if acted and not priced and unread:
            fields.update(cost="unknown", reason=unread[0], currency=self.currency)
            return fields
        fields[f"{action.dry if dry_run else action.done}_hourly_cost"] = f"{sum(priced):.2f}"
        fields["currency"] = self.currency
        if len(priced) < len(acted):
            fields.update(cost="partial", unpriced=len(acted) - len(priced))
        return fields


@dataclass(frozen=True)
class Left:
    """A scope or workspace this tick could not read (`failed`, with its reason and the service's error) or did not
    reach before its deadline (`deferred`)."""

    kind: str  # scope or workspace
    name: str
    action: str
    error: str = ""
    reason: str = "deadline"
    fields: tuple[tuple[str, str], ...] = ()  # where a bad answer came from: host, path, status


def compute_url(arm_url: str, workspace: WorkspaceRef, name: str = "", verb: str = "") -> str:
    """A workspace's computes (no name), one compute, or its power action."""
    below = "computes" + (f"/{name}" if name else "") + (f"/{verb}" if verb else "")
    return workspace.url(arm_url, below, API_VERSION)


def instances_of(answer: Answer, items: list, workspace: WorkspaceRef) -> list[Instance]:
    """The compute instances of one list page (clusters, attached and inference computes left out), with the VM size
    and region they bill as; BadAnswer for an entry the app cannot read (no name, no properties object)."""
    found = []
    for index, compute in enumerate(items):
        if not isinstance(compute, dict) or not isinstance(compute.get("name"), str) or not compute["name"]:
            raise answer.bad(f"value[{index}] has no name")
        properties = compute.get("properties") or {}
        if not isinstance(properties, dict):
            raise answer.bad(f"value[{index}] ({compute['name']}): properties is not an object")
        if properties.get("computeType") == "ComputeInstance":
            details = properties.get("properties") or {}
            tags = compute.get("tags") or {}
            if not isinstance(details, dict) or not isinstance(tags, dict):
                raise answer.bad(f"value[{index}] ({compute['name']}): properties.properties or tags is not an object")
            region = compute.get("location") or properties.get("computeLocation") or workspace.location
            found.append(Instance(compute["name"], str(details.get("state") or "Unknown"), dict(tags),
                                  workspace.name, str(details.get("vmSize") or ""), str(region or "")))
    return found


def state_of(answer: Answer) -> str:
    """An instance's state as `Compute_Get` reports it."""
    properties = answer.object().get("properties") or {}
    details = properties.get("properties") if isinstance(properties, dict) else None
    return str((details if isinstance(details, dict) else {}).get("state") or "Unknown")


def _counts(results: list[Result], action: PowerAction) -> dict[str, int]:
    actions = Counter(result.action for result in results)
    reasons = Counter(f"skipped_{result.reason}" for result in results if result.action == "skipped")
    return {"instances": len(results), action.done: actions[action.done], action.dry: actions[action.dry],
            "skipped": actions["skipped"], "failed": actions["failed"], "deferred": actions["deferred"],
            **dict(sorted(reasons.items()))}


def report(results: list[Result], workspaces: list[WorkspaceRef], left: list[Left], action: PowerAction,
           dry_run: bool, elapsed: float, throttled: int, costs: Costs | None, extra: dict[str, object]) -> None:
    """One line per instance and per scope or workspace left, one summary per workspace, one total for the tick."""
    for result in results:
        fields = {"name": result.name, "state": result.state, "action": result.action, "reason": result.reason,
                  "workspace": result.workspace.name, "subscription": result.workspace.subscription,
                  "vm_size": result.vm_size}
        if result.hourly_cost is not None:
            fields["hourly_cost"] = f"{result.hourly_cost:.4f}".rstrip("0").rstrip(".")
        if result.error:
            fields["error"] = result.error
        level = {"failed": logging.ERROR, "deferred": logging.WARNING}.get(result.action, logging.INFO)
        log.log(level, kv("compute", **fields))
    for item in left:
        if item.action == "deferred":
            log.warning(kv(f"compute_{item.kind}", **_where(item), action="deferred", reason="deadline"))
    by_workspace: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        by_workspace[result.workspace.key].append(result)
    for workspace in workspaces:
        mine = by_workspace[workspace.key]
        log.info(kv("compute_summary", workspace=workspace.name, subscription=workspace.subscription,
                    **_counts(mine, action), **(costs.fields(mine, action, dry_run) if costs else {}), dry_run=dry_run))
    log.info(kv("compute_total", power=action.verb, workspaces=len(workspaces), **_counts(results, action),
                failed_scopes=_count(left, "scope", "failed"), failed_workspaces=_count(left, "workspace", "failed"),
                deferred_scopes=_count(left, "scope", "deferred"),
                deferred_workspaces=_count(left, "workspace", "deferred"), throttled=throttled,
                **(costs.fields(results, action, dry_run) if costs else {}), **extra, dry_run=dry_run,
                elapsed_s=round(elapsed, 3)))


def _where(item: Left) -> dict[str, str]:
    if item.kind == "scope":
        return {"scope": item.name}
    workspace = WorkspaceRef.from_id(item.name)
    return {"workspace": workspace.name, "subscription": workspace.subscription}


def _count(left: list[Left], kind: str, action: str) -> int:
    return sum(item.kind == kind and item.action == action for item in left)


def raise_if_incomplete(results: list[Result], left: list[Left], action: PowerAction, deadline: str) -> None:
    """One error naming every failure, and, when the deadline cut the tick short, what it left for the next."""
    failed = [result for result in results if result.action == "failed"]
    deferred = [result for result in results if result.action == "deferred"]
    unread = [item for item in left if item.action == "deferred"]
    parts = [f"{item.kind} {item.name}: {item.error}" for item in left if item.action == "failed"]
    if failed:
        tried = sum(result.action not in ("skipped", "deferred") or
                    result.reason in (action.meanwhile, "deleted_meanwhile") for result in results)
        parts.append(f"{len(failed)} of {tried} compute instance(s) could not be {action.done}: " + "; ".join(
            f"{result.workspace.name}/{result.name}: {result.error}" for result in failed))
    if deferred or unread:
        unread_text = f" and {len(unread)} scope(s) or workspace(s) not yet listed" if unread else ""
        parts.append(f"the tick reached its deadline ({deadline}) and left {len(deferred)} compute instance(s) "
                     f"to {action.verb}{unread_text}; the next tick continues (power actions are idempotent)")
        raise DeadlineReached("; ".join(parts))
    if parts:
        raise ComputeActionError("; ".join(parts))
