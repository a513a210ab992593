"""Submit a job's published pipeline (or a pipeline endpoint's default version) exactly once per tick.

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
from dataclasses import dataclass
from datetime import datetime, timedelta

from azureml.pipeline.core import PipelineEndpoint, PublishedPipeline
from azureml.pipeline.core._restclients.aeva.models import PipelineSubmissionInfo

from shared import clock
from shared.clock import parse_instant
from shared.clouds import Cloud
from shared.jobs import Job
from shared.logfmt import kv, shorten
from shared.occurrences import Occurrences
from shared.parameters import effective
from shared.retry import RetryBudget, not_an_answer, request_once, with_retries
from shared.runhistory import SUCCEEDED, RunHistory, is_active
from shared.submission import Outcome, PipelineError, job_fields, named, studio_url, tick_times, waiter
from shared.targets import PIPELINE_ID
from shared.tick import Tick
from shared.workspace import Connection

log = logging.getLogger(__name__)

APP_TAG = "aml-timer-functions"
TAG_STARTED_BY = "started_by"
TAG_TICK = "schedule_tick"
TAG_JOB = "job"  # a pipelines.json job's name: one run per job and tick
# The service sets this property on every run of a published pipeline (the SDK's CLI reads it:
# azureml/pipeline/_cli_wrapper/cmd_pipeline.py).
PIPELINE_ID_PROPERTY = "azureml.pipelineid"
# RUN_PIPELINE_SKIP_IF_ACTIVE looks at this many of the pipeline's most recent runs (newest first).
ACTIVE_SCAN_LIMIT = 100
# After a submit whose answer was lost, a run of the pipeline created since (less this much clock skew) and not
# tagged by anyone is the lost attempt's run; this many of the pipeline's newest runs are looked at.
ADOPT_SKEW = timedelta(minutes=5)
ADOPT_SCAN_LIMIT = 10


@dataclass(frozen=True)
class Published:
    """What a job submits, resolved: the pipeline id that runs, the REST URL that submits it, its notification flag."""

    kind: str  # published_pipeline or pipeline_endpoint: the run's tag and the log field that name it
    name: str
    pipeline_id: str
    submit_url: str
    enable_notification: bool | None = None


def resolve(connection: Connection, job: Job, budget: RetryBudget) -> Published:
    """The published pipeline to submit; fails loudly for an unknown, disabled or inactive one."""
    ws = connection.workspace
    value, setting = job.target.value, named(job, job.target.kind.setting, job.target.kind.key)
    if job.target.kind == PIPELINE_ID:
        try:
            published = with_retries(budget, "get_published_pipeline", lambda: PublishedPipeline.get(ws, id=value))
        except Exception as error:  # the SDK raises ErrorResponseException/ValueError for a missing pipeline
            if not_an_answer(error):
                raise  # a transient failure that outlasted the retry budget, not a missing pipeline
            raise PipelineError(
                f"{setting}={value}: no published pipeline with this id in workspace "
                f"{ws.name} ({type(error).__name__}): check the id in the studio's Pipelines > Published page"
            ) from error
        if published.status != "Active":
            raise PipelineError(f"published pipeline {value} ({published.name}) is "
                                f"{published.status}: enable it or set {setting} to an active one")
        # PublishedPipeline.submit passes the pipeline's own setting; the SDK keeps it only in this attribute.
        return Published("published_pipeline", published.name, published.id, published.endpoint,
                         published._enable_email_notification)
    try:
        endpoint = with_retries(budget, "get_pipeline_endpoint",
                                lambda: PipelineEndpoint.get(workspace=ws, name=value))
    except Exception as error:  # the SDK raises ErrorResponseException for an unknown name
        if not_an_answer(error):
            raise
        raise PipelineError(
            f"{setting}={value}: no pipeline endpoint with this name in "
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
    return Published("pipeline_endpoint", endpoint.name, default_id, endpoint.endpoint)


def tick_tags(tick: Tick, job: Job) -> dict[str, str]:
    """The tags that identify the run of a tick (and, for a pipelines.json job, of the job)."""
    return {TAG_STARTED_BY: APP_TAG, TAG_TICK: tick.id, **({TAG_JOB: job.name} if job.name else {})}


def run_tags(target: Published, tick: Tick, function_name: str, job: Job) -> dict[str, str]:
    """Tags a portal user sees on the run: who started it, for which tick, from which pipeline."""
    return {
        **tick_tags(tick, job),
        "function": function_name,
        "past_due": "true" if tick.past_due else "false",
        "pipeline_id": target.pipeline_id,
        target.kind: target.name,
    }


def submission_body(target: Published, job: Job, parameters: dict[str, str], tags: dict[str, str]) -> dict:
    """The submit body, serialized by the SDK's own model (PipelineSubmissionInfo) as `PublishedPipeline.submit`
    builds it, plus `tags`."""
    return PipelineSubmissionInfo(
        experiment_name=job.experiment,
        description=job.experiment,
        run_source="SDK",
        run_type="SDK",
        parameter_assignments=parameters,
        enable_email_notification=target.enable_notification,
        tags=tags,
    ).serialize()


def find_tick_run(history: RunHistory, tick: Tick, job: Job) -> dict | None:
    """The run this app already started for this tick, if any (a host retry, a duplicate firing, a lost answer)."""
    runs = history.query(tags=tick_tags(tick, job), limit=1)
    return runs[0] if runs else None


def find_active_run(history: RunHistory, target: Published) -> dict | None:
    """A top-level run of the target pipeline still active in the experiment, among its most recent runs."""
    runs = history.query(properties={PIPELINE_ID_PROPERTY: target.pipeline_id}, limit=ACTIVE_SCAN_LIMIT)
    return next((run for run in runs if is_active(run.get("status"))), None)


def find_untagged_run(history: RunHistory, target: Published, since: datetime) -> dict | None:
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


def submit_once(connection: Connection, history: RunHistory, target: Published, body: dict, tick: Tick, job: Job,
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
            earlier = find_tick_run(history, tick, job) or find_untagged_run(history, target, since)
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
    ws = connection.workspace
    return studio_url(cloud, ws.subscription_id, ws.resource_group, ws.name, run_id)


def submit_job(connection: Connection, job: Job, occurrences: Occurrences, tick: Tick, function_name: str,
               budget: RetryBudget, cloud: Cloud) -> Outcome:
    """One job's part of a tick: resolve, maybe skip, submit once, make sure it is tagged; the outcome's waiter
    waits when the job says to."""
    target = resolve(connection, job, budget)
    history = RunHistory(connection, job.experiment, budget)
    fields = {**job_fields(job), "pipeline": target.pipeline_id, target.kind: target.name,
              "experiment": job.experiment, "tick": tick.id}
    if job.skip_if_active:
        active = find_active_run(history, target)
        if active is not None:
            url = portal_url(connection, active["runId"], cloud)
            log.info(kv("pipeline", action="skipped_active", **fields, run_id=active["runId"],
                        status=active.get("status"), portal_url=url))
            return Outcome("skipped_active", active["runId"], active.get("status"), url)
    earlier = find_tick_run(history, tick, job)
    if earlier is not None:
        url = portal_url(connection, earlier["runId"], cloud)
        log.info(kv("pipeline", action="already_submitted", **fields, run_id=earlier["runId"],
                    status=earlier.get("status"), portal_url=url))
        return Outcome("already_submitted", earlier["runId"], earlier.get("status"), url)
    parameters = effective(job.parameters, tick_times(occurrences, tick))  # strings, as the SDK sends them
    tags = run_tags(target, tick, function_name, job)
    run_id, recovered, carried = submit_once(connection, history, target,
                                             submission_body(target, job, parameters, tags), tick, job, budget)
    tagged = ensure_tags(history, run_id, carried, tags)
    url = portal_url(connection, run_id, cloud)
    log.info(kv("pipeline", action="submitted", **fields, run_id=run_id, recovered=recovered, tags=tagged,
                parameters=json.dumps(parameters, separators=(",", ":")), portal_url=url))
    if job.wait_minutes <= 0:
        return Outcome("submitted", run_id, None, url)
    return Outcome("submitted", run_id, None, url, waiter(
        job, f"run {run_id}", lambda: history.get(run_id).get("status"), lambda status: not is_active(status),
        SUCCEEDED, url, log, {**fields, "run_id": run_id}))
