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
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import requests

from shared.arm import API_VERSION, ArmClient, service_error
from shared.clock import as_utc
from shared.clouds import Cloud
from shared.jobs import Job
from shared.logfmt import kv, shorten
from shared.occurrences import Occurrences
from shared.parameters import effective
from shared.retry import RetryBudget, request_once, with_retries
from shared.settings import AzureSettings
from shared.submission import Outcome, PipelineError, job_fields, named, studio_url, tick_times, waiter
from shared.targets import BATCH_ENDPOINT, DEPLOYMENT_KEY, DEPLOYMENT_SETTING
from shared.tick import Tick
from shared.tokens import TokenSource, signed_in

log = logging.getLogger(__name__)

# azure-ai-ml `constants/_endpoint.py`, EndpointInvokeFields.
REPEATABILITY_HEADER = "repeatability_request-id"
DEPLOYMENT_HEADER = "azureml-model-deployment"
SUCCEEDED = "Succeeded"  # the provisioning state of an endpoint or deployment that takes jobs
COMPLETED = "Completed"
ENDED = frozenset({COMPLETED, "Failed", "Canceled"})  # of the JobStatus values, the ones a job does not leave
# skip_if_active looks for a job of the job's previous occurrences, newest first: at most this many GETs.
ACTIVE_SCAN_LIMIT = 5
INVOKE_TIMEOUT = (10, 60)


@dataclass(frozen=True)
class BatchWorkspace:
    """What the v2 path needs of the workspace: ARM, the identity's tokens, the workspace's name and its cloud."""

    arm: ArmClient
    tokens: TokenSource
    subscription: str
    resource_group: str
    name: str
    cloud: Cloud

    @property
    def url(self) -> str:
        return (f"{self.cloud.resource_manager}/subscriptions/{self.subscription}/resourceGroups/"
                f"{self.resource_group}/providers/Microsoft.MachineLearningServices/workspaces/{self.name}")

    def studio(self, job_name: str) -> str:
        return studio_url(self.cloud, self.subscription, self.resource_group, self.name, job_name)


@contextmanager
def connect(settings: AzureSettings, budget: RetryBudget) -> Iterator[BatchWorkspace]:
    """The identity signed in (ARM first: a bad identity fails before any call), and the workspace of AML_*."""
    with signed_in(settings, budget) as tokens:
        yield BatchWorkspace(ArmClient(settings.endpoints.resource_manager, tokens, budget), tokens,
                             settings.subscription_id, settings.resource_group, settings.workspace_name,
                             settings.endpoints)


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


def _get(ws: BatchWorkspace, what: str, path: str) -> requests.Response:
    return ws.arm.call(what, "GET", f"{ws.url}/{path}?api-version={API_VERSION}")


def _unreadable(subject: str, missing: str, response: requests.Response, hint: str) -> PipelineError:
    """`subject` could not be read: missing (404, with `hint`), forbidden (403), or the service's answer."""
    error = service_error(response)
    if response.status_code == 404:
        return PipelineError(f"{subject}: {missing} ({error}): {hint}")
    if response.status_code in (401, 403):
        return PipelineError(f"{subject}: the identity may not read it ({error}): grant the role of "
                             "docs/least-privilege.md on the workspace")
    return PipelineError(f"{subject}: could not be read ({error})")


def resolve(ws: BatchWorkspace, job: Job) -> Endpoint:
    """The endpoint and the deployment to invoke; fails naming them for one that is missing or not provisioned."""
    name, deployment = job.target.value, job.target.deployment
    setting = named(job, BATCH_ENDPOINT.setting, BATCH_ENDPOINT.key)
    response = _get(ws, "get_batch_endpoint", f"batchEndpoints/{name}")
    if response.status_code != 200:
        raise _unreadable(f"{setting}={name}", f"no batch endpoint with this name in workspace {ws.name}", response,
                          "check the name in the studio's Endpoints > Batch endpoints page, and AML_SUBSCRIPTION_ID, "
                          "AML_RESOURCE_GROUP and AML_WORKSPACE_NAME")
    properties = response.json().get("properties") or {}
    state = properties.get("provisioningState")
    if state != SUCCEEDED:
        raise PipelineError(f"batch endpoint {name} is {state or 'not provisioned'} (provisioningState), not "
                            f"{SUCCEEDED}: it takes no jobs until it is; see its page in the studio")
    if not properties.get("scoringUri"):
        raise PipelineError(f"batch endpoint {name} has no scoringUri yet: it takes no jobs until it has one")
    if deployment is None:
        default = (properties.get("defaults") or {}).get("deploymentName")
        if not default:
            raise PipelineError(f"batch endpoint {name} has no default deployment: make one its default (az ml "
                                f"batch-endpoint update --name {name} --set defaults.deployment_name=<deployment>), "
                                f"or name the deployment in {named(job, DEPLOYMENT_SETTING, DEPLOYMENT_KEY)}")
        return Endpoint(name, properties["scoringUri"], default, False)
    response = _get(ws, "get_batch_deployment", f"batchEndpoints/{name}/deployments/{deployment}")
    if response.status_code != 200:
        raise _unreadable(f"{named(job, DEPLOYMENT_SETTING, DEPLOYMENT_KEY)}={deployment}",
                          f"batch endpoint {name} has no deployment with this name", response,
                          "check the endpoint's Deployments in the studio")
    state = (response.json().get("properties") or {}).get("provisioningState")
    if state != SUCCEEDED:
        raise PipelineError(f"deployment {deployment} of batch endpoint {name} is {state or 'not provisioned'} "
                            f"(provisioningState), not {SUCCEEDED}: it takes no jobs until it is")
    return Endpoint(name, properties["scoringUri"], deployment, True)


def get_job(ws: BatchWorkspace, name: str) -> dict | None:
    """The job of this name, or None when the workspace has none."""
    response = _get(ws, "get_job", f"jobs/{name}")
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise _unreadable(f"job {name} of workspace {ws.name}", "", response, "")
    return response.json()


def status_of(resource: dict) -> str | None:
    return (resource.get("properties") or {}).get("status")


def find_active(ws: BatchWorkspace, job: Job, occurrences: Occurrences, tick: Tick) -> dict | None:
    """The job's run of its latest earlier occurrence that has one, if that run has not ended. Occurrences whose
    tick submitted nothing (skipped, disabled, the app down) are looked past, ACTIVE_SCAN_LIMIT at most."""
    moment: datetime | None = tick.scheduled
    for _ in range(ACTIVE_SCAN_LIMIT):
        moment = occurrences.previous(moment)
        if moment is None:
            return None
        found = get_job(ws, job_name(job, moment))
        if found is not None:
            return found if status_of(found) not in ENDED else None
    return None


def invoke_body(job: Job, name: str, parameters: dict[str, str]) -> dict:
    """`BatchJobResource(properties=BatchJob(name=..., input_data={...: LiteralJobInput(value=...)},
    properties={"experimentName": ...})).serialize()`, as azure-ai-ml builds it for `invoke(job_name=...,
    experiment_name=..., inputs=...)` with literal inputs."""
    return {"properties": {
        "name": name,
        "inputData": {key: {"jobInputType": "Literal", "value": value} for key, value in parameters.items()},
        "properties": {"experimentName": job.experiment},
    }}


def invoke_once(ws: BatchWorkspace, endpoint: Endpoint, body: dict, budget: RetryBudget) -> tuple[dict, str]:
    """POST the invoke; retries reuse its name and repeatability id, and look for the job first.

    Returns (the job resource, `invoked`; `recovered` when an earlier attempt's job was found; `concurrent` when a
    refused first attempt found the job another invocation had just created).
    """
    name = body["properties"]["name"]
    request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ws.url.lower()}/jobs/{name}"))
    attempts = 0

    def attempt() -> tuple[dict, str]:
        nonlocal attempts
        attempts += 1
        if attempts > 1:
            earlier = get_job(ws, name)
            if earlier is not None:
                return earlier, "recovered"
        headers = {**ws.tokens.header(ws.cloud.ml_audience), "Content-Type": "application/json",
                   REPEATABILITY_HEADER: request_id}
        if endpoint.named:
            headers[DEPLOYMENT_HEADER] = endpoint.deployment
        response = request_once("invoke_batch_endpoint", "POST", endpoint.scoring_uri, headers, json=body,
                                timeout=INVOKE_TIMEOUT)
        if response.status_code in (200, 201):
            return response.json(), "invoked"
        # How the service answers a name it already has is not documented: the job of that name tells.
        found = get_job(ws, name)
        if found is not None:
            return found, "recovered" if attempts > 1 else "concurrent"
        hint = ("; the identity may not invoke it: grant the role of docs/least-privilege.md on the workspace"
                if response.status_code in (401, 403) else "")
        raise PipelineError(f"invoke failed: batch_endpoint={endpoint.name} deployment={endpoint.deployment} "
                            f"job_name={name} status={response.status_code}: {shorten(response.text, 500)}{hint}")

    return with_retries(budget, "invoke_batch_endpoint", attempt)


def submit_batch_job(ws: BatchWorkspace, job: Job, occurrences: Occurrences, tick: Tick,
                     budget: RetryBudget) -> Outcome:
    """One batch endpoint job's part of a tick: resolve, find the tick's job, maybe skip, invoke once; the
    outcome's waiter waits when the job says to."""
    endpoint = resolve(ws, job)
    name = job_name(job, tick.scheduled)
    fields = {**job_fields(job), BATCH_ENDPOINT.key: endpoint.name, "deployment": endpoint.deployment,
              "experiment": job.experiment, "tick": tick.id}
    earlier = get_job(ws, name)
    if earlier is not None:
        log.info(kv("pipeline", action="already_submitted", **fields, job_name=name, status=status_of(earlier),
                    portal_url=ws.studio(name)))
        return Outcome("already_submitted", name, status_of(earlier), ws.studio(name))
    if job.skip_if_active:
        active = find_active(ws, job, occurrences, tick)
        if active is not None:
            found = active.get("name")
            log.info(kv("pipeline", action="skipped_active", **fields, job_name=found, status=status_of(active),
                        portal_url=ws.studio(found)))
            return Outcome("skipped_active", found, status_of(active), ws.studio(found))
    parameters = effective(job.parameters, tick_times(occurrences, tick))  # strings: LiteralJobInput.value
    answer, how = invoke_once(ws, endpoint, invoke_body(job, name, parameters), budget)
    kept = answer.get("name") or name
    action = "already_submitted" if how == "concurrent" else "submitted"
    level = logging.INFO if kept == name else logging.WARNING
    log.log(level, kv("pipeline", action=action, **fields, job_name=kept, status=status_of(answer),
                      recovered=how == "recovered", parameters=json.dumps(parameters, separators=(",", ":")),
                      **({} if kept == name else {"reason": "name_not_kept", "requested_name": name}),
                      portal_url=ws.studio(kept)))
    if job.wait_minutes <= 0 or action != "submitted":
        return Outcome(action, kept, status_of(answer), ws.studio(kept))
    return Outcome("submitted", kept, status_of(answer), ws.studio(kept), waiter(
        job, f"job {kept}", lambda: status_of(get_job(ws, kept) or {}), lambda status: status in ENDED, COMPLETED,
        ws.studio(kept), log, {**fields, "job_name": kept}))
