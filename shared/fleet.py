"""One compute tick across every workspace of its scopes: discover, list, act, all as small tasks on one fair pool.

Each task makes one request (and sometimes a second of the other kind after a refusal): listing a page of a scope's
workspaces (shared.arm), listing a page of a workspace's computes, one power action per selected instance, and, once
every workspace is listed, one price query per region (shared.prices) beside the actions that are still going.
Each runs as soon as the answer it follows from arrives, never workspace after workspace, on the lanes of
shared.pacing and the threads of shared.fairpool, so a subscription ARM throttles waits alone. What the deadline
leaves unstarted is reported as deferred; the next tick (power actions are idempotent) finishes it.

Every answer is decoded and read inside the task it belongs to: a scope or workspace whose list fails, or answers
something the app cannot read (a proxy's HTML page, an empty body, a `value` that is null, an entry without a name,
a `nextLink` that never ends), is that one work item's failure (`reason=list_failed` / `bad_answer`); the rest of
the tick goes on and the summaries are written. Each list and each power action has its own retry allowance.

A refused power action (a 4xx the spec does not promise) is judged by the instance's state read afterwards
(`Compute_Get`): already settled means someone else did it (or, after an attempt whose answer was lost, our own
request did); gone means deleted meanwhile; anything else is a refusal.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import replace

from shared import clock, prices
from shared.arm import API_VERSION, ArmClient, Paging, workspace_error, workspaces_of
from shared.armids import WorkspaceRef, workspaces_path
from shared.compute import Costs, Left, Result, compute_url, instances_of, raise_if_incomplete, report, state_of
from shared.fairpool import FairPool, Task
from shared.functions import by_verb
from shared.logfmt import kv, shorten
from shared.pacing import READ, WRITE, Lane
from shared.retry import CALL_FAILURES, RetryPolicy, with_retries
from shared.scopes import Scope
from shared.selection import Decision, Instance, Rules, select, unmatched
from shared.transport import Answer, BadAnswer, HttpError, NoAnswer, OutOfTime

log = logging.getLogger(__name__)


class PowerTick:
    """What one tick has listed, decided and left, shared by its tasks."""

    def __init__(self, client: ArmClient, policy: RetryPolicy, rules: Rules, dry_run: bool, isolate: bool,
                 currency: str | None):
        self.client = client
        self.policy = policy
        self.rules = rules
        self.dry_run = dry_run
        self.isolate = isolate  # a fleet; else the one AML_* workspace, whose failure is the tick's error
        self.currency = currency  # None: no prices (AML_COMPUTE_COST=false)
        self.results: list[Result] = []
        self.left: list[Left] = []
        self.causes: list[BaseException] = []  # what made each scope or workspace fail, in order
        self.listed: dict[str, WorkspaceRef] = {}
        self.instances: list[Instance] = []  # every compute instance listed, for the patterns that match none
        self.sizes: dict[str, set[str]] = {}  # region -> VM sizes listed there
        self.unpriced: dict[str, str] = {}  # region -> why its prices are not known
        self.listing = 0  # list tasks not done yet: when none are left, the prices are looked up
        self._lock = threading.Lock()

    def listing_started(self) -> None:
        with self._lock:
            self.listing += 1

    def listing_done(self, instances: Iterable[Instance] = ()) -> list[Task]:
        """A list task is done; the price queries once it was the last one (for the sizes not known yet)."""
        with self._lock:
            self.instances += instances
            for instance in instances:
                if instance.vm_size and instance.region:
                    self.sizes.setdefault(instance.region.lower(), set()).add(instance.vm_size)
            self.listing -= 1
            if self.listing or self.currency is None:
                return []
            return [PriceLookup(self, region, sorted(missing)) for region, sizes in sorted(self.sizes.items())
                    if (missing := {size for size in sizes if prices.known(self.currency, region, size) is None})]

    def record(self, result: Result) -> None:
        with self._lock:
            self.results.append(result)

    def failed(self, kind: str, name: str, error: BaseException, **fields: str) -> list[Task]:
        """A scope or workspace that could not be listed, or whose answer could not be read: logged, counted; the
        rest of the tick goes on."""
        where: dict[str, str] = {}
        if isinstance(error, BadAnswer):
            reason = "bad_answer"
            where = {"host": error.request.host, "path": error.request.path, "status": str(error.status)}
        else:
            reason = "list_failed"
        item = Left(kind, name, "failed", shorten(error, 300), reason, tuple(where.items()))
        log.error(kv(f"compute_{kind}", **fields, action="failed", reason=reason, **where, error=item.error))
        with self._lock:
            self.left.append(item)
            self.causes.append(error)
        return self.listing_done()

    def new_workspaces(self, found: Iterable[WorkspaceRef]) -> list[WorkspaceRef]:
        """The workspaces not seen before (overlapping scopes are merged, but a workspace id may repeat)."""
        with self._lock:
            fresh = [workspace for workspace in found if workspace.key not in self.listed]
            self.listed.update((workspace.key, workspace) for workspace in fresh)
            return fresh


class ListScope:
    """One page of ARM's workspace list for a subscription or resource group scope."""

    def __init__(self, tick: PowerTick, scope: Scope, url: str | None = None, found: int = 0,
                 paging: Paging | None = None, allowance=None):
        self.tick, self.scope, self.found = tick, scope, found
        self.url = url or f"{tick.client.base_url}{workspaces_path(scope.path)}?api-version={API_VERSION}"
        self.paging = paging or Paging()
        self.allowance = allowance or tick.policy.allowance()  # one for the scope's whole list
        self.lane: Lane = (scope.subscription.lower(), READ)
        tick.listing_started()

    def run(self) -> list[Task]:
        tick = self.tick
        try:
            answer = tick.client.send("list_workspaces", "GET", self.url, self.allowance)
            items, link = self.paging.page(answer)
            found = workspaces_of(answer, items)
        except OutOfTime:
            raise  # the pool hands it back: deferred to the next tick
        except CALL_FAILURES as error:
            return tick.failed("scope", self.scope.path, error, scope=self.scope.path)
        tasks: list[Task] = [ListComputes(tick, workspace) for workspace in tick.new_workspaces(found)]
        if link:
            tasks.append(ListScope(tick, self.scope, link, self.found + len(found), self.paging, self.allowance))
        elif tick.isolate:
            log.info(kv("compute_scope", scope=self.scope.path, action="listed", workspaces=self.found + len(found)))
        return tasks + tick.listing_done()


class ListComputes:
    """One page of a workspace's computes, which carries every instance's state and tags: no instance is read."""

    def __init__(self, tick: PowerTick, workspace: WorkspaceRef, url: str | None = None,
                 paging: Paging | None = None, allowance=None):
        self.tick, self.workspace = tick, workspace
        self.url = url or compute_url(tick.client.base_url, workspace)
        self.paging = paging or Paging()
        self.allowance = allowance or tick.policy.allowance()  # one for the workspace's whole list
        self.lane: Lane = (workspace.subscription.lower(), READ)
        tick.listing_started()

    def run(self) -> list[Task]:
        tick, workspace = self.tick, self.workspace
        try:
            answer = tick.client.send("list_computes", "GET", self.url, self.allowance)
            items, link = self.paging.page(answer)
            instances = instances_of(answer, items, workspace)
        except OutOfTime:
            raise
        except HttpError as error:
            if not tick.isolate and error.status in (403, 404):  # the one AML_* workspace: say what to check
                error = workspace_error(workspace, error.code)
            return tick.failed("workspace", workspace.id, error, workspace=workspace.name,
                               subscription=workspace.subscription)
        except CALL_FAILURES as error:
            return tick.failed("workspace", workspace.id, error, workspace=workspace.name,
                               subscription=workspace.subscription)
        by_name = {instance.name: instance for instance in instances}
        tasks: list[Task] = []
        for decision in select(instances, tick.rules):
            instance = by_name[decision.name]
            if decision.action == "skip":
                tick.record(result_of(workspace, instance, "skipped", decision.reason))
            elif tick.dry_run:
                tick.record(result_of(workspace, instance, tick.rules.action.dry, decision.reason))
            else:
                tasks.append(Power(tick, workspace, instance, decision))
        if link:
            tasks.append(ListComputes(tick, workspace, link, self.paging, self.allowance))
        return tasks + tick.listing_done(instances)


def result_of(workspace: WorkspaceRef, instance: Instance, action: str, reason: str, error: str = "") -> Result:
    return Result(workspace, instance.name, instance.state, action, reason, error, instance.vm_size, instance.region)


class Power:
    """The power action for one selected instance: POST it; after a refusal, read the instance and judge."""

    def __init__(self, tick: PowerTick, workspace: WorkspaceRef, instance: Instance, decision: Decision):
        self.tick, self.workspace, self.instance, self.decision = tick, workspace, instance, decision
        self.allowance = tick.policy.allowance()  # this instance's own: a broken one never spends another's
        self.refusal = ""  # the service's answer to the POST, once refused: the instance is read next
        self.uncertain = False  # an attempt ended without an answer (5xx, dropped): the service may have acted

    @property
    def lane(self) -> Lane:
        return self.workspace.subscription.lower(), READ if self.refusal else WRITE

    def result(self, action: str, reason: str, error: str = "") -> Result:
        return result_of(self.workspace, self.instance, action, reason, error)

    def run(self) -> list[Task]:
        try:
            outcome = self._check() if self.refusal else self._post()
        except OutOfTime:
            raise
        except CALL_FAILURES as error:
            outcome = self.result("failed", "service_error", shorten(error, 240))
        if outcome is None:
            return [self]  # refused: read the instance next, on its lane
        self.tick.record(outcome)
        return []

    def _post(self) -> Result | None:
        action, client = self.tick.rules.action, self.tick.client
        url = compute_url(client.base_url, self.workspace, self.decision.name, action.verb)

        def attempt() -> Answer:
            try:
                return client.once(action.verb, "POST", url)
            except NoAnswer:
                self.uncertain = True
                raise
            except HttpError as error:
                self.uncertain = self.uncertain or error.status >= 500
                raise

        try:
            with_retries(self.allowance, f"{action.verb} {self.decision.name}", attempt)
        except HttpError as error:
            if error.retryable:
                raise
            self.refusal = error.said
            return None
        return self.result(action.done, self.decision.reason)

    def _check(self) -> Result:
        action, client = self.tick.rules.action, self.tick.client
        try:
            answer = client.send("get_compute", "GET", compute_url(client.base_url, self.workspace,
                                                                  self.decision.name), self.allowance)
        except HttpError as error:
            if error.status == 404:
                return self.result("skipped", "deleted_meanwhile")
            if error.retryable:
                raise
            return self.result("failed", "refused", f"reading the instance failed: {error.said}")
        state = state_of(answer)
        if state in action.settles_to:
            # After an attempt whose answer was lost, that is our own request; else someone got there first.
            return self.result(action.done, self.decision.reason) if self.uncertain else \
                self.result("skipped", action.meanwhile)
        return self.result("failed", "refused", f"{self.refusal} (state {state})")

    def deferred(self) -> Result:
        return self.result("deferred", "deadline")


class PriceLookup:
    """One query of the public price list for the VM sizes of one region (never fails the tick)."""

    lane: Lane = ("prices.azure.com", READ)

    def __init__(self, tick: PowerTick, region: str, sizes: list[str]):
        self.tick, self.region, self.sizes = tick, region, sizes

    def run(self) -> list[Task]:
        try:
            prices.look_up(self.region, self.sizes, self.tick.currency, self.tick.client.deadline)
        except prices.PricesUnavailable as error:
            self.tick.unpriced[self.region] = "prices_unavailable"
            log.warning(kv("compute_prices", region=self.region, action="failed", reason="prices_unavailable",
                           error=str(error)))
        return []


def _priced(results: list[Result], currency: str | None) -> list[Result]:
    """Each result with its hourly cost, where this process knows its size's price."""
    if currency is None:
        return results
    return [replace(result, hourly_cost=known.price) if (known := prices.known(currency, result.region,
                                                                              result.vm_size)) else result
            for result in results]


def _warn_unmatched(rules: Rules, instances: list[Instance]) -> None:
    """One warning per include or exclude pattern that matched no instance of the whole tick."""
    names = by_verb(rules.action.verb).power
    for setting, patterns in ((names.include, rules.include), (names.exclude, rules.exclude)):
        for pattern in unmatched(patterns, instances):
            log.warning(kv("compute_rules", setting=setting, pattern=pattern, action="warned",
                           reason="pattern_matched_nothing"))


def power_tick(client: ArmClient, policy: RetryPolicy, scopes: Sequence[Scope], rules: Rules, dry_run: bool,
               isolate: bool, currency: str | None, extra: dict[str, object], concurrency: int) -> list[Result]:
    """Discover the scopes' workspaces, list each, act on the selected instances: all in one fair pool.

    With `isolate` (a fleet), a scope or workspace that cannot be listed is logged and counted, and the rest goes
    on; without it (the one AML_* workspace) its error is the tick's, raised after the summary. Raises after
    everything else was handled if anything failed, or if the deadline left work for the next tick.
    """
    started = clock.monotonic()
    deadline = client.deadline
    tick = PowerTick(client, policy, rules, dry_run, isolate, currency)
    first: list[Task] = []
    for scope in scopes:
        if scope.workspace:  # a workspace id needs no discovery
            first += [ListComputes(tick, workspace) for workspace in tick.new_workspaces([WorkspaceRef.of(
                scope.subscription, scope.resource_group, scope.workspace)])]
        else:
            first.append(ListScope(tick, scope))
    for task in FairPool(client.pacing, concurrency, deadline).run(first):
        if isinstance(task, Power):
            tick.record(task.deferred())
        elif isinstance(task, PriceLookup):
            tick.unpriced[task.region] = "deadline"
        elif isinstance(task, ListComputes):
            tick.left.append(Left("workspace", task.workspace.id, "deferred"))
        else:
            tick.left.append(Left("scope", task.scope.path, "deferred"))
    if tick.listing and currency:  # the deadline came before the listing ended: no price was looked up
        tick.unpriced.update(dict.fromkeys(tick.sizes, "deadline"))
    results = sorted(_priced(tick.results, currency),
                     key=lambda item: (item.workspace.subscription, item.workspace.name.lower(), item.name.lower()))
    # A summary for every workspace that was listed, even in part; none for one that failed or was never reached.
    seen = {result.workspace.key for result in results}
    unread = {item.name.lower() for item in tick.left if item.action == "failed" or item.name.lower() not in seen}
    reported = sorted((ws for ws in tick.listed.values() if ws.key not in unread),
                      key=lambda ws: (ws.subscription, ws.name.lower()))
    if not tick.left:  # every workspace was read: a pattern that matched nothing is a likely typo
        _warn_unmatched(rules, tick.instances)
    costs = Costs(currency, tick.unpriced) if currency else None
    report(results, reported, tick.left, rules.action, dry_run, clock.monotonic() - started, client.pacing.throttled,
           costs, extra)
    if not isolate and tick.causes:
        raise tick.causes[0]  # the one workspace's own error: what to check, as it was raised
    raise_if_incomplete(results, tick.left, rules.action, deadline.describe())
    return results
