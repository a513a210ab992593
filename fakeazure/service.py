"""A stateful fake of the Azure services the app and the AML SDK call, answered at the `requests` layer.

Entra ID (token and managed identity endpoints), ARM (subscriptions, workspaces, computes and their power
actions), the AML discovery, compute, pipelines and run-history services. The real azureml-core /
azureml-pipeline-core code runs on top: `responses` hands every `requests` call to one dispatcher here.

The fake keeps the services' contract, not the app's assumptions:
- bodies bind to the SDK's own msrest models (`contract.bind`): a value of the wrong JSON type answers 400;
- every ARM call needs an `api-version` (400 `MissingApiVersionParameter`, as ARM answers);
- a power action in a wrong state answers 400 (or, with `wrong_state_answer = "lro"`, 202 and an operation that
  fails), as users report the service doing; a refusal (`FakeInstance.refusal`) answers 400 in any state;
- run-history filters are parsed strictly (`odata`), a page holds at most `runs_page_size` runs;
- the submit body's tags are stored only while `stores_submit_tags` is true;
- a request no route knows fails the test at once (`UnexpectedRequest`), naming the method and URL.
Submitted runs appear in run history and move through `run_statuses` as they are read; stopped (started)
instances move to Stopping (Starting), then Stopped (Running) on the next read.
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import parse_qs, unquote, urlparse

import requests
import responses
from azureml._restclient.models import CreateRunDto, QueryParamsDto
from azureml.pipeline.core._restclients.aeva.models import PipelineSubmissionInfo

from fakeazure.contract import BindError, bind
from fakeazure.odata import QueryError, parse_filter, parse_order
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

LOGIN = "https://login.microsoftonline.com"
ARM = "https://management.azure.com"
IDENTITY_ENDPOINT = "http://127.0.0.1:41741/msi/token"
IDENTITY_HEADER = "fake-identity-header"
COMPUTE_PAGE_SIZE = 100
WORKSPACE_PAGE_SIZE = 100
RUNS_PAGE_SIZE = 50
DATA_TYPES = ("AnyFile", "AzureBlobReference", "AzureDataLakeReference", "AzureFilesReference",
              "AzureSqlDatabaseReference", "AzurePostgresDatabaseReference", "AzureDataLakeGen2Reference",
              "AzureMLDataset", "AzureMySqlDatabaseReference", "DBFSReference", "AnyDirectory")

# What chaos injects: throttling with and without Retry-After, server errors, a dropped connection.
CHAOS_FAULTS = [(429, {"Retry-After": "2"}), (429, {}), (500, {}), (502, {}), (503, {}), (504, {}), (None, {})]
_WS = (r"/+subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
       r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/?]+)")
_WS_LIST = (r"/+subscriptions/(?P<sub>[^/]+)(/resourceGroups/(?P<rg>[^/]+))?"
            r"/providers/Microsoft\.MachineLearningServices/workspaces")
_API = rf"https://{REGION}\.api\.azureml\.ms"
# The power actions of compute instances: the state each needs, the state it moves to.
POWER = {"stop": ("Running", "Stopping"), "start": ("Stopped", "Starting")}
WRONG_STATE = {
    "stop": "StopComputeInstanceOnlyAllowedInRunningState",
    "start": "StartComputeInstanceOnlyAllowedInStoppedState",  # as reported by users (vscode-tools-for-ai #2096)
}


class UnexpectedRequest(AssertionError):
    """A request no route of the fake knows: a bug in the app or the test, never something to retry."""


class Call(NamedTuple):
    """One request the fake answered: method, full URL, and the JSON body if there was one."""

    method: str
    url: str
    body: object


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


def _jwt(claims: dict) -> str:
    """An unsigned JWT: the SDK decodes tokens (tenant, expiry) without checking the signature."""
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


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

    def applies(self, method: str, url: str) -> bool:
        return self.times > 0 and method == self.method and bool(self.pattern.search(url))

    def answer(self, url: str = "") -> tuple:
        if self.status is None:
            raise requests.ConnectionError("Connection aborted: RemoteDisconnected (injected by the fake)")
        if self.body is not None:
            return self.status, {"Content-Type": "text/html", **self.headers}, self.body
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

    def __init__(self, latency: float = 0.0):
        self.latency = latency
        self.lock = threading.Lock()
        self.requests: list[Call] = []
        self.unexpected: list[Call] = []
        self.secret = CLIENT_SECRET
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
        self.history_host = f"https://{REGION}.api.azureml.ms"
        self.compute_page_size = COMPUTE_PAGE_SIZE
        self.workspace_page_size = WORKSPACE_PAGE_SIZE
        self.runs_page_size = RUNS_PAGE_SIZE
        self.faults: list[Fault] = []
        self.operations: dict[str, dict] = {}
        self._seen: dict[tuple[str, str], int] = {}
        self._chaos: tuple[float, int] | None = None
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests that were being answered at once

    # ----- seeding ------------------------------------------------------------------------------------------
    @property
    def instances(self) -> dict[str, FakeInstance]:
        """The default workspace's computes."""
        return self.workspace.instances

    @property
    def api(self) -> str:
        return f"https://{REGION}.api.azureml.ms"

    def add_workspace(self, subscription: str, resource_group: str, name: str, location: str = REGION,
                      kind: str = "Default") -> FakeWorkspace:
        self.subscriptions.setdefault(subscription, {"readable": True})
        workspace = FakeWorkspace(subscription, resource_group, name, location, kind)
        self.workspaces[workspace.key] = workspace
        return workspace

    def add_instance(self, name: str, state: str = "Running", tags: dict | None = None,
                     compute_type: str = "ComputeInstance") -> FakeInstance:
        return self.workspace.add_instance(name, state, tags, compute_type)

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

    def add_run(self, experiment: str, pipeline_id: str, statuses: list[str], tags: dict | None = None) -> FakeRun:
        """A run started outside the app (e.g. from the portal)."""
        run = new_run(experiment, pipeline_id, statuses, tags)
        self.runs[run.run_id] = run
        self.experiments.add(experiment)
        return run

    def requests_to(self, pattern: str, method: str | None = None) -> list[Call]:
        return [call for call in self.requests if re.search(pattern, call.url)
                and (method is None or call.method == method)]

    # ----- faults -------------------------------------------------------------------------------------------
    def fail(self, method: str, pattern: str, status: int | None = 503, times: int = 1, lost: bool = False,
             headers: dict | None = None, body: str | None = None) -> Fault:
        """Answer the next `times` matching requests with `status` (None: a dropped connection).

        With `lost=True` the service acts on the request first and only the answer is lost, as when a gateway
        times out after the backend accepted the call. `body` replaces the JSON error with raw text (a gateway's
        HTML page, say).
        """
        fault = Fault(method, re.compile(pattern), status, times, lost, dict(headers or {}), body)
        self.faults.append(fault)
        return fault

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
        """Answer every request through `rsps`; anything the routes do not know raises UnexpectedRequest."""
        history = rf"(?P<host>https://[^/]+)/history/v1\.0{_WS}/experiments/(?P<exp>[^/]+)"
        pipes = rf"{_API}/pipelines/v1\.0{_WS}"
        self._routes = [(method, re.compile(pattern, re.IGNORECASE), handler) for method, pattern, handler in [
            ("GET", rf"{LOGIN}/[^/]+/v2\.0/\.well-known/openid-configuration", self._openid),
            ("GET", rf"{LOGIN}/common/discovery/instance", self._instance_discovery),
            ("POST", rf"{LOGIN}/[^/]+/oauth2/v2\.0/token", self._token),
            ("GET", rf"{IDENTITY_ENDPOINT}(\?|$)", self._identity_token),
            ("GET", rf"{ARM}/subscriptions(\?|$)", self._subscriptions),
            ("GET", rf"{ARM}{_WS_LIST}(\?|$)", self._list_workspaces),
            ("GET", rf"{ARM}{_WS}(\?|$)", self._workspace),
            ("GET", rf"{ARM}{_WS}/computes(\?|$)", self._computes),
            ("GET", rf"{ARM}{_WS}/computes/(?P<name>[^/?]+)(\?|$)", self._compute),
            ("POST", rf"{ARM}{_WS}/computes/(?P<name>[^/?]+)/(?P<action>stop|start)(\?|$)", self._power),
            ("GET", rf"{ARM}/subscriptions/[^/]+/providers/Microsoft\.MachineLearningServices/locations/[^/]+"
                    r"/computeOperationsStatus/(?P<op>[^/?]+)(\?|$)", self._operation),
            ("GET", rf"{_API}/discovery(\?|$)", self._discovery),
            ("GET", rf"{_API}/rp/workspaces{_WS}/computes(\?|$)", self._computes),
            ("GET", rf"{_API}/rp/workspaces{_WS}/computes/(?P<name>[^/?]+)(\?|$)", self._compute),
            ("GET", rf"{pipes}/DataTypes(\?|$)", self._data_types),
            ("GET", rf"{pipes}/Pipelines/(?P<id>[^/?]+)(\?|$)", self._pipeline),
            ("GET", rf"{pipes}/PipelineEndpoints/Name(\?|$)", self._endpoint_by_name),
            ("POST", rf"{pipes}/PipelineRuns/PipelineSubmit/(?P<id>[^/?]+)(\?|$)", self._submit),
            ("POST", rf"{pipes}/PipelineRuns/PipelineEndpointSubmit/Id/(?P<id>[^/?]+)(\?|$)", self._submit_endpoint),
            ("POST", rf"{history}/runs:query(\?|$)", self._query_runs),
            ("GET", rf"{history}/runs/(?P<run>[^/?:]+)(\?|$)", self._get_run),
            ("PATCH", rf"{history}/runs/(?P<run>[^/?:]+)(\?|$)", self._patch_run),
        ]]
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"):
            rsps.add_callback(method, re.compile(r".*"), callback=self._dispatch)

    def _dispatch(self, request):
        body = _json_or_text(request.body)
        call = Call(request.method, request.url, body)
        route = next(((handler, match) for method, pattern, handler in self._routes
                      if method == request.method and (match := pattern.match(request.url))), None)
        with self.lock:
            self.requests.append(call)
            if route is None or route[1].groupdict().get("host", self.history_host) != self.history_host:
                # Run history answers only on the host discovery names (a private-link workspace has its own).
                self.unexpected.append(call)
                raise UnexpectedRequest(f"the fake Azure has no route for {request.method} {request.url}")
            fault = next((f for f in self.faults if f.applies(request.method, request.url)), None)
            if fault is not None:
                fault.times -= 1
            else:
                fault = self._chaos_fault(request.method, request.url)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if self.latency:
            time.sleep(self.latency)
        with self.lock:
            self.in_flight -= 1
            if fault is not None and not fault.lost:
                return fault.answer(request.url)
            if request.url.startswith(ARM) and "api-version" not in parse_qs(urlparse(request.url).query):
                return self._json(400, {"error": {"code": "MissingApiVersionParameter", "message":
                                        "The api-version query parameter (?api-version=) is required for all "
                                        "requests."}})
            handler, match = route
            try:
                answer = handler(request, match)
            except BindError as error:
                answer = self._json(400, error.answer())
            return fault.answer(request.url) if fault is not None else answer

    # ----- helpers ------------------------------------------------------------------------------------------
    @staticmethod
    def _json(status: int, body, headers: dict | None = None) -> tuple:
        return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body)

    @staticmethod
    def _arm_error(status: int, code: str, message: str) -> tuple:
        return FakeAzure._json(status, {"error": {"code": code, "message": message}})

    def _authorized(self, request) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header.count(".") == 2

    def _unauthorized(self) -> tuple:
        return self._arm_error(401, "InvalidAuthenticationToken", "no valid token")

    def _find_workspace(self, match) -> FakeWorkspace | None:
        return self.workspaces.get((match.group("sub").lower(), match.group("rg").lower(),
                                    match.group("ws").lower()))

    def _forbidden(self, action: str, scope: str) -> tuple:
        return self._arm_error(403, "AuthorizationFailed", f"The client '{CLIENT_ID}' with object id '55555555' "
                               f"does not have authorization to perform action '{action}' over scope '{scope}' or "
                               "the scope is invalid.")

    def _token_for(self, audience: str, client_id: str) -> dict:
        expires = int(time.time()) + 3600
        token = _jwt({"aud": audience, "tid": TENANT, "appid": client_id, "oid": "55555555", "exp": expires,
                      "iss": f"https://sts.windows.net/{TENANT}/"})
        return {"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": token,
                "expires_on": str(expires)}

    # ----- Entra ID -----------------------------------------------------------------------------------------
    def _openid(self, request, match):
        tenant = urlparse(request.url).path.split("/")[1]
        base = f"{LOGIN}/{tenant}"
        return self._json(200, {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "issuer": f"https://login.microsoftonline.com/{TENANT}/v2.0",
            "tenant_region_scope": "EU",
        })

    def _instance_discovery(self, request, match):
        return self._json(200, {"tenant_discovery_endpoint": f"{LOGIN}/common/v2.0/.well-known/openid-configuration",
                                "api-version": "1.1", "metadata": []})

    def _token(self, request, match):
        form = {k: v[0] for k, v in parse_qs(request.body if isinstance(request.body, str)
                                               else request.body.decode()).items()}
        tenant = urlparse(request.url).path.split("/")[1]
        if tenant != TENANT:
            return self._json(400, {"error": "invalid_request", "error_codes": [90002],
                                    "error_description": f"AADSTS90002: Tenant '{tenant}' not found."})
        if form.get("client_id") != CLIENT_ID:
            return self._json(400, {"error": "unauthorized_client", "error_codes": [700016],
                                    "error_description": f"AADSTS700016: Application with identifier "
                                    f"'{form.get('client_id')}' was not found in the directory."})
        if form.get("client_secret") != self.secret:
            return self._json(401, {"error": "invalid_client", "error_codes": [7000215],
                                    "error_description": "AADSTS7000215: Invalid client secret provided. "
                                    "Ensure the secret being sent in the request is the client secret value, "
                                    "not the client secret ID."})
        scope = form.get("scope", "")
        return self._json(200, self._token_for(scope.split("/.default")[0], CLIENT_ID))

    def _identity_token(self, request, match):
        query = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        if query.get("api-version") != "2019-08-01" or "resource" not in query:
            return self._json(400, {"error": "invalid_request", "error_description": "api-version and resource "
                                    "are required", "statusCode": 400})
        if request.headers.get("X-IDENTITY-HEADER") != IDENTITY_HEADER:
            return self._json(401, {"error": "unauthorized", "message": "missing X-IDENTITY-HEADER"})
        client_id = query.get("client_id", "system-assigned")
        if client_id not in ("system-assigned", CLIENT_ID):
            return self._json(400, {"error": "invalid_request", "error_description": "Identity not found",
                                    "statusCode": 400})
        return self._json(200, {**self._token_for(query["resource"], client_id), "resource": query["resource"]})

    # ----- ARM: subscriptions and workspaces ----------------------------------------------------------------
    def _subscriptions(self, request, match):
        if not self._authorized(request):
            return self._unauthorized()
        return self._json(200, {"value": [{
            "id": f"/subscriptions/{sub}", "subscriptionId": sub, "tenantId": TENANT,
            "displayName": "ML subscription", "state": "Enabled",
            "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01",
                                     "spendingLimit": "Off"},
            "authorizationSource": "RoleBased",
        } for sub in self.subscriptions]})

    def _list_workspaces(self, request, match):
        """`Workspaces_ListBySubscription` / `Workspaces_ListByResourceGroup`, paged with `nextLink`."""
        if not self._authorized(request):
            return self._unauthorized()
        sub, group = match.group("sub").lower(), (match.group("rg") or "").lower()
        scope = urlparse(request.url).path.split("/providers/")[0]
        known = {key.lower(): value for key, value in self.subscriptions.items()}
        if sub not in known:
            return self._arm_error(404, "SubscriptionNotFound", f"The subscription '{match.group('sub')}' could "
                                   "not be found.")
        if not known[sub]["readable"]:
            return self._forbidden("Microsoft.MachineLearningServices/workspaces/read", scope)
        found = sorted((ws for ws in self.workspaces.values()
                        if ws.key[0] == sub and (not group or ws.key[1] == group)), key=lambda ws: ws.key)
        if group and not found:  # the fake knows a resource group only by the workspaces in it
            return self._arm_error(404, "ResourceGroupNotFound", f"Resource group '{match.group('rg')}' could not "
                                   "be found.")
        return self._json(200, self._page(request, [ws.list_entry() for ws in found], self.workspace_page_size))

    def _page(self, request, items: list, size: int) -> dict:
        query = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        start = int(query.get("$skipToken", "0"))
        body: dict = {"value": items[start:start + size]}
        if start + size < len(items):
            body["nextLink"] = f"{request.url.split('?')[0]}?api-version={query['api-version']}" \
                               f"&$skipToken={start + size}"
        return body

    def _workspace(self, request, match):
        if not self._authorized(request):
            return self._unauthorized()
        workspace = self._find_workspace(match)
        if workspace is None:
            return self._arm_error(404, "ResourceNotFound", f"The Resource 'Microsoft.MachineLearningServices/"
                                   f"workspaces/{match.group('ws')}' under resource group '{match.group('rg')}' "
                                   "was not found.")
        if not workspace.readable:
            return self._forbidden("Microsoft.MachineLearningServices/workspaces/read", workspace.id)
        storage = f"/subscriptions/{workspace.subscription}/resourceGroups/{workspace.resource_group}/providers"
        return self._json(200, {
            "id": workspace.id, "name": workspace.name, "type": "Microsoft.MachineLearningServices/workspaces",
            "location": workspace.location, "tags": {}, "identity": {"type": "SystemAssigned"},
            "sku": {"name": "Basic", "tier": "Basic"}, "kind": workspace.kind,
            "properties": {
                "friendlyName": workspace.name, "description": "",
                "workspaceId": "66666666-6666-6666-6666-666666666666",
                "discoveryUrl": f"{self.api}/discovery", "provisioningState": "Succeeded",
                "storageAccount": f"{storage}/Microsoft.Storage/storageAccounts/stml",
                "keyVault": f"{storage}/Microsoft.KeyVault/vaults/kvml",
                "applicationInsights": f"{storage}/Microsoft.Insights/components/aiml",
                "containerRegistry": None, "hbiWorkspace": False, "publicNetworkAccess": "Enabled",
                "creationTime": "2026-01-01T00:00:00Z", "mlFlowTrackingUri": "",
            },
        })

    # ----- ARM and AML: computes ----------------------------------------------------------------------------
    def _computes(self, request, match):
        """`Compute_List`, paged with `nextLink`; each entry carries the instance's state and tags."""
        if not self._authorized(request):
            return self._unauthorized()
        workspace = self._find_workspace(match)
        if workspace is None:
            return self._arm_error(404, "ResourceNotFound", f"workspace {match.group('ws')} not found")
        if not workspace.readable:
            return self._forbidden("Microsoft.MachineLearningServices/workspaces/computes/read", workspace.id)
        names = sorted(workspace.instances)
        body = self._page(request, names, self.compute_page_size)
        page = [workspace.instances[name] for name in body["value"]]
        body["value"] = [instance.payload(workspace.id) for instance in page]
        for instance in page:
            instance.settle()
            if instance.changes_after_listing:
                instance.state, instance.changes_after_listing = instance.changes_after_listing, None
        return self._json(200, body)

    def _compute(self, request, match):
        """`Compute_Get`: one compute, as the list entry."""
        if not self._authorized(request):
            return self._unauthorized()
        workspace = self._find_workspace(match)
        instance = workspace.instances.get(match.group("name")) if workspace else None
        if instance is None:
            return self._arm_error(404, "NotFound", f"compute {match.group('name')} not found")
        payload = instance.payload(workspace.id)
        instance.settle()
        return self._json(200, payload)

    def _power(self, request, match):
        """`Compute_Stop` / `Compute_Start`: the spec documents 202 only; wrong states answer as users report."""
        if not self._authorized(request):
            return self._unauthorized()
        workspace = self._find_workspace(match)
        action = match.group("action")
        instance = workspace.instances.get(match.group("name")) if workspace else None
        if instance is None or instance.compute_type != "ComputeInstance":
            return self._arm_error(404, "NotFound", "compute instance not found")
        setattr(instance, f"{action}s", getattr(instance, f"{action}s") + 1)
        if instance.power_status == 403:
            return self._forbidden(f"Microsoft.MachineLearningServices/workspaces/computes/{action}/action",
                                   f"{workspace.id}/computes/{instance.name}")
        if instance.power_status is not None:
            return self._arm_error(instance.power_status, "InternalServerError" if instance.power_status >= 500
                                   else "BadRequest", f"the {action} operation failed")
        if instance.refusal is not None:
            return self._arm_error(400, *instance.refusal)
        needed, moving = POWER[action]
        operation = str(uuid.uuid4())
        location = (f"{ARM}/subscriptions/{workspace.subscription}/providers/Microsoft.MachineLearningServices/"
                    f"locations/{workspace.location}/computeOperationsStatus/{operation}?api-version=2024-04-01")
        if instance.state != needed:
            error = {"code": WRONG_STATE[action], "message": f"{action.capitalize()} Azure ML Compute Instance is "
                     f"only allowed when the instance {instance.name} is in '{needed.lower()}' state"}
            if self.wrong_state_answer == "400":
                return self._json(400, {"error": error})
            self.operations[operation] = {"status": "Failed", "error": error}
            return 202, {"Azure-AsyncOperation": location, "Location": location}, ""
        instance.state = moving
        self.operations[operation] = {"status": "InProgress"}
        return 202, {"Azure-AsyncOperation": location, "Location": location}, ""

    def _operation(self, request, match):
        operation = self.operations.get(match.group("op"))
        if operation is None:
            return self._arm_error(404, "NotFound", "operation not found")
        return self._json(200, {"name": match.group("op"), **operation})

    # ----- AML: discovery and pipelines ---------------------------------------------------------------------
    def _discovery(self, request, match):
        services = ("api", "catalog", "experimentation", "gallery", "hyperdrive", "labeling", "modelmanagement",
                    "pipelines")
        return self._json(200, {**{name: self.api for name in services}, "history": self.history_host,
                                "studio": "https://ml.azure.com"})

    def _submit_url(self, kind: str, entity_id: str) -> str:
        return f"{self.api}/pipelines/v1.0{self.workspace.id}/PipelineRuns/{kind}/{entity_id}"

    def _data_types(self, request, match):
        # A real workspace already holds the default data types; the SDK would POST any that were missing.
        return self._json(200, [{"Id": name, "Name": name, "Description": name, "IsDirectory": name == "AnyDirectory",
                                 "ParentDataTypeIds": []} for name in DATA_TYPES])

    def _pipeline_entity(self, pipeline_id: str) -> dict:
        pipeline = self.published[pipeline_id]
        return {"Id": pipeline_id, "Name": pipeline["name"], "Description": pipeline["name"], "Version": "1",
                "GraphId": str(uuid.uuid5(uuid.NAMESPACE_URL, pipeline_id)), "TotalRunSteps": 2,
                "EntityStatus": pipeline["status"], "Url": self._submit_url("PipelineSubmit", pipeline_id),
                "ContinueRunOnStepFailure": False, "EnableNotification": pipeline["notify"],
                "CreatedDate": "2026-01-02T00:00:00Z", "LastModifiedDate": "2026-01-02T00:00:00Z"}

    def _pipeline(self, request, match):
        if not self._authorized(request):
            return self._unauthorized()
        if match.group("id") not in self.published:
            return self._arm_error(404, "EntityNotFound", f"Pipeline {match.group('id')} not found")
        return self._json(200, self._pipeline_entity(match.group("id")))

    def _endpoint_by_name(self, request, match):
        if not self._authorized(request):
            return self._unauthorized()
        name = parse_qs(urlparse(request.url).query).get("Name", [""])[0]
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            return self._arm_error(404, "EntityNotFound", f"PipelineEndpoint {name} not found")
        return self._json(200, {
            "Id": endpoint["id"], "Name": name, "Description": "", "DefaultVersion": endpoint["default"],
            "PipelineVersionList": [{"Version": v, "PipelineId": p} for v, p in endpoint["versions"].items()],
            "Url": self._submit_url("PipelineEndpointSubmit/Id", endpoint["id"]),
            "EntityStatus": endpoint["status"], "SwaggerUrl": "", "tags": {},
        })

    def _create_run(self, request, pipeline_id: str) -> tuple:
        submission = bind(request.body, PipelineSubmissionInfo)
        if not submission.get("experiment_name"):
            return self._arm_error(400, "BadRequest", "ExperimentName is required")
        tags = submission.get("tags") or {} if self.stores_submit_tags else {}
        run = new_run(submission["experiment_name"], pipeline_id, self.run_statuses, tags,
                      submission.get("parameter_assignments"))
        run.submission = submission
        self.runs[run.run_id] = run
        self.experiments.add(run.experiment)
        # PipelineRunEntity (the SDK's model of this answer)
        return self._json(200, {"Id": run.run_id, "RunHistoryExperimentName": run.experiment,
                                "PipelineId": pipeline_id, "Status": {"StatusCode": 0}, "tags": dict(run.tags),
                                "ParameterAssignments": run.parameters})

    def _submit(self, request, match):
        if not self._authorized(request):
            return self._unauthorized()
        pipeline_id = match.group("id")
        if pipeline_id not in self.published:
            return self._arm_error(404, "EntityNotFound", "Pipeline not found")
        return self._create_run(request, pipeline_id)

    def _submit_endpoint(self, request, match):
        if not self._authorized(request):
            return self._unauthorized()
        endpoint = next((e for e in self.endpoints.values() if e["id"] == match.group("id")), None)
        if endpoint is None:
            return self._arm_error(404, "EntityNotFound", "PipelineEndpoint not found")
        return self._create_run(request, endpoint["versions"][endpoint["default"]])

    # ----- AML: run history ---------------------------------------------------------------------------------
    def _history_not_found(self, what: str) -> tuple:
        """Run history's own error (the SDK's ErrorResponse model), as it answers for a missing experiment or run."""
        return self._json(404, {"error": {"code": "UserError", "message": f"{what} not found",
                                          "innerError": {"code": "NotFound"}},
                                "correlation": {"operation": "00000000000000000000000000000000"},
                                "environment": REGION, "location": REGION, "componentName": "run-history"})

    def _run_in(self, match) -> FakeRun | None:
        run = self.runs.get(match.group("run"))
        return run if run is not None and run.experiment == unquote(match.group("exp")) else None

    def _get_run(self, request, match):
        if not self._authorized(request):
            return self._unauthorized()
        run = self._run_in(match)
        if run is None:
            return self._history_not_found(f"Run {match.group('run')}")
        dto = run.dto()
        run.reads += 1
        return self._json(200, dto)

    def _patch_run(self, request, match):
        """`PATCH .../runs/{id}` with a CreateRunDto: what `Run.set_tags` sends; tags not named stay."""
        if not self._authorized(request):
            return self._unauthorized()
        run = self._run_in(match)
        if run is None:
            return self._history_not_found(f"Run {match.group('run')}")
        patch = bind(request.body, CreateRunDto)
        run.tags.update(patch.get("tags") or {})
        return self._json(200, run.dto())

    def _query_runs(self, request, match):
        """`POST .../runs:query` with a QueryParamsDto: filter, orderby, top, continuationToken."""
        if not self._authorized(request):
            return self._unauthorized()
        experiment = unquote(match.group("exp"))
        if experiment not in self.experiments:
            return self._history_not_found(f"Experiment {experiment}")
        query = bind(request.body, QueryParamsDto)
        try:
            predicate = parse_filter(query.get("filter"))
            key, descending = parse_order(query.get("orderby"))
        except QueryError as error:
            return self._arm_error(400, "BadRequest", str(error))
        found = sorted((run.dto() for run in self.runs.values() if run.experiment == experiment),
                       key=lambda dto: dto[key], reverse=descending)
        found = [dto for dto in found if predicate(dto)]
        start = int(query.get("continuation_token") or 0)
        size = min(query.get("top") or self.runs_page_size, self.runs_page_size)
        page = found[start:start + size]
        token = str(start + size) if start + size < len(found) else None
        return self._json(200, {"value": page, "continuationToken": token})


def _json_or_text(body) -> object:
    if body is None:
        return None
    text = body.decode() if isinstance(body, bytes) else body
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return text
