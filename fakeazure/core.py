"""The fake Azure's core: its state and seeding, the faults it injects, and the dispatcher every request goes through.

Each service (fakeazure.entra, .arm, .pipelines, .history) owns its routes; the core matches a request to a route,
checks the bearer token's audience when the route needs one (401 `InvalidAuthenticationToken` otherwise), applies
injected faults, requires an `api-version` on every ARM call (400 `MissingApiVersionParameter`, as ARM answers), and
answers a body the service's model binding rejects with 400. A request no route knows fails the test at once
(`UnexpectedRequest`), naming the method and URL. Submitted runs appear in run history and move through
`run_statuses` as they are read; stopped (started) instances move to Stopping (Starting), then Stopped (Running) on
the next read.
"""

from __future__ import annotations

import json
import math
import random
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlparse

import requests
import responses

from fakeazure.arm import COMPUTE_PAGE_SIZE, WORKSPACE_PAGE_SIZE, Arm
from fakeazure.batch import BatchEndpoints, FakeBatchEndpoint, FakeBatchJob
from fakeazure.contract import BindError
from fakeazure.entra import IDENTITY_PORT, TOKEN_SECONDS, Entra
from fakeazure.history import RUNS_PAGE_SIZE, RunHistory
from fakeazure.pipelines import Pipelines
from fakeazure.prices import RetailPrices, default_rows, rows_for
from fakeazure.state import (
    CLIENT_ID,
    CLIENT_SECRET,
    REGION,
    RESOURCE_GROUP,
    SUBSCRIPTION,
    TENANT,
    WORKSPACE,
    FakeInstance,
    FakeRun,
    FakeWorkspace,
    new_run,
)
from fakeazure.throttle import DOCUMENTED, ArmLimits
from fakeazure.wire import API, ARM, LOGIN, arm_error, audience, json_or_text, query

# What chaos injects: throttling with and without Retry-After, server errors, a dropped connection.
CHAOS_FAULTS = [(429, {"Retry-After": "2"}), (429, {}), (500, {}), (502, {}), (503, {}), (504, {}), (None, {})]


class UnexpectedRequest(AssertionError):
    """A request no route of the fake knows: a bug in the app or the test, never something to retry."""


class Call(NamedTuple):
    """One request the fake answered: method, full URL, the JSON body if there was one, when (on the fake's clock),
    and its headers."""

    method: str
    url: str
    body: object
    at: float = 0.0
    headers: dict = {}  # noqa: RUF012 - a record's field: each call gets its own dict


def app_settings() -> dict[str, str]:
    """App settings that point the app at the fake: its service principal, workspace and the schedules."""
    return {
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT_ID,
        "AZURE_CLIENT_SECRET": CLIENT_SECRET,
        "AML_SUBSCRIPTION_ID": SUBSCRIPTION,
        "AML_RESOURCE_GROUP": RESOURCE_GROUP,
        "AML_WORKSPACE_NAME": WORKSPACE,
        "RUN_PIPELINE_SCHEDULE": "0 0 3 * * *",
        "STOP_COMPUTE_SCHEDULE": "0 25 21 * * *",
        "START_COMPUTE_SCHEDULE": "0 30 7 * * 1-5",
    }


@dataclass
class Fault:
    """A failure the fake injects into matching requests."""

    method: str
    pattern: re.Pattern
    status: int | None
    times: int
    lost: bool
    headers: dict
    body: str | None = None
    content_type: str = "text/html"

    def applies(self, method: str, url: str) -> bool:
        return self.times > 0 and method == self.method and bool(self.pattern.search(url))

    def answer(self, url: str = "") -> tuple:
        if self.status is None:
            raise requests.ConnectionError("Connection aborted: RemoteDisconnected (injected by the fake)")
        if self.body is not None:
            return self.status, {"Content-Type": self.content_type, **self.headers}, self.body
        if url.startswith(LOGIN):
            # Entra's OAuth2 error format; `temporarily_unavailable` is its documented "retry the request" code
            # (Microsoft identity platform error codes).
            body = {"error": "temporarily_unavailable", "error_description": "AADSTS50196: The server is "
                    f"temporarily too busy to handle the request ({self.status}). Retry the request."}
        else:
            code = "ServiceUnavailable" if self.status >= 500 else "TooManyRequests" if self.status == 429 \
                else "BadRequest"
            body = {"error": {"code": code, "message": f"injected failure {self.status}"}}
        return self.status, {"Content-Type": "application/json", **self.headers}, json.dumps(body)


class FakeAzure:
    """The fake services' state, plus the dispatcher that serves it."""

    def __init__(self, latency: float = 0.0, clock: Callable[[], float] = time.monotonic):
        self.latency = latency
        self.clock = clock  # ARM's buckets and token lifetimes run on it (the tests' virtual clock, or real time)
        self.limits: ArmLimits | None = None  # ARM's request limits, once `limit_arm` applies them
        self.token_expiry: dict[str, float] = {}  # token -> when it expires, on `clock`
        self.lock = threading.Lock()
        self.requests: list[Call] = []
        self.unexpected: list[Call] = []
        self.secret = CLIENT_SECRET
        self.token_seconds = TOKEN_SECONDS
        self.tokens_issued = 0
        self.subscriptions: dict[str, dict] = {SUBSCRIPTION: {"readable": True}}
        self.workspaces: dict[tuple[str, str, str], FakeWorkspace] = {}
        self.workspace = self.add_workspace(SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE)
        self.published: dict[str, dict] = {}
        self.endpoints: dict[str, dict] = {}
        self.runs: dict[str, FakeRun] = {}
        self.experiments: set[str] = set()
        self.run_statuses: list[str] = ["NotStarted", "Running", "Completed"]
        self.stores_submit_tags = True
        self.wrong_state_answer = "400"
        self.history_host = API
        self.compute_page_size = COMPUTE_PAGE_SIZE
        self.workspace_page_size = WORKSPACE_PAGE_SIZE
        self.runs_page_size = RUNS_PAGE_SIZE
        self.faults: list[Fault] = []
        self.operations: dict[str, dict] = {}
        self.accepted: list[tuple[float, str, str, str]] = []  # (clock, subscription, instance, action) per 202
        self.unresolvable: set[str] = set()  # host names that do not resolve (as without DNS)
        self.slow: list[list] = []  # [method, pattern, seconds, times] of `hang`
        self.advance: Callable[[float], None] = lambda seconds: None  # moves the fake's clock (a virtual one)
        # ARM's 202 to an accepted power action names when to poll its operation (Microsoft Learn, "Track
        # asynchronous Azure operations": Retry-After, "the number of seconds to wait before checking the status").
        self.accepted_retry_after: str | None = "10"
        self.runs_token_repeats: str | None = None  # run history answers every query page with this same token
        self._seen: dict[tuple[str, str], int] = {}
        self._chaos: tuple[float, int] | None = None
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests that were being answered at once
        self.price_rows: list[dict] = default_rows()
        self.batch_endpoints: dict[str, FakeBatchEndpoint] = {}
        self.batch_jobs: dict[str, FakeBatchJob] = {}
        self.batch_job_statuses: list[str] = ["NotStarted", "Running", "Completed"]
        self.batch_keeps_names = True  # False: the invoke names its job itself, ignoring the name it is sent
        self.honours_repeatability = True
        self.duplicate_name_status = 409
        self.services = (Entra(self), Arm(self), Pipelines(self), RunHistory(self), RetailPrices(self),
                         BatchEndpoints(self))

    # ----- seeding ------------------------------------------------------------------------------------------
    @property
    def instances(self) -> dict[str, FakeInstance]:
        """The default workspace's computes."""
        return self.workspace.instances

    def add_workspace(self, subscription: str, resource_group: str, name: str, location: str = REGION,
                      kind: str = "Default") -> FakeWorkspace:
        self.subscriptions.setdefault(subscription, {"readable": True})
        workspace = FakeWorkspace(subscription, resource_group, name, location, kind)
        self.workspaces[workspace.key] = workspace
        return workspace

    def add_instance(self, name: str, state: str = "Running", tags: dict | None = None,
                     compute_type: str = "ComputeInstance") -> FakeInstance:
        return self.workspace.add_instance(name, state, tags, compute_type)

    def add_vm_price(self, region: str, arm_sku: str, usd_per_hour: float, series: str = "Test",
                     meter: str | None = None) -> None:
        """A VM size's rows in the price list (its Linux pay-as-you-go price, and the decoys every size has)."""
        self.price_rows += rows_for(region, arm_sku, series, meter or arm_sku.removeprefix("Standard_"), usd_per_hour)

    def deny_subscription(self, subscription: str) -> None:
        """The identity has no role in this subscription: listing its workspaces answers 403."""
        self.subscriptions.setdefault(subscription, {})["readable"] = False

    def add_published_pipeline(self, name: str = "train", status: str = "Active", pipeline_id: str | None = None,
                               enable_notification: bool = False) -> str:
        pipeline_id = pipeline_id or str(uuid.uuid4())
        self.published[pipeline_id] = {"name": name, "status": status, "notify": enable_notification}
        return pipeline_id

    def add_pipeline_endpoint(self, name: str, versions: dict[str, str], default_version: str = "0",
                              status: str = "Active") -> str:
        endpoint_id = str(uuid.uuid4())
        self.endpoints[name] = {"id": endpoint_id, "versions": versions, "default": default_version,
                                "status": status}
        return endpoint_id

    def add_batch_endpoint(self, name: str, deployments: tuple[str, ...] = ("pipeline",), default: str | None = "",
                           state: str = "Succeeded", inputs: set[str] | None = None) -> FakeBatchEndpoint:
        """A batch endpoint with its deployments (all provisioned) and default one (empty: the first; None: none)."""
        endpoint = FakeBatchEndpoint(name, dict.fromkeys(deployments, "Succeeded"),
                                     deployments[0] if default == "" and deployments else default, state,
                                     frozenset(inputs) if inputs is not None else None)
        self.batch_endpoints[name] = endpoint
        return endpoint

    def add_batch_job(self, name: str, endpoint: str, statuses: list[str], experiment: str = "e") -> FakeBatchJob:
        """A job of a batch endpoint the app did not invoke in this test (an earlier tick's, or the studio's)."""
        job = FakeBatchJob(name, endpoint, self.batch_endpoints[endpoint].default or "", experiment, {},
                           list(statuses))
        self.batch_jobs[name] = job
        return job

    def add_run(self, experiment: str, pipeline_id: str, statuses: list[str], tags: dict | None = None) -> FakeRun:
        """A run started outside the app (e.g. from the portal)."""
        run = new_run(experiment, pipeline_id, statuses, tags)
        self.runs[run.run_id] = run
        self.experiments.add(experiment)
        return run

    def requests_to(self, pattern: str, method: str | None = None) -> list[Call]:
        return [call for call in self.requests if re.search(pattern, call.url)
                and (method is None or call.method == method)]

    def limit_arm(self, reads: tuple[int, float] = DOCUMENTED["reads"],
                  writes: tuple[int, float] = DOCUMENTED["writes"],
                  deletes: tuple[int, float] = DOCUMENTED["deletes"]) -> ArmLimits:
        """Apply ARM's token buckets per subscription: (size, refill per second) for reads, writes and deletes."""
        self.limits = ArmLimits(lambda: self.clock(), reads, writes, deletes)
        return self.limits

    # ----- faults -------------------------------------------------------------------------------------------
    def fail(self, method: str, pattern: str, status: int | None = 503, times: int = 1, lost: bool = False,
             headers: dict | None = None, body: str | None = None, content_type: str = "text/html") -> Fault:
        """Answer the next `times` matching requests with `status` (None: a dropped connection).

        With `lost=True` the service acts on the request first and only the answer is lost, as when a gateway
        times out after the backend accepted the call. `body` replaces the JSON error with raw text of
        `content_type` (a gateway's HTML page, say, even with a status of 200: a proxy that answers for the service).
        """
        fault = Fault(method, re.compile(pattern), status, times, lost, dict(headers or {}), body, content_type)
        self.faults.append(fault)
        return fault

    def hang(self, method: str, pattern: str, seconds: float, times: int = 1) -> None:
        """The next `times` matching requests take `seconds` to answer (on the fake's clock): a request whose read
        timeout is shorter times out after its timeout, as a stalled service does."""
        self.slow.append([method, re.compile(pattern), seconds, times])

    def chaos(self, rate: float, seed: int) -> None:
        """Fail about `rate` of all requests, chosen per request from `seed` (thread timing does not matter)."""
        self._chaos = (rate, seed)

    def _chaos_fault(self, method: str, url: str) -> Fault | None:
        if self._chaos is None:
            return None
        rate, seed = self._chaos
        key = (method, url.split("?")[0])
        self._seen[key] = self._seen.get(key, 0) + 1
        rng = random.Random(f"{seed}|{method}|{key[1]}|{self._seen[key]}")
        if rng.random() >= rate:
            return None
        status, headers = rng.choice(CHAOS_FAULTS)
        return Fault(method, re.compile(""), status, 0, method in ("POST", "PATCH") and rng.random() < 0.5, headers)

    # ----- wiring -------------------------------------------------------------------------------------------
    def install(self, rsps: responses.RequestsMock) -> None:
        """Answer every request through `rsps`; anything the routes do not know raises UnexpectedRequest. A request to
        another loopback port than the fake identity endpoint's goes to the network: a local Azurite, the app's own
        storage, is real in the tests."""
        self._routes = [(route.method, re.compile(route.pattern, re.IGNORECASE), route)
                        for service in self.services for route in service.routes()]
        local = rf"http://127\.0\.0\.1:(?!{IDENTITY_PORT}/)"
        rsps.add_passthru(re.compile(local))
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "MERGE"):
            rsps.add_callback(method, re.compile(f"^(?!{local}).*"), callback=self._dispatch)

    def _dispatch(self, request):
        call = Call(request.method, request.url, json_or_text(request.body), self.clock(), dict(request.headers))
        found = next(((route, match) for method, pattern, route in self._routes
                      if method == request.method and (match := pattern.match(request.url))), None)
        with self.lock:
            self.requests.append(call)
            if found is None or found[1].groupdict().get("host", self.history_host) != self.history_host:
                # Run history answers only on the host discovery names (a private-link workspace has its own).
                self.unexpected.append(call)
                raise UnexpectedRequest(f"the fake Azure has no route for {request.method} {request.url}")
            host = urlparse(request.url).hostname
            if host in self.unresolvable:
                raise requests.ConnectionError(f"HTTPSConnectionPool(host='{host}', port=443): Max retries exceeded "
                                               "(Caused by NameResolutionError(\"Failed to resolve "
                                               f"'{host}' ([Errno -2] Name or service not known)\"))") \
                    from socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            fault = next((f for f in self.faults if f.applies(request.method, request.url)), None)
            if fault is not None:
                fault.times -= 1
            else:
                fault = self._chaos_fault(request.method, request.url)
            stall = next((item for item in self.slow if item[3] > 0 and item[0] == request.method
                          and item[1].search(request.url)), None)
            if stall is not None:
                stall[3] -= 1
        if stall is not None:
            timeout = (getattr(request, "req_kwargs", {}) or {}).get("timeout")
            read = timeout[1] if isinstance(timeout, tuple) else timeout
            if read is not None and read < stall[2]:
                self.advance(read)
                raise requests.ReadTimeout(f"HTTPSConnectionPool: Read timed out. (read timeout={read})")
            self.advance(stall[2])
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if self.latency:
            time.sleep(self.latency)
        with self.lock:
            self.in_flight -= 1
            if fault is not None and not fault.lost:
                return fault.answer(request.url)
            answer = self._answer(request, *found)
            return fault.answer(request.url) if fault is not None else answer

    def _answer(self, request, route, match) -> tuple:
        """The route's answer, after the checks every service of its kind makes first."""
        limit_headers: dict[str, str] = {}
        if request.url.startswith(ARM):
            if "api-version" not in query(request):
                return arm_error(400, "MissingApiVersionParameter", "The api-version query parameter "
                                 "(?api-version=) is required for all requests.")
            if self.limits is not None:
                admitted, limit_headers = self.limits.admit(request.method, request.url)
                if not admitted:
                    return _with(arm_error(429, "TooManyRequests", "The request is being throttled: the "
                                           "subscription's limit for this kind of request has been reached. Please "
                                           f"try again after '{limit_headers['Retry-After']}' seconds."),
                                 limit_headers)
        if route.audiences is not None:
            if audience(request) not in route.audiences:
                return arm_error(401, "InvalidAuthenticationToken", "no valid token for this audience")
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if self.token_expiry.get(token, math.inf) <= self.clock():
                return arm_error(401, "ExpiredAuthenticationToken", "The access token has expired.")
        try:
            return _with(route.handler(request, match), limit_headers)
        except BindError as error:
            return 400, {"Content-Type": "application/json"}, json.dumps(error.answer())


def _with(answer: tuple, headers: dict[str, str]) -> tuple:
    status, own, body = answer
    return status, {**own, **headers}, body
