"""Submit a published pipeline (or a pipeline endpoint's default version) exactly once per tick.

The SDK resolves the pipeline. The submit is the REST call the SDK itself makes (`PublishedPipeline.endpoint` /
`PipelineEndpoint.endpoint`), with the body the SDK builds (`PipelineSubmissionInfo`: ExperimentName,
Description, RunSource, RunType, ParameterAssignments as strings, and for a published pipeline its own
EnableNotification, as `PublishedPipeline.submit` passes it). The app adds the model's `tags` field, which the
SDK never fills: whether the service stores it is not promised, so the answer is checked, and tags the run lacks
are set the way the SDK tags a submitted run (`Experiment.submit` -> `run.set_tags`: a run-history PATCH).
The SDK's own `submit()` is not used: it cannot tag, and it never retries.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from azureml.pipeline.core import PipelineEndpoint, PublishedPipeline
from azureml.pipeline.core._restclients.aeva.models import PipelineSubmissionInfo

from shared import clock
from shared.clock import parse_instant
from shared.clouds import Cloud
from shared.errors import AppError
from shared.logfmt import kv, shorten
from shared.parameters import effective
from shared.retry import RetryBudget, not_an_answer, request_once, with_retries
from shared.runhistory import SUCCEEDED, RunHistory, is_active
from shared.settings import PipelineSettings
from shared.tick import Tick
from shared.workspace import Connection

log = logging.getLogger(__name__)

APP_TAG = "aml-timer-functions"
TAG_STARTED_BY = "started_by"
TAG_TICK = "schedule_tick"
# The service sets this property on every run of a published pipeline (the SDK's CLI reads it:
# azureml/pipeline/_cli_wrapper/cmd_pipeline.py).
PIPELINE_ID_PROPERTY = "azureml.pipelineid"
# RUN_PIPELINE_SKIP_IF_ACTIVE looks at this many of the pipeline's most recent runs (newest first).
ACTIVE_SCAN_LIMIT = 100
# After a submit whose answer was lost, a run of the pipeline created since (less this much clock skew) and not
# tagged by anyone is the lost attempt's run; this many of the pipeline's newest runs are looked at.
ADOPT_SKEW = timedelta(minutes=5)
ADOPT_SCAN_LIMIT = 10
POLL_SECONDS = 30.0


class PipelineError(AppError):
    """The pipeline could not be resolved, submitted or did not succeed; the message says which and why."""


@dataclass(frozen=True)
class Target:
    """What this tick submits: the pipeline id that runs, the REST URL that submits it, its notification flag."""

    kind: str
    name: str
    pipeline_id: str
    submit_url: str
    enable_notification: bool | None = None


@dataclass(frozen=True)
class Outcome:
    """What a tick did: `submitted`, `skipped_active` or `already_submitted`, and the run it concerns."""

    action: str
    run_id: str
    status: str | None = None
    portal_url: str | None = None


def resolve(connection: Connection, settings: PipelineSettings, budget: RetryBudget) -> Target:
    """The published pipeline to submit; fails loudly for an unknown, disabled or inactive one."""
    ws = connection.workspace
    if settings.pipeline_id:
        try:
            published = with_retries(budget, "get_published_pipeline",
                                     lambda: PublishedPipeline.get(ws, id=settings.pipeline_id))
        except Exception as error:  # the SDK raises ErrorResponseException/ValueError for a missing pipeline
            if not_an_answer(error):
                raise  # a transient failure that outlasted the retry budget, not a missing pipeline
            raise PipelineError(
                f"RUN_PIPELINE_ID={settings.pipeline_id}: no published pipeline with this id in workspace "
                f"{ws.name} ({type(error).__name__}): check the id in the studio's Pipelines > Published page"
            ) from error
        if published.status != "Active":
            raise PipelineError(f"published pipeline {settings.pipeline_id} ({published.name}) is "
                                f"{published.status}: enable it or set RUN_PIPELINE_ID to an active one")
        # PublishedPipeline.submit passes the pipeline's own setting; the SDK keeps it only in this attribute.
        return Target("published_pipeline", published.name, published.id, published.endpoint,
                      published._enable_email_notification)
    try:
        endpoint = with_retries(budget, "get_pipeline_endpoint",
                                lambda: PipelineEndpoint.get(workspace=ws, name=settings.endpoint_name))
    except Exception as error:  # the SDK raises ErrorResponseException for an unknown name
        if not_an_answer(error):
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
    # PipelineEndpoint.submit sends no EnableNotification, so neither does the app.
    return Target("pipeline_endpoint", endpoint.name, default_id, endpoint.endpoint)


def tick_tags(tick: Tick) -> dict[str, str]:
    """The two tags that identify the run of a tick."""
    return {TAG_STARTED_BY: APP_TAG, TAG_TICK: tick.id}


def run_tags(target: Target, tick: Tick, function_name: str) -> dict[str, str]:
    """Tags a portal user sees on the run: who started it, for which tick, from which pipeline."""
    return {
        **tick_tags(tick),
        "function": function_name,
        "past_due": "true" if tick.past_due else "false",
        "pipeline_id": target.pipeline_id,
        target.kind: target.name,
    }


def submission_body(target: Target, settings: PipelineSettings, parameters: dict[str, str],
                    tags: dict[str, str]) -> dict:
    """The submit body, serialized by the SDK's own model (PipelineSubmissionInfo) as `PublishedPipeline.submit`
    builds it, plus `tags`."""
    return PipelineSubmissionInfo(
        experiment_name=settings.experiment,
        description=settings.experiment,
        run_source="SDK",
        run_type="SDK",
        parameter_assignments=parameters,
        enable_email_notification=target.enable_notification,
        tags=tags,
    ).serialize()


def find_tick_run(history: RunHistory, tick: Tick) -> dict | None:
    """The run this app already started for this tick, if any (a host retry, a duplicate firing, a lost answer)."""
    runs = history.query(tags=tick_tags(tick), limit=1)
    return runs[0] if runs else None


def find_active_run(history: RunHistory, target: Target) -> dict | None:
    """A top-level run of the target pipeline still active in the experiment, among its most recent runs."""
    runs = history.query(properties={PIPELINE_ID_PROPERTY: target.pipeline_id}, limit=ACTIVE_SCAN_LIMIT)
    return next((run for run in runs if is_active(run.get("status"))), None)


def find_untagged_run(history: RunHistory, target: Target, since: datetime) -> dict | None:
    """The newest run of the target pipeline created since `since` that nobody has tagged as a tick's run."""
    runs = history.query(properties={PIPELINE_ID_PROPERTY: target.pipeline_id}, limit=ADOPT_SCAN_LIMIT)
    earliest = since - ADOPT_SKEW
    for run in runs:
        created = _parse_utc(run.get("createdUtc"))
        if created is not None and created >= earliest and TAG_TICK not in (run.get("tags") or {}):
            return run
    return None


def _parse_utc(text: object) -> datetime | None:
    """Run history's createdUtc (up to 7 fractional digits, `Z`), or None when it cannot be read."""
    try:
        return parse_instant(text) if isinstance(text, str) else None
    except ValueError:
        return None


def submit_once(connection: Connection, history: RunHistory, target: Target, body: dict, tick: Tick,
                budget: RetryBudget) -> tuple[str, bool, dict]:
    """POST the submit; before any retry, look for the run the lost attempt may have created.

    Returns (run id, True when an earlier attempt's run was found instead of submitting again, the tags the
    answer says the run carries).
    """
    attempts = 0
    since = clock.now()

    def attempt() -> tuple[str, bool, dict]:
        nonlocal attempts
        attempts += 1
        if attempts > 1:
            earlier = find_tick_run(history, tick) or find_untagged_run(history, target, since)
            if earlier is not None:
                return earlier["runId"], True, dict(earlier.get("tags") or {})
        headers = with_retries(budget, "token", connection.auth.get_authentication_header)
        response = request_once("submit", "POST", target.submit_url, headers, json=body)
        if response.status_code >= 400:
            raise PipelineError(f"submit failed: pipeline={target.pipeline_id} experiment={body['ExperimentName']} "
                                f"status={response.status_code}: {shorten(response.text, 500)}")
        answer = response.json()
        return answer["Id"], False, dict(answer.get("tags") or {})

    return with_retries(budget, "submit", attempt)


def ensure_tags(history: RunHistory, run_id: str, carried: dict, tags: dict[str, str]) -> str:
    """Make sure the run carries `tags`: set the missing ones, then check what run history kept.

    Returns `submit` when the submit already stored them, `patch` when the app set them.
    """
    if all(carried.get(key) == value for key, value in tags.items()):
        return "submit"
    stored = history.set_tags(run_id, tags).get("tags") or {}
    missing = sorted(key for key, value in tags.items() if stored.get(key) != value)
    if missing:
        raise PipelineError(f"run {run_id} was submitted, but run history did not keep its tags {missing}: the next "
                            "attempt at this tick cannot recognise it; tag it in the studio or cancel it")
    return "patch"


def portal_url(connection: Connection, run_id: str, cloud: Cloud) -> str:
    """The run in the studio (no `tid`: the tenant id is an identity value, kept out of log lines)."""
    ws = connection.workspace
    return (f"{cloud.studio}/runs/{run_id}?wsid=/subscriptions/{ws.subscription_id}/resourcegroups/"
            f"{ws.resource_group}/workspaces/{ws.name}")


def wait_for(history: RunHistory, settings: PipelineSettings, run_id: str, url: str) -> str:
    """Poll the run until it ends or the time is up; raises unless it completed."""
    minutes = settings.wait_minutes
    deadline = time.monotonic() + minutes * 60
    while True:
        status = history.get(run_id).get("status")
        if not is_active(status):
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise PipelineError(f"run {run_id} is still {status} after RUN_PIPELINE_WAIT_MINUTES={minutes}: "
                                "it goes on in Azure; raise the setting or set it to 0 to return after submit")
        time.sleep(min(POLL_SECONDS, remaining))
    if status != SUCCEEDED:
        raise PipelineError(f"run {run_id} ended {status}: see {url}")
    return status


def tick_times(settings: PipelineSettings, tick: Tick) -> dict[str, datetime]:
    """{tick} and {window_start} for the parameters, in the schedule's zone (UTC, or the local schedule's)."""
    occurrences = settings.occurrences
    previous = occurrences.previous(tick.scheduled) or tick.scheduled
    return {"tick": occurrences.in_zone(tick.scheduled), "window_start": occurrences.in_zone(previous)}


def run_pipeline(connection: Connection, settings: PipelineSettings, tick: Tick, function_name: str,
                 budget: RetryBudget) -> Outcome:
    """One tick of RunPipelineTimer: resolve, maybe skip, submit once, make sure it is tagged, maybe wait."""
    target = resolve(connection, settings, budget)
    history = RunHistory(connection, settings.experiment, budget)
    fields = {"pipeline": target.pipeline_id, target.kind: target.name, "experiment": settings.experiment,
              "tick": tick.id}
    cloud = settings.azure.endpoints
    if settings.skip_if_active:
        active = find_active_run(history, target)
        if active is not None:
            url = portal_url(connection, active["runId"], cloud)
            log.info(kv("pipeline", action="skipped_active", **fields, run_id=active["runId"],
                        status=active.get("status"), portal_url=url))
            return Outcome("skipped_active", active["runId"], active.get("status"), url)
    earlier = find_tick_run(history, tick)
    if earlier is not None:
        url = portal_url(connection, earlier["runId"], cloud)
        log.info(kv("pipeline", action="already_submitted", **fields, run_id=earlier["runId"],
                    status=earlier.get("status"), portal_url=url))
        return Outcome("already_submitted", earlier["runId"], earlier.get("status"), url)
    parameters = effective(settings.parameters, tick_times(settings, tick))  # strings, as the SDK sends them
    tags = run_tags(target, tick, function_name)
    run_id, recovered, carried = submit_once(connection, history, target,
                                             submission_body(target, settings, parameters, tags), tick, budget)
    tagged = ensure_tags(history, run_id, carried, tags)
    url = portal_url(connection, run_id, cloud)
    log.info(kv("pipeline", action="submitted", **fields, run_id=run_id, recovered=recovered, tags=tagged,
                parameters=json.dumps(parameters, separators=(",", ":")), portal_url=url))
    if settings.wait_minutes <= 0:
        return Outcome("submitted", run_id, None, url)
    status = wait_for(history, settings, run_id, url)
    log.info(kv("pipeline", action="completed", **fields, run_id=run_id, status=status))
    return Outcome("submitted", run_id, status, url)
