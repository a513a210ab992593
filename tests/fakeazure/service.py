"""A stateful fake of the Azure services the app and the AML SDK call, answered at the `requests` layer.

Entra ID (token and managed identity endpoints), ARM (subscriptions, workspace, compute stop), the AML
discovery, compute list/get, pipelines and run history services. The real azureml-core / azureml-pipeline-core
code runs on top: `responses` intercepts every `requests` call, and anything not registered here fails, so no
test ever reaches the network. Submitted runs appear in run history and move through states as they are read;
stopped instances move to Stopping, then Stopped on the next read.
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlparse

import requests
import responses

TENANT = "11111111-1111-1111-1111-111111111111"
CLIENT_ID = "22222222-2222-2222-2222-222222222222"
CLIENT_SECRET = "fake-Secret-value-9f8e7d6c5b4a"  # noqa: S105 - the fake's own secret, asserted never to leak
SUBSCRIPTION = "33333333-3333-3333-3333-333333333333"
RESOURCE_GROUP = "rg-ml"
WORKSPACE = "ws-demo"
REGION = "westeurope"
LOGIN = "https://login.microsoftonline.com"
ARM = "https://management.azure.com"
IDENTITY_ENDPOINT = "http://127.0.0.1:41741/msi/token"
IDENTITY_HEADER = "fake-identity-header"
COMPUTE_PAGE_SIZE = 100
DATA_TYPES = ("AnyFile", "AzureBlobReference", "AzureDataLakeReference", "AzureFilesReference",
              "AzureSqlDatabaseReference", "AzurePostgresDatabaseReference", "AzureDataLakeGen2Reference",
              "AzureMLDataset", "AzureMySqlDatabaseReference", "DBFSReference", "AnyDirectory")

# What chaos injects: throttling with and without Retry-After, server errors, a dropped connection.
CHAOS_FAULTS = [(429, {"Retry-After": "2"}), (429, {}), (500, {}), (502, {}), (503, {}), (504, {}), (None, {})]
_WS_PATH = (r"/+subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
            r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/?]+)")


def app_settings() -> dict[str, str]:
    """App settings that point the app at the fake: its service principal, workspace and both schedules."""
    return {
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT_ID,
        "AZURE_CLIENT_SECRET": CLIENT_SECRET,
        "AML_SUBSCRIPTION_ID": SUBSCRIPTION,
        "AML_RESOURCE_GROUP": RESOURCE_GROUP,
        "AML_WORKSPACE_NAME": WORKSPACE,
        "RUN_PIPELINE_SCHEDULE": "0 0 3 * * *",
        "STOP_COMPUTE_SCHEDULE": "0 25 21 * * *",
    }


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _jwt(claims: dict) -> str:
    """An unsigned JWT: the SDK decodes tokens (tenant, expiry) without checking the signature."""
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


@dataclass
class FakeInstance:
    name: str
    state: str = "Running"
    tags: dict = field(default_factory=dict)
    compute_type: str = "ComputeInstance"
    stop_status: int | None = None  # answer the stop call with this status instead of acting
    stops_after_listing: bool = False  # someone else stops it right after a list call reported it
    stops: int = 0

    def payload(self, ws_id: str) -> dict:
        properties = {
            "computeType": self.compute_type,
            "computeLocation": REGION,
            "provisioningState": "Succeeded",
            "description": None,
            "createdOn": "2026-01-05T09:00:00.000Z",
            "modifiedOn": "2026-01-05T09:00:00.000Z",
            "resourceId": None,
            "provisioningErrors": None,
            "isAttachedCompute": False,
            "disableLocalAuth": True,
        }
        if self.compute_type == "ComputeInstance":
            properties["properties"] = {
                "vmSize": "STANDARD_NC6S_V3",
                "state": self.state,
                "applicationSharingPolicy": "Personal",
                "sshSettings": {"sshPublicAccess": "Disabled", "adminUserName": "azureuser", "sshPort": 50000},
                "subnet": None,
                "connectivityEndpoints": {"publicIpAddress": "20.0.0.1", "privateIpAddress": "10.0.0.4"},
                "applications": [],
                "createdBy": {"userName": "Alice", "userOrgId": TENANT, "userId": "44444444"},
                "errors": None,
                "personalComputeInstanceSettings": None,
                "lastOperation": None,
            }
        else:
            properties["properties"] = {
                "vmSize": "STANDARD_DS3_V2", "vmPriority": "Dedicated",
                "scaleSettings": {"maxNodeCount": 4, "minNodeCount": 0, "nodeIdleTimeBeforeScaleDown": "PT120S"},
                "currentNodeCount": 0, "targetNodeCount": 0, "allocationState": "Steady",
                "nodeStateCounts": {}, "errors": None, "subnet": None, "remoteLoginPortPublicAccess": "Enabled",
                "osType": "Linux", "enableNodePublicIp": True,
            }
        return {
            "id": f"{ws_id}/computes/{self.name}",
            "name": self.name,
            "type": "Microsoft.MachineLearningServices/workspaces/computes",
            "location": REGION,
            "tags": self.tags or None,
            "properties": properties,
        }


@dataclass
class Fault:
    """A transient failure the fake injects into matching requests."""

    method: str
    pattern: re.Pattern
    status: int | None
    times: int
    lost: bool
    headers: dict

    def applies(self, method: str, url: str) -> bool:
        return self.times > 0 and method == self.method and bool(self.pattern.search(url))

    def answer(self) -> tuple:
        if self.status is None:
            raise requests.ConnectionError("Connection aborted: RemoteDisconnected (injected by the fake)")
        body = {"error": {"code": "ServiceUnavailable" if self.status >= 500 else "TooManyRequests",
                          "message": f"injected transient failure {self.status}"}}
        return self.status, {"Content-Type": "application/json", **self.headers}, json.dumps(body)


@dataclass
class FakeRun:
    run_id: str
    experiment: str
    pipeline_id: str
    parameters: dict
    tags: dict
    statuses: list[str]
    created: str = field(default_factory=_now_iso)
    properties: dict = field(default_factory=dict)
    reads: int = 0

    @property
    def status(self) -> str:
        return self.statuses[min(self.reads, len(self.statuses) - 1)]

    def dto(self) -> dict:
        return {
            "runId": self.run_id, "rootRunId": self.run_id, "runNumber": 1, "experimentId": self.experiment,
            "createdUtc": self.created, "startTimeUtc": self.created, "status": self.status,
            "runType": "azureml.PipelineRun", "tags": self.tags, "properties": self.properties,
            "parentRunId": None, "name": None, "displayName": self.run_id, "hidden": False,
        }


class FakeAzure:
    """The fake services' state, plus the `responses` callbacks that serve it."""

    def __init__(self, latency: float = 0.0):
        self.latency = latency
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []
        self.secret = CLIENT_SECRET
        self.workspaces = {(SUBSCRIPTION, RESOURCE_GROUP.lower(), WORKSPACE.lower())}
        self.readable = True  # False: the identity has no role on the workspace (403)
        self.instances: dict[str, FakeInstance] = {}
        self.published: dict[str, dict] = {}
        self.endpoints: dict[str, dict] = {}
        self.runs: dict[str, FakeRun] = {}
        self.run_statuses: list[str] = ["NotStarted", "Running", "Completed"]
        self.faults: list[Fault] = []
        self._seen: dict[tuple[str, str], int] = {}

    # ----- seeding ------------------------------------------------------------------------------------------
    @property
    def ws_id(self) -> str:
        return (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}"
                f"/providers/Microsoft.MachineLearningServices/workspaces/{WORKSPACE}")

    @property
    def api(self) -> str:
        return f"https://{REGION}.api.azureml.ms"

    def add_instance(self, name: str, state: str = "Running", tags: dict | None = None,
                     compute_type: str = "ComputeInstance") -> FakeInstance:
        instance = FakeInstance(name, state, dict(tags or {}), compute_type)
        self.instances[name] = instance
        return instance

    def add_published_pipeline(self, name: str = "train", status: str = "Active",
                               pipeline_id: str | None = None) -> str:
        pipeline_id = pipeline_id or str(uuid.uuid4())
        self.published[pipeline_id] = {"name": name, "status": status}
        return pipeline_id

    def add_pipeline_endpoint(self, name: str, versions: dict[str, str], default_version: str = "0",
                              status: str = "Active") -> str:
        endpoint_id = str(uuid.uuid4())
        self.endpoints[name] = {"id": endpoint_id, "versions": versions, "default": default_version,
                                "status": status}
        return endpoint_id

    def add_run(self, experiment: str, pipeline_id: str, statuses: list[str], tags: dict | None = None) -> FakeRun:
        """A run started outside the app (e.g. from the portal)."""
        run = FakeRun(str(uuid.uuid4()), experiment, pipeline_id, {}, dict(tags or {}), list(statuses),
                      properties={"azureml.pipelineid": pipeline_id, "azureml.runsource": "azureml.PipelineRun"})
        self.runs[run.run_id] = run
        return run

    def requests_to(self, pattern: str, method: str | None = None) -> list[tuple[str, str]]:
        return [(m, u) for m, u in self.requests if re.search(pattern, u) and (method is None or m == method)]

    # ----- wiring -------------------------------------------------------------------------------------------
    def install(self, rsps: responses.RequestsMock) -> None:
        routes = [
            ("GET", rf"{LOGIN}/[^/]+/v2\.0/\.well-known/openid-configuration", self._openid),
            ("GET", rf"{LOGIN}/common/discovery/instance", self._instance_discovery),
            ("POST", rf"{LOGIN}/[^/]+/oauth2/v2\.0/token", self._token),
            ("GET", rf"{IDENTITY_ENDPOINT}", self._identity_token),
            ("GET", rf"{ARM}/subscriptions\?", self._subscriptions),
            ("GET", rf"{ARM}{_WS_PATH}\?", self._workspace),
            ("POST", rf"{ARM}{_WS_PATH}/computes/(?P<name>[^/]+)/stop", self._stop),
            ("GET", rf"{ARM}{_WS_PATH}/computes(\?|$)", self._computes),
            ("GET", rf"https://{REGION}\.api\.azureml\.ms/discovery", self._discovery),
            ("GET", rf"https://{REGION}\.api\.azureml\.ms/rp/workspaces{_WS_PATH}/computes/(?P<name>[^/?]+)",
             self._compute),
            ("GET", rf"https://{REGION}\.api\.azureml\.ms/rp/workspaces{_WS_PATH}/computes(\?|$)", self._computes),
            ("GET", rf"{self._pipes_re}/DataTypes", self._data_types),
            ("GET", rf"{self._pipes_re}/Pipelines/(?P<id>[^/?]+)", self._pipeline),
            ("GET", rf"{self._pipes_re}/PipelineEndpoints/Name", self._endpoint_by_name),
            ("POST", rf"{self._pipes_re}/PipelineRuns/PipelineSubmit/(?P<id>[^/?]+)", self._submit),
            ("POST", rf"{self._pipes_re}/PipelineRuns/PipelineEndpointSubmit/Id/(?P<id>[^/?]+)",
             self._submit_endpoint),
            ("GET", rf"{self._history_re}/experiments/(?P<exp>[^/]+)/runs/(?P<run>[^/?:]+)$", self._get_run),
            ("POST", rf"{self._history_re}/experiments/(?P<exp>[^/]+)/runs:query", self._query_runs),
        ]
        for method, pattern, handler in routes:
            rsps.add_callback(method, re.compile(pattern), callback=self._wrap(pattern, handler))

    @property
    def _pipes_re(self) -> str:
        return rf"https://{REGION}\.api\.azureml\.ms/pipelines/v1\.0{_WS_PATH}"

    @property
    def _history_re(self) -> str:
        return rf"https://{REGION}\.api\.azureml\.ms/history/v1\.0{_WS_PATH}"

    def fail(self, method: str, pattern: str, status: int | None = 503, times: int = 1, lost: bool = False,
             headers: dict | None = None) -> Fault:
        """Answer the next `times` matching requests with `status` (None: a dropped connection).

        With `lost=True` the service acts on the request first and only the answer is lost, as when a gateway
        times out after the backend accepted a submit.
        """
        fault = Fault(method, re.compile(pattern), status, times, lost, dict(headers or {}))
        self.faults.append(fault)
        return fault

    def chaos(self, rate: float, seed: int) -> None:
        """Answer about `rate` of all requests with a transient failure, chosen from `seed` and the request alone.

        Each (method, url, n-th time seen) decides for itself, so the same calls fail whatever the thread timing.
        Half the failed POSTs are lost answers: the service acted, the caller never heard.
        """
        self.chaos_rate, self.chaos_seed = rate, seed

    def _chaos_fault(self, method: str, url: str) -> Fault | None:
        if not getattr(self, "chaos_rate", 0):
            return None
        seen = self._seen[(method, url)] = self._seen.get((method, url), 0) + 1
        rng = random.Random(f"{self.chaos_seed}:{method}:{url}:{seen}")
        if rng.random() >= self.chaos_rate:
            return None
        status, headers = rng.choice(CHAOS_FAULTS)
        return Fault(method, re.compile(""), status, 0, method == "POST" and rng.random() < 0.5, headers)

    def _wrap(self, pattern: str, handler: Callable) -> Callable:
        compiled = re.compile(pattern)

        def callback(request):
            with self.lock:
                self.requests.append((request.method, request.url))
                fault = next((f for f in self.faults if f.applies(request.method, request.url)), None)
                if fault is not None:
                    fault.times -= 1
                else:
                    fault = self._chaos_fault(request.method, request.url)
            if self.latency:
                time.sleep(self.latency)
            with self.lock:
                if fault is not None and not fault.lost:
                    return fault.answer()
                answer = handler(request, compiled.search(request.url))
                return fault.answer() if fault is not None else answer
        return callback

    # ----- helpers ------------------------------------------------------------------------------------------
    @staticmethod
    def _json(status: int, body, headers: dict | None = None) -> tuple:
        return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body)

    def _authorized(self, request) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header.count(".") == 2

    def _unauthorized(self) -> tuple:
        return self._json(401, {"error": {"code": "InvalidAuthenticationToken", "message": "no valid token"}})

    def _ws_ok(self, match) -> bool:
        key = (match.group("sub"), match.group("rg").lower(), match.group("ws").lower())
        return key in self.workspaces

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
        return self._json(200, {"tenant_discovery_endpoint":
                                f"{LOGIN}/common/v2.0/.well-known/openid-configuration",
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
        if request.headers.get("X-IDENTITY-HEADER") != IDENTITY_HEADER:
            return self._json(401, {"error": "unauthorized", "message": "missing X-IDENTITY-HEADER"})
        query = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        client_id = query.get("client_id", "system-assigned")
        if client_id not in ("system-assigned", CLIENT_ID):
            return self._json(400, {"error": "invalid_request",
                                    "error_description": "Identity not found", "statusCode": 400})
        return self._json(200, {**self._token_for(query["resource"], client_id), "resource": query["resource"]})

    # ----- ARM ----------------------------------------------------------------------------------------------
    def _subscriptions(self, request, match):
        if not self._authorized(request):
            return self._unauthorized()
        return self._json(200, {"value": [{
            "id": f"/subscriptions/{SUBSCRIPTION}", "subscriptionId": SUBSCRIPTION, "tenantId": TENANT,
            "displayName": "ML subscription", "state": "Enabled",
            "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01",
                                     "spendingLimit": "Off"},
            "authorizationSource": "RoleBased",
        }]})

    def _workspace(self, request, match):
        if not self._authorized(request):
            return self._unauthorized()
        if not self._ws_ok(match):
            return self._json(404, {"error": {"code": "ResourceNotFound", "message":
                                    f"The Resource 'Microsoft.MachineLearningServices/workspaces/"
                                    f"{match.group('ws')}' under resource group '{match.group('rg')}' "
                                    "was not found."}})
        if not self.readable:
            return self._json(403, {"error": {"code": "AuthorizationFailed", "message":
                                    f"The client '{CLIENT_ID}' does not have authorization to perform action "
                                    "'Microsoft.MachineLearningServices/workspaces/read'."}})
        storage = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers"
        return self._json(200, {
            "id": self.ws_id, "name": WORKSPACE, "type": "Microsoft.MachineLearningServices/workspaces",
            "location": REGION, "tags": {}, "identity": {"type": "SystemAssigned"},
            "sku": {"name": "Basic", "tier": "Basic"},
            "properties": {
                "friendlyName": WORKSPACE, "description": "", "workspaceId": "66666666-6666-6666-6666-666666666666",
                "discoveryUrl": f"{self.api}/discovery", "provisioningState": "Succeeded",
                "storageAccount": f"{storage}/Microsoft.Storage/storageAccounts/stml",
                "keyVault": f"{storage}/Microsoft.KeyVault/vaults/kvml",
                "applicationInsights": f"{storage}/Microsoft.Insights/components/aiml",
                "containerRegistry": None, "hbiWorkspace": False, "publicNetworkAccess": "Enabled",
                "creationTime": "2026-01-01T00:00:00Z", "mlFlowTrackingUri": "",
            },
        })

    def _stop(self, request, match):
        if not self._authorized(request):
            return self._unauthorized()
        instance = self.instances.get(match.group("name"))
        if instance is None or instance.compute_type != "ComputeInstance":
            return self._json(404, {"error": {"code": "NotFound", "message": "compute instance not found"}})
        instance.stops += 1
        if instance.stop_status is not None:
            return self._json(instance.stop_status, {"error": {"code": "InternalServerError",
                                                               "message": "the stop operation failed"}})
        if instance.state != "Running":
            return self._json(409, {"error": {"code": "Conflict", "message":
                                    f"Cannot stop compute instance {instance.name} in state {instance.state}"}})
        instance.state = "Stopping"
        operation = f"{ARM}/subscriptions/{SUBSCRIPTION}/providers/Microsoft.MachineLearningServices/" \
                    f"locations/{REGION}/computeOperationsStatus/{uuid.uuid4()}"
        return 202, {"Azure-AsyncOperation": operation, "Location": operation}, ""

    # ----- AML: discovery and computes ----------------------------------------------------------------------
    def _discovery(self, request, match):
        services = ("api", "catalog", "experimentation", "gallery", "history", "hyperdrive", "labeling",
                    "modelmanagement", "pipelines")
        return self._json(200, {**{name: self.api for name in services}, "studio": "https://ml.azure.com"})

    def _settle(self, instance: FakeInstance) -> None:
        if instance.state == "Stopping" and instance.stops:
            instance.state = "Stopped"

    def _computes(self, request, match):
        if not self._authorized(request):
            return self._unauthorized()
        query = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        start = int(query.get("$skipToken", "0"))
        names = sorted(self.instances)
        page = [self.instances[name] for name in names[start:start + COMPUTE_PAGE_SIZE]]
        body = {"value": [instance.payload(self.ws_id) for instance in page]}
        for instance in page:
            self._settle(instance)
            if instance.stops_after_listing:
                instance.state = "Stopped"
        if start + COMPUTE_PAGE_SIZE < len(names):
            base = request.url.split("?")[0]
            version = query.get("api-version", "")
            body["nextLink"] = f"{base}?api-version={version}&$skipToken={start + COMPUTE_PAGE_SIZE}"
        return self._json(200, body)

    def _compute(self, request, match):
        if not self._authorized(request):
            return self._unauthorized()
        instance = self.instances.get(match.group("name"))
        if instance is None:
            return self._json(404, {"error": {"code": "NotFound", "message": "compute not found"}})
        payload = instance.payload(self.ws_id)
        self._settle(instance)
        return self._json(200, payload)

    # ----- AML: pipelines -----------------------------------------------------------------------------------
    def _submit_url(self, kind: str, entity_id: str) -> str:
        return f"{self.api}/pipelines/v1.0{self.ws_id}/PipelineRuns/{kind}/{entity_id}"

    def _data_types(self, request, match):
        # A real workspace already holds the default data types; the SDK would POST any that were missing.
        return self._json(200, [{"Id": name, "Name": name, "Description": name, "IsDirectory": name == "AnyDirectory",
                                 "ParentDataTypeIds": []} for name in DATA_TYPES])

    def _pipeline_entity(self, pipeline_id: str) -> dict:
        pipeline = self.published[pipeline_id]
        return {"Id": pipeline_id, "Name": pipeline["name"], "Description": pipeline["name"], "Version": "1",
                "GraphId": str(uuid.uuid5(uuid.NAMESPACE_URL, pipeline_id)), "TotalRunSteps": 2,
                "EntityStatus": pipeline["status"], "Url": self._submit_url("PipelineSubmit", pipeline_id),
                "ContinueRunOnStepFailure": False, "EnableNotification": False,
                "CreatedDate": "2026-01-02T00:00:00Z", "LastModifiedDate": "2026-01-02T00:00:00Z"}

    def _pipeline(self, request, match):
        if not self._authorized(request):
            return self._unauthorized()
        if match.group("id") not in self.published:
            return self._json(404, {"error": {"code": "EntityNotFound", "message":
                                    f"Pipeline {match.group('id')} not found"}})
        return self._json(200, self._pipeline_entity(match.group("id")))

    def _endpoint_by_name(self, request, match):
        if not self._authorized(request):
            return self._unauthorized()
        name = parse_qs(urlparse(request.url).query).get("Name", [""])[0]
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            return self._json(404, {"error": {"code": "EntityNotFound", "message":
                                    f"PipelineEndpoint {name} not found"}})
        return self._json(200, {
            "Id": endpoint["id"], "Name": name, "Description": "", "DefaultVersion": endpoint["default"],
            "PipelineVersionList": [{"Version": v, "PipelineId": p} for v, p in endpoint["versions"].items()],
            "Url": self._submit_url("PipelineEndpointSubmit/Id", endpoint["id"]),
            "EntityStatus": endpoint["status"], "SwaggerUrl": "", "tags": {},
        })

    def _create_run(self, request, pipeline_id: str) -> tuple:
        body = json.loads(request.body)
        run = FakeRun(str(uuid.uuid4()), body["ExperimentName"], pipeline_id,
                      dict(body.get("ParameterAssignments") or {}), dict(body.get("tags") or {}),
                      list(self.run_statuses),
                      properties={"azureml.pipelineid": pipeline_id, "azureml.runsource": "azureml.PipelineRun"})
        self.runs[run.run_id] = run
        return self._json(200, {"Id": run.run_id, "RunHistoryExperimentName": run.experiment,
                                "PipelineId": pipeline_id, "Status": {"StatusCode": 0}, "tags": run.tags,
                                "ParameterAssignments": run.parameters})

    def _submit(self, request, match):
        if not self._authorized(request):
            return self._unauthorized()
        pipeline_id = match.group("id")
        if pipeline_id not in self.published:
            return self._json(404, {"error": {"code": "EntityNotFound", "message": "Pipeline not found"}})
        return self._create_run(request, pipeline_id)

    def _submit_endpoint(self, request, match):
        if not self._authorized(request):
            return self._unauthorized()
        endpoint = next((e for e in self.endpoints.values() if e["id"] == match.group("id")), None)
        if endpoint is None:
            return self._json(404, {"error": {"code": "EntityNotFound", "message": "PipelineEndpoint not found"}})
        return self._create_run(request, endpoint["versions"][endpoint["default"]])

    # ----- AML: run history ---------------------------------------------------------------------------------
    def _get_run(self, request, match):
        if not self._authorized(request):
            return self._unauthorized()
        run = self.runs.get(match.group("run"))
        if run is None or run.experiment != match.group("exp"):
            return self._json(404, {"error": {"code": "UserError", "message": "Run not found"}})
        dto = run.dto()
        run.reads += 1
        return self._json(200, dto)

    def _query_runs(self, request, match):
        if not self._authorized(request):
            return self._unauthorized()
        query = json.loads(request.body or "{}")
        text = query.get("filter") or ""
        tags = dict(re.findall(r'Tags/(\S+) eq "([^"]*)"', text))
        props = dict(re.findall(r'Properties/(\S+) eq "([^"]*)"', text))
        status = re.search(r"Status eq (\w+)", text)
        after = re.search(r"CreatedUtc ge ([^)]+)\)", text)
        since = datetime.fromisoformat(after.group(1).replace("Z", "+00:00")) if after else None
        found = [
            run for run in self.runs.values()
            if run.experiment == match.group("exp")
            and all(run.tags.get(k) == v for k, v in tags.items())
            and all(run.properties.get(k) == v for k, v in props.items())
            and (status is None or run.status == status.group(1))
            and (since is None or datetime.fromisoformat(run.created.replace("Z", "+00:00")) >= since)
        ]
        found.sort(key=lambda run: run.created, reverse=True)
        return self._json(200, {"value": [run.dto() for run in found], "continuationToken": None,
                                "nextLink": None})
