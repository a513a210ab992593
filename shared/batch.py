"""Invoke a job's batch endpoint deployment (Azure ML v2) exactly once per tick, over REST alone: no `azureml`.

The wire, call by call, as its source writes it:
- the endpoint: ARM `BatchEndpoints_Get` (azure-rest-api-specs, Microsoft.MachineLearningServices stable/2024-04-01,
  examples/Workspace/BatchEndpoint/get.json): `properties.scoringUri`, `properties.defaults.deploymentName`,
  `properties.provisioningState` (EndpointProvisioningState; only `Succeeded` takes jobs);
- a named deployment: ARM `BatchDeployments_Get` (examples/Workspace/BatchDeployment/get.json):
  `properties.provisioningState`;
- the invoke, as azure-ai-ml's `BatchEndpointOperations.invoke` sends it: `POST {scoringUri}` with
  `BatchJobResource(properties=BatchJob(...)).serialize()` (its `_restclient/v2020_09_01_dataplanepreview` models:
  `name`, `inputData` of `LiteralJobInput` {jobInputType: Literal, value: string}, `properties` {experimentName}),
  a token for the cloud's Azure ML audience (`https://ml.azure.com`, not ARM's) and the headers of its
  `EndpointInvokeFields`: Content-Type, Authorization, `repeatability_request-id`, `azureml-model-deployment` when a
  deployment is named; the answer is the job resource (`name`, `properties.status`);
- a job: ARM `Jobs_Get` (examples/Job/PipelineJob/get.json): `properties.status`, a JobStatus.

Tags cannot be set at invoke time (azure-sdk-for-python #42156), so a tick's identity is its job's name, made from
the job and the tick. Whether the service keeps the name it is sent is not promised: the answer is checked.
`BatchTarget` is this service's adapter to the one submit path (shared.submission).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from shared.arm import API_VERSION, ArmClient
from shared.armids import WorkspaceRef
from shared.clock import as_utc
from shared.clouds import Cloud
from shared.hostconfig import Deadline
from shared.identity import AzureSettings
from shared.jobs import Job
from shared.occurrences import Occurrences
from shared.retry import Allowance, with_retries
from shared.submission import ACTIVE_SCAN_LIMIT, PipelineError, Run, Submitted, is_active, named, studio_url
from shared.targets import BATCH_ENDPOINT, DEPLOYMENT_KEY, DEPLOYMENT_SETTING
from shared.tick import Tick
from shared.tokens import TokenSource, signed_in
from shared.transport import Answer, HttpError, send

# azure-ai-ml `constants/_endpoint.py`, EndpointInvokeFields.
REPEATABILITY_HEADER = "repeatability_request-id"
DEPLOYMENT_HEADER = "azureml-model-deployment"
PROVISIONED = "Succeeded"  # the provisioning state of an endpoint or deployment that takes jobs
INVOKE_TIMEOUT = (10.0, 60.0)


@dataclass(frozen=True)
class BatchWorkspace:
    """What the v2 path needs of the workspace: ARM, the identity's tokens, the workspace and its cloud."""

    arm: ArmClient
    tokens: TokenSource
    ref: WorkspaceRef
    cloud: Cloud

    @property
    def name(self) -> str:
        return self.ref.name

    def url(self, below: str) -> str:
        return self.ref.url(self.cloud.resource_manager, below, API_VERSION)

    def studio(self, job_name: str) -> str:
        return studio_url(self.cloud, self.ref, job_name)


@contextmanager
def connect(settings: AzureSettings, deadline: Deadline) -> Iterator[BatchWorkspace]:
    """The identity signed in (ARM first: a bad identity fails before any call), and the workspace of AML_*."""
    with signed_in(settings, deadline) as tokens:
        yield BatchWorkspace(ArmClient(settings.endpoints.resource_manager, tokens, deadline), tokens,
                             settings.workspace, settings.endpoints)


@dataclass(frozen=True)
class Endpoint:
    """A batch endpoint ready for jobs: where it is invoked, and the deployment that runs them."""

    name: str
    scoring_uri: str
    deployment: str
    named: bool  # the job names the deployment (sent as azureml-model-deployment); else the endpoint's default


def job_name(job: Job, moment: datetime) -> str:
    """The name of the job's run for an occurrence, e.g. nightly-train-20261202T020000Z (a valid job name: letters,
    digits, '-'; the same for every attempt at the occurrence, from any instance of the app)."""
    return f"{job.name or job.target.value}-{as_utc(moment):%Y%m%dT%H%M%SZ}"


def _unreadable(subject: str, missing: str, error: HttpError, hint: str) -> PipelineError:
    """`subject` could not be read: missing (404, with `hint`), forbidden (401/403), or the service's answer."""
    if error.status == 404:
        return PipelineError(f"{subject}: {missing} ({error.said}): {hint}")
    if error.status in (401, 403):
        return PipelineError(f"{subject}: the identity may not read it ({error.said}): grant the role of "
                             "docs/least-privilege.md on the workspace")
    return PipelineError(f"{subject}: could not be read ({error.said})")


def _properties(answer: Answer) -> dict:
    properties = answer.object().get("properties", {})
    if not isinstance(properties, dict):
        raise answer.bad("properties is not an object")
    return properties


def status_of(answer: Answer) -> str | None:
    status = _properties(answer).get("status")
    return status if isinstance(status, str) else None


def resolve(ws: BatchWorkspace, job: Job, allowance: Allowance) -> Endpoint:
    """The endpoint and the deployment to invoke; fails naming them for one that is missing or not provisioned."""
    name, deployment = job.target.value, job.target.deployment
    setting = named(job, BATCH_ENDPOINT.setting, BATCH_ENDPOINT.key)

    def get(what: str, below: str) -> Answer:
        return ws.arm.call(what, "GET", ws.url(below), allowance)

    try:
        answer = get("get_batch_endpoint", f"batchEndpoints/{name}")
    except HttpError as error:
        if error.retryable:
            raise
        raise _unreadable(f"{setting}={name}", f"no batch endpoint with this name in workspace {ws.name}", error,
                          "check the name in the studio's Endpoints > Batch endpoints page, and "
                          "AML_SUBSCRIPTION_ID, AML_RESOURCE_GROUP and AML_WORKSPACE_NAME") from None
    properties = _properties(answer)
    state, scoring = properties.get("provisioningState"), properties.get("scoringUri")
    if state != PROVISIONED:
        raise PipelineError(f"batch endpoint {name} is {state or 'not provisioned'} (provisioningState), not "
                            f"{PROVISIONED}: it takes no jobs until it is; see its page in the studio")
    if not isinstance(scoring, str) or not scoring:
        raise PipelineError(f"batch endpoint {name} has no scoringUri yet: it takes no jobs until it has one")
    if deployment is None:
        default = (properties.get("defaults") or {}).get("deploymentName")
        if not isinstance(default, str) or not default:
            raise PipelineError(f"batch endpoint {name} has no default deployment: make one its default (az ml "
                                f"batch-endpoint update --name {name} --set defaults.deployment_name=<deployment>)"
                                f", or name the deployment in {named(job, DEPLOYMENT_SETTING, DEPLOYMENT_KEY)}")
        return Endpoint(name, scoring, default, False)
    try:
        answer = get("get_batch_deployment", f"batchEndpoints/{name}/deployments/{deployment}")
    except HttpError as error:
        if error.retryable:
            raise
        raise _unreadable(f"{named(job, DEPLOYMENT_SETTING, DEPLOYMENT_KEY)}={deployment}",
                          f"batch endpoint {name} has no deployment with this name", error,
                          "check the endpoint's Deployments in the studio") from None
    state = _properties(answer).get("provisioningState")
    if state != PROVISIONED:
        raise PipelineError(f"deployment {deployment} of batch endpoint {name} is {state or 'not provisioned'} "
                            f"(provisioningState), not {PROVISIONED}: it takes no jobs until it is")
    return Endpoint(name, scoring, deployment, True)


class BatchTarget:
    """A batch endpoint's deployment, resolved for one job (shared.submission): its runs are jobs named after the
    job's occurrences."""

    def __init__(self, ws: BatchWorkspace, job: Job, occurrences: Occurrences, allowance: Allowance,
                 endpoint: Endpoint):
        self.ws, self.job, self.occurrences, self.allowance = ws, job, occurrences, allowance
        self.endpoint = endpoint
        self.fields = {BATCH_ENDPOINT.key: endpoint.name, "deployment": endpoint.deployment}

    def _get(self, what: str, below: str) -> Answer:
        return self.ws.arm.call(what, "GET", self.ws.url(below), self.allowance)

    def _job(self, name: str) -> Run | None:
        """The job of this name, or None when the workspace has none."""
        try:
            answer = self._get("get_job", f"jobs/{name}")
        except HttpError as error:
            if error.status == 404 and error.structured:  # ARM's own "not found": no such job
                return None
            if error.retryable:
                raise
            raise _unreadable(f"job {name} of workspace {self.ws.name}", "", error, "") from None
        kept = answer.field(answer.object(), "name", str)  # a job resource always names itself (Jobs_Get)
        return Run(kept, status_of(answer), self.ws.studio(kept))

    def tick_run(self, tick: Tick) -> Run | None:
        return self._job(job_name(self.job, tick.scheduled))

    def active_run(self, tick: Tick) -> Run | None:
        """The job's run of its latest earlier occurrence that has one, if that run has not ended. Occurrences whose
        tick submitted nothing (skipped, disabled, the app down) are looked past, ACTIVE_SCAN_LIMIT at most."""
        moment: datetime | None = tick.scheduled
        for _ in range(ACTIVE_SCAN_LIMIT):
            moment = self.occurrences.previous(moment)
            if moment is None:
                return None
            found = self._job(job_name(self.job, moment))
            if found is not None:
                return found if is_active(found.status) else None
        return None

    def submit(self, tick: Tick, parameters: dict[str, str]) -> Submitted:
        """POST the invoke; retries reuse its name and repeatability id, and look for the job first. How the service
        answers a name it already has is not documented: after any refusal, the job of that name tells."""
        name = job_name(self.job, tick.scheduled)
        body = invoke_body(self.job, name, parameters)
        request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.ws.ref.key}/jobs/{name}"))
        endpoint, attempts = self.endpoint, 0

        def attempt() -> tuple[Run, str]:
            nonlocal attempts
            attempts += 1
            if attempts > 1 and (earlier := self._job(name)) is not None:
                return earlier, "recovered"
            headers = {**self.ws.tokens.header(self.ws.cloud.ml_audience, self.allowance.deadline),
                       "Content-Type": "application/json", REPEATABILITY_HEADER: request_id}
            if endpoint.named:
                headers[DEPLOYMENT_HEADER] = endpoint.deployment
            try:
                answer = send("invoke_batch_endpoint", "POST", endpoint.scoring_uri, headers, json=body,
                              deadline=self.allowance.deadline, timeout=INVOKE_TIMEOUT)
            except HttpError as error:
                if error.retryable:
                    raise
                found = self._job(name)
                if found is not None:
                    return found, "recovered" if attempts > 1 else "concurrent"
                hint = ("; the identity may not invoke it: grant the role of docs/least-privilege.md on the workspace"
                        if error.status in (401, 403) else "")
                raise PipelineError(f"invoke failed: batch_endpoint={endpoint.name} deployment={endpoint.deployment} "
                                    f"job_name={name} status={error.status}: {error.said}{hint}") from None
            found = answer.object().get("name")
            kept = found if isinstance(found, str) and found else name
            return Run(kept, status_of(answer), self.ws.studio(kept)), "submitted"

        run, how = with_retries(self.allowance, "invoke_batch_endpoint", attempt)
        renamed = {} if run.id == name else {"reason": "name_not_kept", "requested_name": name}
        return Submitted(run, how, renamed)

    def status(self, run_id: str) -> str | None:
        found = self._job(run_id)
        return found.status if found else None

    def run(self, run_id: str) -> Run | None:
        return self._job(run_id)

    def adopt(self, tick: Tick, since: datetime) -> Run | None:
        return None  # a tick's job is named after it: `tick_run` finds what a crashed holder invoked


def invoke_body(job: Job, name: str, parameters: dict[str, str]) -> dict:
    """`BatchJobResource(properties=BatchJob(name=..., input_data={...: LiteralJobInput(value=...)},
    properties={"experimentName": ...})).serialize()`, as azure-ai-ml builds it for `invoke(job_name=...,
    experiment_name=..., inputs=...)` with literal inputs."""
    return {"properties": {
        "name": name,
        "inputData": {key: {"jobInputType": "Literal", "value": value} for key, value in parameters.items()},
        "properties": {"experimentName": job.experiment},
    }}
