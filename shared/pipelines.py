"""Submit a published pipeline (or a pipeline endpoint's default version) exactly once per tick.

The SDK resolves the pipeline. The submit is the documented REST call (`PublishedPipeline.endpoint` /
`PipelineEndpoint.endpoint`), because the SDK's `submit()` cannot tag the run and never retries: tags are how a
portal user, and the next attempt at the same tick, recognise a run this app started. Run history is read over
REST on the same service host, so its retries are the app's own (the SDK waits a fixed 32 s on a 429 there).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from urllib.parse import quote, urlparse

from azureml.pipeline.core import PipelineEndpoint, PublishedPipeline

from shared.logfmt import kv
from shared.retry import RetryBudget, classify, request_once, send, with_retries
from shared.settings import PipelineSettings
from shared.tick import Tick
from shared.workspace import Connection

log = logging.getLogger(__name__)

APP_TAG = "aml-timer-functions"
TAG_STARTED_BY = "started_by"
TAG_TICK = "schedule_tick"
ACTIVE_STATES = frozenset(
    {"NotStarted", "Queued", "Preparing", "Provisioning", "Starting", "Running", "Finalizing", "CancelRequested"}
)
SUCCESS_STATES = frozenset({"Completed", "Finished"})
# RUN_PIPELINE_SKIP_IF_ACTIVE looks at this many of the pipeline's most recent runs (newest first): one page.
ACTIVE_SCAN_LIMIT = 100
POLL_SECONDS = 30.0
STUDIO = {"AzureCloud": "https://ml.azure.com", "AzureChinaCloud": "https://studio.ml.azure.cn",
          "AzureUSGovernment": "https://ml.azure.us"}


class PipelineError(RuntimeError):
    """The pipeline could not be resolved, submitted or did not succeed; the message says which and why."""


@dataclass(frozen=True)
class Target:
    """What this tick submits: the pipeline id that runs, and the REST URL that submits it."""

    kind: str
    name: str
    pipeline_id: str
    submit_url: str

    @property
    def service(self) -> str:
        """The AML service host (`https://{region}.api.azureml.ms` or a private-link host), from the submit URL."""
        url = urlparse(self.submit_url)
        return f"{url.scheme}://{url.netloc}"


@dataclass(frozen=True)
class Outcome:
    """What a tick did: `submitted`, `skipped_active` or `already_submitted`, and the run it concerns."""

    action: str
    run_id: str
    status: str | None = None


def resolve(connection: Connection, settings: PipelineSettings, budget: RetryBudget) -> Target:
    """The published pipeline to submit; fails loudly for an unknown, disabled or inactive one."""
    ws = connection.workspace
    if settings.pipeline_id:
        try:
            published = with_retries(budget, "get_published_pipeline",
                                     lambda: PublishedPipeline.get(ws, id=settings.pipeline_id))
        except Exception as error:  # the SDK raises ErrorResponseException/ValueError for a missing pipeline
            if classify(error)[0]:
                raise  # a transient failure that outlasted the retry budget, not a missing pipeline
            raise PipelineError(
                f"RUN_PIPELINE_ID={settings.pipeline_id}: no published pipeline with this id in workspace "
                f"{ws.name} ({type(error).__name__}): check the id in the studio's Pipelines > Published page"
            ) from error
        if published.status != "Active":
            raise PipelineError(f"published pipeline {settings.pipeline_id} ({published.name}) is "
                                f"{published.status}: enable it or set RUN_PIPELINE_ID to an active one")
        return Target("published_pipeline", published.name, published.id, published.endpoint)
    try:
        endpoint = with_retries(budget, "get_pipeline_endpoint",
                                lambda: PipelineEndpoint.get(workspace=ws, name=settings.endpoint_name))
    except Exception as error:  # the SDK raises ErrorResponseException for an unknown name
        if classify(error)[0]:
            raise
        raise PipelineError(
            f"RUN_PIPELINE_ENDPOINT_NAME={settings.endpoint_name}: no pipeline endpoint with this name in "
            f"workspace {ws.name} ({type(error).__name__}): check the name in the studio's Pipeline endpoints page"
        ) from error
    if endpoint.status != "Active":
        raise PipelineError(f"pipeline endpoint {endpoint.name} is {endpoint.status}: enable it or choose another")
    # The endpoint's payload already lists its versions: no extra request for the default pipeline's id.
    default_id = next((item.pipeline_id for item in endpoint.pipeline_version_list
                       if item.version == endpoint.default_version), None)
    if default_id is None:
        raise PipelineError(f"pipeline endpoint {endpoint.name} has no pipeline for its default version "
                            f"{endpoint.default_version}: set a default version in the studio")
    return Target("pipeline_endpoint", endpoint.name, default_id, endpoint.endpoint)


def _headers(connection: Connection, budget: RetryBudget) -> dict[str, str]:
    # The SDK's auth object refreshes an expiring token here: a network call like any other.
    return with_retries(budget, "token", connection.auth.get_authentication_header)


def _history(connection: Connection, target: Target, experiment: str) -> str:
    return f"{target.service}/history/v1.0{connection.arm_id}/experiments/{quote(experiment, safe='')}"


def query_runs(connection: Connection, target: Target, experiment: str, conditions: dict[str, str],
               budget: RetryBudget, top: int) -> list[dict]:
    """Top-level runs of the experiment whose tags/properties equal `conditions`, newest first."""
    clauses = [f'({key} eq "{value}")' for key, value in conditions.items()] + ["(ParentRunId eq null)"]
    expression = " and ".join(clauses)
    response = send(budget, "query_runs", "POST", f"{_history(connection, target, experiment)}/runs:query",
                    _headers(connection, budget),
                    json={"filter": f"({expression})", "orderBy": ["CreatedUtc desc"], "top": top})
    if response.status_code == 404:
        return []  # the experiment does not exist yet: no runs
    if response.status_code >= 400:
        raise PipelineError(f"reading run history of experiment {experiment} failed: "
                            f"status={response.status_code}: {response.text[:300]}")
    return response.json().get("value") or []


def find_active_run(connection: Connection, target: Target, experiment: str, budget: RetryBudget) -> dict | None:
    """A top-level run of the target pipeline still active in the experiment, among its most recent runs."""
    runs = query_runs(connection, target, experiment, {"Properties/azureml.pipelineid": target.pipeline_id}, budget,
                      ACTIVE_SCAN_LIMIT)
    return next((run for run in runs if run.get("status") in ACTIVE_STATES), None)


def find_tick_run(connection: Connection, target: Target, experiment: str, tick: Tick,
                  budget: RetryBudget) -> dict | None:
    """The run this app already started for this tick, if any (a host retry, a duplicate firing, a lost answer)."""
    runs = query_runs(connection, target, experiment, {f"Tags/{TAG_STARTED_BY}": APP_TAG, f"Tags/{TAG_TICK}": tick.id},
                      budget, 1)
    return runs[0] if runs else None


def run_tags(target: Target, tick: Tick, function_name: str) -> dict[str, str]:
    """Tags a portal user sees on the run: who started it, for which tick, from which pipeline."""
    return {
        TAG_STARTED_BY: APP_TAG,
        "function": function_name,
        TAG_TICK: tick.id,
        "past_due": "true" if tick.past_due else "false",
        "pipeline_id": target.pipeline_id,
        target.kind: target.name,
    }


def submit_once(connection: Connection, target: Target, settings: PipelineSettings, tick: Tick, tags: dict[str, str],
                budget: RetryBudget) -> tuple[str, bool]:
    """POST the submit; before any retry, look for the tick's run, because the lost attempt may have created it.

    Returns (run id, True when the run of an attempt whose answer was lost was found instead of submitting again).
    """
    body = {
        "ExperimentName": settings.experiment,
        "Description": settings.experiment,
        "RunSource": "SDK",
        "RunType": "SDK",
        # Strings, exactly as the SDK's own submit() sends them.
        "ParameterAssignments": {name: str(value) for name, value in settings.parameters.items()},
        "tags": tags,
    }
    attempts = 0

    def attempt() -> tuple[str, bool]:
        nonlocal attempts
        attempts += 1
        if attempts > 1:
            earlier = find_tick_run(connection, target, settings.experiment, tick, budget)
            if earlier is not None:
                return earlier["runId"], True
        response = request_once("submit", "POST", target.submit_url, _headers(connection, budget),
                                json=body)
        if response.status_code >= 400:
            raise PipelineError(f"submit failed: pipeline={target.pipeline_id} experiment={settings.experiment} "
                                f"status={response.status_code}: {response.text[:500]}")
        return response.json()["Id"], False

    return with_retries(budget, "submit", attempt)


def portal_url(connection: Connection, run_id: str, cloud: str, tenant_id: str | None) -> str:
    ws = connection.workspace
    url = (f"{STUDIO[cloud]}/runs/{run_id}?wsid=/subscriptions/{ws.subscription_id}/resourcegroups/"
           f"{ws.resource_group}/workspaces/{ws.name}")
    return f"{url}&tid={tenant_id}" if tenant_id else url


def wait_for(connection: Connection, target: Target, settings: PipelineSettings, run_id: str, url: str,
             budget: RetryBudget) -> str:
    """Poll the run until it ends or the time is up; raises unless it completed."""
    minutes = settings.wait_minutes
    deadline = time.monotonic() + minutes * 60
    run_url = f"{_history(connection, target, settings.experiment)}/runs/{run_id}"
    while True:
        response = send(budget, "get_run", "GET", run_url, _headers(connection, budget))
        if response.status_code >= 400:
            raise PipelineError(f"reading run {run_id} failed: status={response.status_code}: {response.text[:300]}")
        status = response.json().get("status")
        if status not in ACTIVE_STATES:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise PipelineError(f"run {run_id} is still {status} after RUN_PIPELINE_WAIT_MINUTES={minutes}: "
                                "it goes on in Azure; raise the setting or set it to 0 to return after submit")
        time.sleep(min(POLL_SECONDS, remaining))
    if status not in SUCCESS_STATES:
        raise PipelineError(f"run {run_id} ended {status}: see {url}")
    return status


def run_pipeline(connection: Connection, settings: PipelineSettings, tick: Tick, function_name: str,
                 budget: RetryBudget) -> Outcome:
    """One tick of RunPipelineTimer: resolve, maybe skip, submit once, maybe wait."""
    target = resolve(connection, settings, budget)
    fields = {"pipeline": target.pipeline_id, target.kind: target.name, "experiment": settings.experiment,
              "tick": tick.id}
    if settings.skip_if_active:
        active = find_active_run(connection, target, settings.experiment, budget)
        if active is not None:
            log.info(kv("pipeline", action="skipped_active", **fields, run_id=active["runId"], status=active["status"]))
            return Outcome("skipped_active", active["runId"], active["status"])
    earlier = find_tick_run(connection, target, settings.experiment, tick, budget)
    if earlier is not None:
        url = portal_url(connection, earlier["runId"], settings.azure.cloud, settings.azure.tenant_id)
        log.info(kv("pipeline", action="already_submitted", **fields, run_id=earlier["runId"], portal_url=url))
        return Outcome("already_submitted", earlier["runId"])
    run_id, recovered = submit_once(connection, target, settings, tick, run_tags(target, tick, function_name), budget)
    url = portal_url(connection, run_id, settings.azure.cloud, settings.azure.tenant_id)
    log.info(kv("pipeline", action="submitted", **fields, run_id=run_id, recovered=recovered, portal_url=url))
    if settings.wait_minutes <= 0:
        return Outcome("submitted", run_id)
    status = wait_for(connection, target, settings, run_id, url, budget)
    log.info(kv("pipeline", action="completed", **fields, run_id=run_id, status=status))
    return Outcome("submitted", run_id, status)
