"""Submit a published pipeline (or a pipeline endpoint's default version) once per tick.

The SDK resolves the pipeline and reads run history; the submit itself is the documented REST call
(`PublishedPipeline.endpoint` / `PipelineEndpoint.endpoint`), because the SDK's `submit()` cannot tag the run and
tags are how a portal user, and the next attempt at the same tick, recognise a run this app started.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from itertools import islice

import requests
from azureml.core import Experiment, Run
from azureml.pipeline.core import PipelineEndpoint, PublishedPipeline

from shared.logfmt import kv
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


class PipelineError(RuntimeError):
    """The pipeline could not be resolved, submitted or did not succeed; the message says which and why."""


@dataclass(frozen=True)
class Target:
    """What this tick submits: the pipeline id that runs, and the REST URL that submits it."""

    kind: str
    name: str
    pipeline_id: str
    submit_url: str


@dataclass(frozen=True)
class Outcome:
    """What a tick did: `submitted`, `skipped_active` or `already_submitted`, and the run it concerns."""

    action: str
    run_id: str
    status: str | None = None


def resolve(connection: Connection, settings: PipelineSettings) -> Target:
    """The published pipeline to submit; fails loudly for an unknown, disabled or inactive one."""
    ws = connection.workspace
    if settings.pipeline_id:
        try:
            published = PublishedPipeline.get(ws, id=settings.pipeline_id)
        except Exception as error:  # the SDK raises ErrorResponseException/ValueError for a missing pipeline
            raise PipelineError(
                f"RUN_PIPELINE_ID={settings.pipeline_id}: no published pipeline with this id in workspace "
                f"{ws.name} ({type(error).__name__}): check the id in the studio's Pipelines > Published page"
            ) from error
        if published.status != "Active":
            raise PipelineError(f"published pipeline {settings.pipeline_id} ({published.name}) is "
                                f"{published.status}: enable it or set RUN_PIPELINE_ID to an active one")
        return Target("published_pipeline", published.name, published.id, published.endpoint)
    try:
        endpoint = PipelineEndpoint.get(workspace=ws, name=settings.endpoint_name)
    except Exception as error:  # the SDK raises ErrorResponseException for an unknown name
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


def _experiment(connection: Connection, name: str) -> Experiment:
    # Not created in the cloud here: the service creates the experiment on the first submit.
    return Experiment(connection.workspace, name, _create_in_cloud=False)


def find_active_run(connection: Connection, experiment: str, pipeline_id: str) -> Run | None:
    """A top-level run of this pipeline still active in the experiment, among its most recent runs."""
    runs = Run.list(
        _experiment(connection, experiment),
        properties={"azureml.pipelineid": pipeline_id},
        include_children=False,
    )
    return next((run for run in islice(runs, ACTIVE_SCAN_LIMIT) if run.status in ACTIVE_STATES), None)


def find_tick_run(connection: Connection, experiment: str, tick: Tick) -> Run | None:
    """The run this app already started for this tick, if any (a host retry or a duplicate firing)."""
    runs = Run.list(
        _experiment(connection, experiment),
        tags={TAG_STARTED_BY: APP_TAG, TAG_TICK: tick.id},
        include_children=False,
    )
    return next(iter(runs), None)


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


def submit(connection: Connection, target: Target, settings: PipelineSettings, tags: dict[str, str]) -> str:
    """POST one submit request; returns the new run id."""
    body = {
        "ExperimentName": settings.experiment,
        "Description": settings.experiment,
        "RunSource": "SDK",
        "RunType": "SDK",
        # Strings, exactly as the SDK's own submit() sends them.
        "ParameterAssignments": {name: str(value) for name, value in settings.parameters.items()},
        "tags": tags,
    }
    response = requests.post(target.submit_url, json=body, headers=connection.auth.get_authentication_header(),
                             timeout=60)
    if response.status_code >= 400:
        raise PipelineError(
            f"submit failed: pipeline={target.pipeline_id} experiment={settings.experiment} "
            f"status={response.status_code}: {response.text[:500]}"
        )
    return response.json()["Id"]


def wait_for(run: Run, minutes: int) -> str:
    """Poll the run (quietly: no SDK stdout) until it ends or the time is up; raises unless it completed."""
    deadline = time.monotonic() + minutes * 60
    while True:
        status = run.get_status()
        if status not in ACTIVE_STATES:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise PipelineError(f"run {run.id} is still {status} after RUN_PIPELINE_WAIT_MINUTES={minutes}: "
                                "it goes on in Azure; raise the setting or set it to 0 to return after submit")
        time.sleep(min(POLL_SECONDS, remaining))
    if status not in SUCCESS_STATES:
        raise PipelineError(f"run {run.id} ended {status}: see {run.get_portal_url()}")
    return status


def run_pipeline(connection: Connection, settings: PipelineSettings, tick: Tick, function_name: str) -> Outcome:
    """One tick of RunPipelineTimer: resolve, maybe skip, submit once, maybe wait."""
    target = resolve(connection, settings)
    fields = {"pipeline": target.pipeline_id, target.kind: target.name, "experiment": settings.experiment,
              "tick": tick.id}
    if settings.skip_if_active:
        active = find_active_run(connection, settings.experiment, target.pipeline_id)
        if active is not None:
            log.info(kv("pipeline", action="skipped_active", **fields, run_id=active.id, status=active.status))
            return Outcome("skipped_active", active.id, active.status)
    earlier = find_tick_run(connection, settings.experiment, tick)
    if earlier is not None:
        log.info(kv("pipeline", action="already_submitted", **fields, run_id=earlier.id, status=earlier.status))
        return Outcome("already_submitted", earlier.id, earlier.status)
    run_id = submit(connection, target, settings, run_tags(target, tick, function_name))
    run = Run(_experiment(connection, settings.experiment), run_id)
    log.info(kv("pipeline", action="submitted", **fields, run_id=run_id, portal_url=run.get_portal_url()))
    if settings.wait_minutes <= 0:
        return Outcome("submitted", run_id)
    status = wait_for(run, settings.wait_minutes)
    log.info(kv("pipeline", action="completed", **fields, run_id=run_id, status=status))
    return Outcome("submitted", run_id, status)
