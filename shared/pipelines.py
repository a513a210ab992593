"""Submit a job's published pipeline (or a pipeline endpoint's default version) exactly once per tick.

The SDK resolves the pipeline. The submit is the REST call the SDK itself makes (`PublishedPipeline.endpoint` /
`PipelineEndpoint.endpoint`), with the body the SDK builds (`PipelineSubmissionInfo`: ExperimentName,
Description, RunSource, RunType, ParameterAssignments as strings, and for a published pipeline its own
EnableNotification, as `PublishedPipeline.submit` passes it). The app adds the model's `tags` field, which the
SDK never fills: whether the service stores it is not promised, so the answer is checked, and tags the run lacks
are set the way the SDK tags a submitted run (`Experiment.submit` -> `run.set_tags`: a run-history PATCH).
The SDK's own `submit()` is not used: it cannot tag, and it never retries. `PublishedTarget` is this service's
adapter to the one submit path (shared.submission).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from azureml.pipeline.core import PipelineEndpoint, PublishedPipeline
from azureml.pipeline.core._restclients.aeva.models import PipelineSubmissionInfo

from shared import clock
from shared.clock import parse_instant
from shared.clouds import Cloud
from shared.jobs import Job
from shared.retry import Allowance, not_an_answer, with_retries
from shared.runhistory import RunHistory
from shared.submission import ACTIVE_SCAN_LIMIT, PipelineError, Run, Submitted, is_active, named, studio_url
from shared.targets import PIPELINE_ID
from shared.tick import Tick
from shared.transport import HttpError, send
from shared.workspace import Connection

APP_TAG = "aml-timer-functions"
TAG_STARTED_BY = "started_by"
TAG_TICK = "schedule_tick"
TAG_JOB = "job"  # a pipelines.json job's name: one run per job and tick
# The service sets this property on every run of a published pipeline (the SDK's CLI reads it:
# azureml/pipeline/_cli_wrapper/cmd_pipeline.py).
PIPELINE_ID_PROPERTY = "azureml.pipelineid"
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


def workflow_provider(connection: Connection):
    """The SDK's pipelines client for the workspace, made once per tick and shared by every lookup of the tick: the
    SDK reads the workspace's data types when it makes one (`PublishedPipeline.get` makes one per call unless it is
    given one, through the `_workflow_provider` parameter it has for this)."""
    from azureml.pipeline.core._graph_context import _GraphContext

    return _GraphContext("placeholder", connection.workspace).workflow_provider


def resolve(connection: Connection, job: Job, allowance: Allowance, provider=None) -> Published:
    """The published pipeline to submit; fails loudly for an unknown, disabled or inactive one."""
    ws = connection.workspace
    value, setting = job.target.value, named(job, job.target.kind.setting, job.target.kind.key)
    if job.target.kind == PIPELINE_ID:
        try:
            published = with_retries(allowance, "get_published_pipeline", lambda: PublishedPipeline.get(
                ws, id=value, _workflow_provider=provider))
        except Exception as error:  # the SDK raises ErrorResponseException/ValueError for a missing pipeline
            if not_an_answer(error):
                raise  # a transient failure that outlasted its allowance, not a missing pipeline
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
        endpoint = with_retries(allowance, "get_pipeline_endpoint",
                                lambda: PipelineEndpoint.get(workspace=ws, name=value, _workflow_provider=provider))
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


def _parse_utc(text: object) -> datetime | None:
    """Run history's createdUtc (up to 7 fractional digits, `Z`), or None when it cannot be read."""
    try:
        return parse_instant(text) if isinstance(text, str) else None
    except ValueError:
        return None


class PublishedTarget:
    """A published pipeline or pipeline endpoint's default version, resolved for one job (shared.submission)."""

    def __init__(self, connection: Connection, job: Job, allowance: Allowance, cloud: Cloud, function_name: str,
                 published: Published):
        self.connection, self.job, self.allowance, self.cloud = connection, job, allowance, cloud
        self.function_name = function_name
        self.published = published
        self.history = RunHistory(connection, job.experiment, allowance)
        self.fields = {"pipeline": self.published.pipeline_id, self.published.kind: self.published.name}

    def _run(self, found: dict) -> Run:
        return Run(found["runId"], found.get("status"), studio_url(self.cloud, self.connection.ref, found["runId"]))

    def tick_run(self, tick: Tick) -> Run | None:
        """The run this app already started for this tick, if any."""
        runs = self.history.query(tags=tick_tags(tick, self.job), limit=1)
        return self._run(runs[0]) if runs else None

    def active_run(self, tick: Tick) -> Run | None:
        """A top-level run of the target pipeline still active in the experiment, among its most recent runs."""
        runs = self.history.query(properties={PIPELINE_ID_PROPERTY: self.published.pipeline_id},
                                  limit=ACTIVE_SCAN_LIMIT)
        return next((self._run(run) for run in runs if is_active(run.get("status"))), None)

    def _untagged_run(self, since: datetime) -> dict | None:
        """The newest run of the target pipeline created since `since` that nobody has tagged as a tick's run."""
        runs = self.history.query(properties={PIPELINE_ID_PROPERTY: self.published.pipeline_id},
                                  limit=ADOPT_SCAN_LIMIT)
        earliest = since - ADOPT_SKEW
        for run in runs:
            created = _parse_utc(run.get("createdUtc"))
            if created is not None and created >= earliest and TAG_TICK not in (run.get("tags") or {}):
                return run
        return None

    def submit(self, tick: Tick, parameters: dict[str, str]) -> Submitted:
        """POST the submit once (a retry first looks for the run the lost attempt may have created), then make sure
        the run carries its tags."""
        tags = run_tags(self.published, tick, self.function_name, self.job)
        body = submission_body(self.published, self.job, parameters, tags)
        attempts = 0
        since = clock.now()

        def attempt() -> tuple[dict, bool]:
            nonlocal attempts
            attempts += 1
            if attempts > 1:
                runs = self.history.query(tags=tick_tags(tick, self.job), limit=1)
                earlier = runs[0] if runs else self._untagged_run(since)
                if earlier is not None:
                    return earlier, True
            headers = self.connection.auth.get_authentication_header()
            answer = send("submit", "POST", self.published.submit_url, headers, json=body,
                          deadline=self.allowance.deadline)
            found = answer.object()
            if not isinstance(found.get("Id"), str):
                raise answer.bad("the answer has no run Id")
            # PipelineRunEntity: its Status is the pipelines service's own record, not a run status: read none.
            return {"runId": found["Id"], "tags": found.get("tags")}, False

        try:
            found, recovered = with_retries(self.allowance, "submit", attempt)
        except HttpError as error:
            if error.retryable:
                raise
            raise PipelineError(f"submit failed: pipeline={self.published.pipeline_id} experiment="
                                f"{self.job.experiment} status={error.status}: {error.said}") from None
        run = self._run(found)
        return Submitted(run, "recovered" if recovered else "submitted",
                         {"tags": self._ensure_tags(run.id, dict(found.get("tags") or {}), tags)})

    def _ensure_tags(self, run_id: str, carried: dict, tags: dict[str, str]) -> str:
        """Make sure the run carries `tags`: set the missing ones, then check what run history kept.

        Returns `submit` when the submit already stored them, `patch` when the app set them.
        """
        if all(carried.get(key) == value for key, value in tags.items()):
            return "submit"
        stored = self.history.set_tags(run_id, tags).get("tags") or {}
        missing = sorted(key for key, value in tags.items() if stored.get(key) != value)
        if missing:
            raise PipelineError(f"run {run_id} was submitted, but run history did not keep its tags {missing}: the "
                                "next attempt at this tick cannot recognise it; tag it in the studio or cancel it")
        return "patch"

    def status(self, run_id: str) -> str | None:
        return self.history.get(run_id).get("status")

    def run(self, run_id: str) -> Run | None:
        try:
            return self._run(self.history.get(run_id))
        except HttpError as error:
            if error.status == 404 and error.structured:
                return None
            raise

    def adopt(self, tick: Tick, since: datetime) -> Run | None:
        """The newest untagged run of the pipeline since a crashed holder's claim: its run, whose tags the service
        dropped; tagged as the tick's now."""
        found = self._untagged_run(since)
        if found is None:
            return None
        self._ensure_tags(found["runId"], dict(found.get("tags") or {}),
                          run_tags(self.published, tick, self.function_name, self.job))
        return self._run(found)
