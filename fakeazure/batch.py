"""Batch endpoints (Azure ML v2) as the fake answers them: the endpoints and deployments ARM shows, the jobs ARM
reads, and the invoke on each endpoint's scoring host (`https://{endpoint}.{region}.inference.ml.azure.com/jobs`).

ARM's answers follow azure-rest-api-specs (Microsoft.MachineLearningServices stable/2024-04-01, examples
Workspace/BatchEndpoint/get.json, Workspace/BatchDeployment/get.json, Job/PipelineJob/get.json). The invoke takes a
token for the Azure ML audience only (`https://ml.azure.com`), binds its body to azure-ai-ml's `BatchJobResource`
(fakeazure.batch_models: keys case-insensitive, a wrong type or a missing required field a 400), routes to the
deployment `azureml-model-deployment` names or to the endpoint's default, and creates a job that moves through
`batch_job_statuses` as it is read. What the service does with a job name it already has is not documented: the
fake answers `duplicate_name_status` (409 by default), unless the request repeats the original's
`repeatability_request-id` and `honours_repeatability` (the Repeatable Requests convention) is on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from fakeazure.batch_models import BatchJobResource
from fakeazure.contract import bind
from fakeazure.state import REGION, now_iso
from fakeazure.wire import ARM, WS, Route, arm_error, json_answer

ML_AUDIENCES = frozenset({"https://ml.azure.com"})
# The JobStatus values (azure-ai-ml dataplane models, BatchJob.status).
JOB_STATUSES = ("NotStarted", "Starting", "Provisioning", "Preparing", "Queued", "Running", "Finalizing",
                "CancelRequested", "Completed", "Failed", "Canceled", "NotResponding", "Paused", "Unknown")


@dataclass
class FakeBatchEndpoint:
    """A batch endpoint of the default workspace: its deployments (name -> provisioning state) and default one;
    `inputs`, when set, are the only literal inputs its pipeline component declares."""

    name: str
    deployments: dict[str, str]
    default: str | None
    state: str = "Succeeded"
    inputs: frozenset[str] | None = None

    @property
    def scoring_uri(self) -> str:
        return f"https://{self.name}.{REGION}.inference.ml.azure.com/jobs"


@dataclass
class FakeBatchJob:
    name: str
    endpoint: str
    deployment: str
    experiment: str
    inputs: dict[str, str]
    statuses: list[str]
    request_id: str | None = None
    created: str = field(default_factory=now_iso)
    reads: int = 0
    submission: dict = field(default_factory=dict)  # the bound invoke body (BatchJobResource)

    def __post_init__(self) -> None:
        unknown = [status for status in self.statuses if status not in JOB_STATUSES]
        if unknown:
            raise ValueError(f"{unknown} are not JobStatus values: {JOB_STATUSES}")

    @property
    def status(self) -> str:
        return self.statuses[min(self.reads, len(self.statuses) - 1)]

    def resource(self, workspace_id: str) -> dict:
        """The job as ARM's Jobs_Get answers it (a pipeline job), and as the invoke answers it (BatchJobResource)."""
        return {
            "id": f"{workspace_id}/jobs/{self.name}", "name": self.name,
            "type": "Microsoft.MachineLearningServices/workspaces/jobs",
            "properties": {
                "jobType": "Pipeline", "status": self.status, "experimentName": self.experiment,
                "displayName": self.name, "properties": {"azureml.batchrun": "true"},
                "inputs": {key: {"jobInputType": "literal", "value": value} for key, value in self.inputs.items()},
                "services": {"Studio": {"jobServiceType": "Studio", "endpoint": f"https://ml.azure.com/runs/{self.name}"
                                        f"?wsid={workspace_id}&tid=11111111-1111-1111-1111-111111111111"}},
            },
            "systemData": {"createdAt": self.created, "createdByType": "Application"},
        }


class BatchEndpoints:
    """Batch endpoints, their deployments and jobs, in the fake's default workspace."""

    def __init__(self, fake):
        self.fake = fake

    def routes(self) -> list[Route]:
        return [
            Route("GET", rf"{ARM}{WS}/batchEndpoints/(?P<name>[^/?]+)(\?|$)", self._endpoint),
            Route("GET", rf"{ARM}{WS}/batchEndpoints/(?P<name>[^/?]+)/deployments/(?P<deployment>[^/?]+)(\?|$)",
                  self._deployment),
            Route("GET", rf"{ARM}{WS}/jobs/(?P<job>[^/?]+)(\?|$)", self._job),
            Route("POST", r"https://(?P<name>[^./]+)\.(?P<region>[^./]+)\.inference\.ml\.azure\.com/jobs/?(\?|$)",
                  self._invoke, ML_AUDIENCES),
        ]

    def _in_default_workspace(self, match) -> bool:
        ws = self.fake.workspace
        return (match.group("sub").lower(), match.group("rg").lower(), match.group("ws").lower()) == ws.key

    def _missing(self, what: str):
        return arm_error(404, "ResourceNotFound", f"{what} could not be found.")

    def _endpoint(self, request, match):
        endpoint = self.fake.batch_endpoints.get(match.group("name")) if self._in_default_workspace(match) else None
        if endpoint is None:
            return self._missing(f"Batch endpoint {match.group('name')}")
        return json_answer(200, {
            "id": f"{self.fake.workspace.id}/batchEndpoints/{endpoint.name}", "name": endpoint.name,
            "type": "Microsoft.MachineLearningServices/workspaces/batchEndpoints", "location": REGION,
            "properties": {"authMode": "AADToken", "scoringUri": endpoint.scoring_uri,
                           "swaggerUri": f"{endpoint.scoring_uri.removesuffix('/jobs')}/swagger.json",
                           "provisioningState": endpoint.state,
                           "defaults": {"deploymentName": endpoint.default} if endpoint.default else {}},
        })

    def _deployment(self, request, match):
        endpoint = self.fake.batch_endpoints.get(match.group("name")) if self._in_default_workspace(match) else None
        state = endpoint.deployments.get(match.group("deployment")) if endpoint else None
        if state is None:
            return self._missing(f"Batch deployment {match.group('deployment')}")
        return json_answer(200, {
            "id": f"{self.fake.workspace.id}/batchEndpoints/{endpoint.name}/deployments/{match.group('deployment')}",
            "name": match.group("deployment"), "location": REGION,
            "type": "Microsoft.MachineLearningServices/workspaces/batchEndpoints/deployments",
            "properties": {"provisioningState": state, "compute": "cpu-cluster"},
        })

    def _job(self, request, match):
        job = self.fake.batch_jobs.get(match.group("job")) if self._in_default_workspace(match) else None
        if job is None:
            return self._missing(f"Job {match.group('job')}")
        resource = job.resource(self.fake.workspace.id)
        job.reads += 1
        return json_answer(200, resource)

    def _invoke(self, request, match):
        endpoint = self.fake.batch_endpoints.get(match.group("name"))
        if endpoint is None or match.group("region") != REGION:
            return 404, {"Content-Type": "text/plain"}, "Not Found"
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return arm_error(415, "UnsupportedMediaType", "Content-Type must be application/json")
        deployment = request.headers.get("azureml-model-deployment") or endpoint.default
        if deployment not in endpoint.deployments:
            return arm_error(404, "UserError", f"Deployment {deployment} not found on endpoint {endpoint.name}")
        body = bind(request.body, BatchJobResource)
        job_spec = body["properties"]
        inputs = job_spec.get("input_data") or {}
        if endpoint.inputs is not None and set(inputs) - endpoint.inputs:
            return arm_error(400, "UserError", f"Inputs {sorted(set(inputs) - endpoint.inputs)} are not inputs of the "
                             f"pipeline component of deployment {deployment}")
        request_id = request.headers.get("repeatability_request-id")
        name = job_spec.get("name") if self.fake.batch_keeps_names else None
        name = name or f"batchjob-{uuid.uuid4()}"
        existing = self.fake.batch_jobs.get(name)
        if existing is not None:
            if self.fake.honours_repeatability and request_id and request_id == existing.request_id:
                return json_answer(200, existing.resource(self.fake.workspace.id), {"Repeatability-Result": "accepted"})
            return arm_error(self.fake.duplicate_name_status, "UserError", f"A job with name {name} already exists.")
        experiment = (job_spec.get("properties") or {}).get("experimentName") or endpoint.name
        job = FakeBatchJob(name, endpoint.name, deployment, experiment,
                           {key: item.get("value") for key, item in inputs.items()}, list(self.fake.batch_job_statuses),
                           request_id, submission=body)
        self.fake.batch_jobs[name] = job
        return json_answer(200, job.resource(self.fake.workspace.id))
