"""RunPipelineTimer with an Azure ML v2 target: a batch endpoint's pipeline deployment, invoked over REST on the fake
wire (its scoring host, ARM's endpoints, deployments and jobs), with outcomes asserted."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from fakeazure import IDENTITY_ENDPOINT, IDENTITY_HEADER
from fakeazure.wire import audience
from shared.settings import ConfigError
from shared.submission import PipelineError
from tests.conftest import TICK, entry_point, make_timer
from tests.fresh import tick_in_a_fresh_interpreter

ROOT = Path(__file__).resolve().parents[1]

run_pipeline_timer = entry_point("RunPipelineTimer")

ENDPOINT = "nightly-score"
JOB = f"{ENDPOINT}-20261121T030000Z"  # the job of TICK (2026-11-21 03:00 UTC)
PREVIOUS = [f"{ENDPOINT}-202611{day}T030000Z" for day in (20, 19, 18, 17, 16, 15)]
SCORING = f"https://{ENDPOINT}.westeurope.inference.ml.azure.com/jobs"


@pytest.fixture
def batch(fake, settings):
    """A batch endpoint with two deployments (default: `pipeline`), and the settings that target it."""
    fake.add_batch_endpoint(ENDPOINT, ("pipeline", "pipeline-v2"), inputs={"run_date", "mode", "since"})

    def target(**overrides: str | None):
        return settings(**{"RUN_PIPELINE_ID": None, "RUN_PIPELINE_BATCH_ENDPOINT": ENDPOINT, **overrides})

    return target


def invokes(fake):
    return fake.requests_to(r"\.inference\.ml\.azure\.com/jobs", "POST")


def lines(logs, prefix: str) -> list[str]:
    return [record.getMessage() for record in logs.records if record.getMessage().startswith(prefix)]


def aud(call) -> str | None:
    return audience(SimpleNamespace(headers=call.headers))


def test_invokes_the_default_deployment_with_the_body_and_headers_azure_ai_ml_sends(fake, batch, timer, logs):
    batch(RUN_PIPELINE_EXPERIMENT="nightly")

    run_pipeline_timer(timer)

    [job] = fake.batch_jobs.values()
    assert (job.name, job.deployment, job.experiment) == (JOB, "pipeline", "nightly")
    [call] = invokes(fake)
    assert call.url == SCORING  # the endpoint's scoringUri, as ARM gave it
    assert call.body == {"properties": {"name": JOB, "inputData": {}, "properties": {"experimentName": "nightly"}}}
    assert call.headers["Content-Type"] == "application/json" and call.headers["repeatability_request-id"]
    assert "azureml-model-deployment" not in call.headers, "the default deployment is the endpoint's to route to"
    assert not fake.requests_to("/deployments/"), "the default deployment needs no lookup"
    [line] = lines(logs, "pipeline action=submitted")
    for part in ("target=batch_endpoint", f"batch_endpoint={ENDPOINT}", "deployment=pipeline", f"run_id={JOB}",
                 "status=NotStarted", "experiment=nightly", "tick=2026-11-21T03:00:00Z", "recovered=false",
                 f"portal_url=https://ml.azure.com/runs/{JOB}?wsid=/subscriptions/"):
        assert part in line
    assert "tid=" not in line, "the tenant id (in the service's own studio link) stays out of log lines"


def test_a_named_deployment_is_checked_and_sent_as_the_model_deployment_header(fake, batch, timer):
    batch(RUN_PIPELINE_BATCH_DEPLOYMENT="pipeline-v2")

    run_pipeline_timer(timer)

    assert [job.deployment for job in fake.batch_jobs.values()] == ["pipeline-v2"]
    assert invokes(fake)[0].headers["azureml-model-deployment"] == "pipeline-v2"
    assert len(fake.requests_to("/batchEndpoints/nightly-score/deployments/pipeline-v2", "GET")) == 1


def test_parameters_are_literal_inputs_with_the_ticks_dates(fake, batch, timer):
    batch(RUN_PIPELINE_PARAMETERS=json.dumps({"run_date": "{tick:%Y-%m-%d}", "since": "{window_start:%Y-%m-%d}",
                                              "mode": 3}))

    run_pipeline_timer(timer)

    assert invokes(fake)[0].body["properties"]["inputData"] == {
        "run_date": {"jobInputType": "Literal", "value": "2026-11-21"},
        "since": {"jobInputType": "Literal", "value": "2026-11-20"},
        "mode": {"jobInputType": "Literal", "value": "3"},  # LiteralJobInput.value is a string
    }
    assert next(iter(fake.batch_jobs.values())).inputs == {"run_date": "2026-11-21", "since": "2026-11-20",
                                                           "mode": "3"}


def test_the_same_tick_twice_makes_one_job(fake, batch, timer, logs):
    batch()

    run_pipeline_timer(timer)
    run_pipeline_timer(timer)

    assert list(fake.batch_jobs) == [JOB] and len(invokes(fake)) == 1
    [line] = lines(logs, "pipeline action=already_submitted")
    assert f"run_id={JOB}" in line and "status=" in line


@pytest.mark.parametrize("status", [504, None])  # a gateway timeout, a dropped connection: after the job was made
def test_a_lost_invoke_answer_makes_one_job(fake, batch, timer, logs, status):
    batch()
    fake.fail("POST", r"inference\.ml\.azure\.com", status=status, lost=True)

    run_pipeline_timer(timer)

    assert list(fake.batch_jobs) == [JOB] and len(invokes(fake)) == 1
    assert "recovered=true" in lines(logs, "pipeline action=submitted")[0]


def test_a_transient_refusal_is_retried_with_the_same_name_and_repeatability_id(fake, batch, timer):
    batch()
    fake.fail("POST", r"inference\.ml\.azure\.com", status=503, times=2)

    run_pipeline_timer(timer)

    calls = invokes(fake)
    assert len(calls) == 3 and list(fake.batch_jobs) == [JOB]
    assert {call.body["properties"]["name"] for call in calls} == {JOB}
    assert len({call.headers["repeatability_request-id"] for call in calls}) == 1


@pytest.mark.parametrize("answer", [409, 400])  # what the service answers a name it has is not documented
def test_a_duplicate_name_refusal_is_confirmed_by_reading_the_job(fake, batch, timer, logs, answer):
    batch()
    fake.duplicate_name_status = answer
    fake.add_batch_job(JOB, ENDPOINT, ["Running"])  # another instance invoked it between our read and our invoke
    fake.fail("GET", f"/jobs/{JOB}", status=404)  # ... so our first read did not see it

    run_pipeline_timer(timer)

    assert list(fake.batch_jobs) == [JOB] and len(invokes(fake)) == 1
    [line] = lines(logs, "pipeline action=already_submitted")
    assert f"run_id={JOB}" in line and "status=Running" in line


def test_a_refused_invoke_without_a_job_fails_with_the_services_answer(fake, batch, timer):
    batch(RUN_PIPELINE_PARAMETERS='{"not_an_input": "x"}')

    with pytest.raises(PipelineError, match=rf"invoke failed: batch_endpoint={ENDPOINT} deployment=pipeline "
                                            rf"job_name={JOB} status=400: .*not_an_input"):
        run_pipeline_timer(timer)
    assert not fake.batch_jobs


def test_skip_if_active_skips_while_the_previous_occurrences_job_runs(fake, batch, timer, logs):
    batch(RUN_PIPELINE_SKIP_IF_ACTIVE="true")
    fake.add_batch_job(PREVIOUS[0], ENDPOINT, ["Running"])

    run_pipeline_timer(timer)

    assert list(fake.batch_jobs) == [PREVIOUS[0]] and not invokes(fake)
    [line] = lines(logs, "pipeline action=skipped_active")
    assert f"run_id={PREVIOUS[0]}" in line and "status=Running" in line


def test_skip_if_active_looks_past_occurrences_that_submitted_nothing(fake, batch, timer):
    batch(RUN_PIPELINE_SKIP_IF_ACTIVE="true")
    fake.add_batch_job(PREVIOUS[2], ENDPOINT, ["Queued"])  # the two ticks since were skipped: no job of theirs

    run_pipeline_timer(timer)

    assert not invokes(fake)


def test_skip_if_active_submits_when_the_latest_job_has_ended(fake, batch, timer):
    batch(RUN_PIPELINE_SKIP_IF_ACTIVE="true")
    fake.add_batch_job(PREVIOUS[0], ENDPOINT, ["Failed"])
    fake.add_batch_job(PREVIOUS[1], ENDPOINT, ["Running"])  # older than the latest job: not the one that counts

    run_pipeline_timer(timer)

    assert JOB in fake.batch_jobs


def test_skip_if_active_reads_at_most_five_earlier_jobs(fake, batch, timer):
    batch(RUN_PIPELINE_SKIP_IF_ACTIVE="true")
    fake.add_batch_job(PREVIOUS[5], ENDPOINT, ["Running"])  # six occurrences back: beyond the scan

    run_pipeline_timer(timer)

    assert JOB in fake.batch_jobs
    reads = [call.url.split("/jobs/")[1].split("?")[0] for call in fake.requests_to("/jobs/", "GET")]
    assert reads == [JOB, *PREVIOUS[:5]]


def test_wait_polls_the_job_until_it_completes(fake, batch, timer, logs, retry_clock):
    fake.batch_job_statuses = ["NotStarted", "Queued", "Running", "Finalizing", "Completed"]
    batch(RUN_PIPELINE_WAIT_MINUTES="5")

    run_pipeline_timer(timer)

    [line] = lines(logs, "pipeline action=completed")
    assert f"run_id={JOB}" in line and "status=Completed" in line
    assert retry_clock.slept.count(30.0) >= 3


def test_wait_fails_the_invocation_when_the_job_fails(fake, batch, timer):
    fake.batch_job_statuses = ["Running", "Failed"]
    batch(RUN_PIPELINE_WAIT_MINUTES="5")

    with pytest.raises(PipelineError, match=rf"run {JOB} ended Failed: see https://ml.azure.com/runs/{JOB}\?wsid="):
        run_pipeline_timer(timer)


def test_wait_gives_up_when_the_time_is_up(fake, batch, timer):
    fake.batch_job_statuses = ["Running"]
    batch(RUN_PIPELINE_WAIT_MINUTES="2")

    with pytest.raises(PipelineError, match=rf"run {JOB} is still Running after RUN_PIPELINE_WAIT_MINUTES=2"):
        run_pipeline_timer(timer)


@pytest.mark.parametrize(("seed", "settings_", "message"), [
    (None, {}, rf"RUN_PIPELINE_BATCH_ENDPOINT={ENDPOINT}: no batch endpoint with this name in workspace ws-demo "
               r"\(ResourceNotFound: .*\): check the name in the studio's Endpoints > Batch endpoints page"),
    ({"state": "Updating"}, {}, rf"batch endpoint {ENDPOINT} is Updating \(provisioningState\), not Succeeded"),
    ({"default": None}, {}, rf"batch endpoint {ENDPOINT} has no default deployment: make one its default \(az ml "
                            r"batch-endpoint update .*\), or name the deployment in RUN_PIPELINE_BATCH_DEPLOYMENT"),
    ({}, {"RUN_PIPELINE_BATCH_DEPLOYMENT": "missing"}, rf"RUN_PIPELINE_BATCH_DEPLOYMENT=missing: batch endpoint "
                                                       rf"{ENDPOINT} has no deployment with this name"),
])
def test_an_endpoint_that_cannot_take_the_job_fails_naming_it(fake, settings, timer, seed, settings_, message):
    if seed is not None:
        fake.add_batch_endpoint(ENDPOINT, **seed)
    settings(RUN_PIPELINE_ID=None, RUN_PIPELINE_BATCH_ENDPOINT=ENDPOINT, **settings_)

    with pytest.raises(PipelineError, match=message):
        run_pipeline_timer(timer)
    assert not invokes(fake) and not fake.batch_jobs


def test_an_identity_without_the_role_is_told_which_page_has_it(fake, batch, timer):
    batch()
    fake.fail("GET", "/batchEndpoints/", status=403)

    with pytest.raises(PipelineError, match=rf"RUN_PIPELINE_BATCH_ENDPOINT={ENDPOINT}: the identity may not read it "
                                            r"\(.*\): grant the role of docs/least-privilege.md"):
        run_pipeline_timer(timer)


def test_an_invoke_refused_for_the_identity_says_so(fake, batch, timer):
    batch()
    fake.fail("POST", r"inference\.ml\.azure\.com", status=403)

    with pytest.raises(PipelineError, match=r"invoke failed: .* status=403: .*the identity may not invoke it"):
        run_pipeline_timer(timer)
    assert not fake.batch_jobs


def test_a_deployment_not_provisioned_fails_naming_it(fake, batch, timer):
    fake.batch_endpoints[ENDPOINT].deployments["pipeline-v2"] = "Creating"
    batch(RUN_PIPELINE_BATCH_DEPLOYMENT="pipeline-v2")

    with pytest.raises(PipelineError, match=rf"deployment pipeline-v2 of batch endpoint {ENDPOINT} is Creating"):
        run_pipeline_timer(timer)


def test_the_invoke_token_is_for_azure_ml_and_the_arm_calls_for_arm(fake, batch, timer):
    batch()

    run_pipeline_timer(timer)

    assert aud(invokes(fake)[0]) == "https://ml.azure.com"
    assert {aud(call) for call in fake.requests_to("management.azure.com")} == {"https://management.azure.com"}


def test_a_managed_identity_asks_for_the_azure_ml_audience(fake, batch, timer, monkeypatch):
    monkeypatch.setenv("IDENTITY_ENDPOINT", IDENTITY_ENDPOINT)
    monkeypatch.setenv("IDENTITY_HEADER", IDENTITY_HEADER)
    batch(AZURE_CLIENT_SECRET=None, AZURE_CLIENT_ID=None, AZURE_TENANT_ID=None)

    run_pipeline_timer(timer)

    assert JOB in fake.batch_jobs and not fake.requests_to("login.microsoftonline.com")
    resources = [call.url for call in fake.requests_to("msi/token")]
    assert any("resource=https%3A%2F%2Fml.azure.com" in url or "resource=https://ml.azure.com" in url
               for url in resources)
    assert aud(invokes(fake)[0]) == "https://ml.azure.com"


def test_a_job_name_the_service_did_not_keep_is_a_warning(fake, batch, timer, logs):
    fake.batch_keeps_names = False
    batch()

    run_pipeline_timer(timer)

    [job] = fake.batch_jobs.values()
    [record] = [r for r in logs.records if r.getMessage().startswith("pipeline action=submitted")]
    assert record.levelname == "WARNING"
    assert f"run_id={job.name}" in record.getMessage() and "reason=name_not_kept" in record.getMessage()
    assert f"requested_name={JOB}" in record.getMessage()


@pytest.mark.parametrize(("overrides", "fragment"), [
    ({"RUN_PIPELINE_ID": "00000000-0000-0000-0000-000000000000"},
     "RUN_PIPELINE_ID and RUN_PIPELINE_BATCH_ENDPOINT are both set: set exactly one of them"),
    ({"RUN_PIPELINE_BATCH_ENDPOINT": None, "RUN_PIPELINE_ENDPOINT_NAME": "e", "RUN_PIPELINE_BATCH_DEPLOYMENT": "d1"},
     "RUN_PIPELINE_BATCH_DEPLOYMENT is set, but RUN_PIPELINE_BATCH_ENDPOINT is not"),
    ({"RUN_PIPELINE_BATCH_ENDPOINT": "9lives"}, "RUN_PIPELINE_BATCH_ENDPOINT is not valid: expected a batch "
                                               "endpoint name \\(3-32 letters, digits and '-', starting with a letter"),
    ({"RUN_PIPELINE_BATCH_DEPLOYMENT": "x"}, "RUN_PIPELINE_BATCH_DEPLOYMENT is not valid: expected a deployment"),
])
def test_bad_batch_settings_fail_before_any_call(fake, batch, timer, overrides, fragment):
    batch(**overrides)

    with pytest.raises(ConfigError, match=fragment):
        run_pipeline_timer(timer)
    assert not fake.requests


def test_a_batch_endpoint_tick_never_imports_the_retired_sdk(tmp_path):
    found = tick_in_a_fresh_interpreter(["RunPipelineTimer"], "2026-11-21T03:00:00+00:00", tmp_path,
                                        seed=f"fake.add_batch_endpoint({ENDPOINT!r})",
                                        settings={"RUN_PIPELINE_ID": "", "RUN_PIPELINE_BATCH_ENDPOINT": ENDPOINT},
                                        outcome="sorted(fake.batch_jobs)")

    assert found == {"imported": [], "ticked": [], "outcome": [JOB]}


def test_a_published_pipeline_tick_loads_the_sdk_only_when_it_ticks(tmp_path):
    """The same check sees the SDK v1 when a tick needs it: loading RunPipelineTimer still imports none of it."""
    pipeline_id = "77777777-7777-7777-7777-777777777777"
    found = tick_in_a_fresh_interpreter(["RunPipelineTimer"], "2026-11-21T03:00:00+00:00", tmp_path,
                                        seed=f"fake.add_published_pipeline(pipeline_id={pipeline_id!r})",
                                        settings={"RUN_PIPELINE_ID": pipeline_id}, outcome="len(fake.runs)")

    assert found["imported"] == [] and found["outcome"] == 1
    assert "azureml.pipeline.core" in found["ticked"]


def test_a_jobs_file_runs_v1_and_v2_jobs_in_one_tick(fake, settings, write_jobs, logs):
    fake.add_batch_endpoint(ENDPOINT, ("pipeline", "pipeline-v2"))
    score = fake.add_published_pipeline("score")
    write_jobs([
        {"name": "scores", "schedule": "0 0 3 * * *", "batch_endpoint": ENDPOINT, "deployment": "pipeline-v2",
         "experiment": "scores", "parameters": {"run_date": "{tick:%Y-%m-%d}"}},
        {"name": "scores-berlin", "schedule": "0 0 4 * * *", "time_zone": "Europe/Berlin", "batch_endpoint": ENDPOINT},
        {"name": "legacy", "schedule": "0 0 3 * * *", "pipeline_id": score},
    ])
    settings(RUN_PIPELINE_ID=None, RUN_PIPELINE_SCHEDULE="0 0 2,3 * * *")

    run_pipeline_timer(make_timer(TICK))  # 03:00 UTC is 04:00 in Berlin in November: all three are due

    assert sorted(fake.batch_jobs) == ["scores-20261121T030000Z", "scores-berlin-20261121T030000Z"]
    assert fake.batch_jobs["scores-20261121T030000Z"].deployment == "pipeline-v2"
    assert fake.batch_jobs["scores-20261121T030000Z"].inputs == {"run_date": "2026-11-21"}
    assert fake.batch_jobs["scores-berlin-20261121T030000Z"].deployment == "pipeline"
    assert [run.tags["job"] for run in fake.runs.values()] == ["legacy"]
    [summary] = lines(logs, "pipeline_summary")
    assert "due=3 submitted=3" in summary and "failed=0" in summary


def test_skip_if_active_of_a_zoned_job_reads_its_own_previous_occurrence(fake, settings, write_jobs):
    fake.add_batch_endpoint(ENDPOINT)
    write_jobs([{"name": "scores", "schedule": "0 0 4 * * *", "time_zone": "Europe/Berlin",
                 "batch_endpoint": ENDPOINT, "skip_if_active": True}])
    settings(RUN_PIPELINE_ID=None, RUN_PIPELINE_SCHEDULE="0 0 2,3 * * *")
    fake.add_batch_job("scores-20261120T030000Z", ENDPOINT, ["Running"])  # yesterday 04:00 Berlin

    run_pipeline_timer(make_timer(TICK))

    assert sorted(fake.batch_jobs) == ["scores-20261120T030000Z"]


@pytest.mark.parametrize(("entry", "problem"), [
    ({"pipeline_id": "00000000-0000-0000-0000-000000000000", "deployment": "d1"},
     "job 'j': deployment is set, but the job's target is pipeline_id: deployment names a deployment of its "
     "batch_endpoint"),
    ({"batch_endpoint": ENDPOINT, "deployment": "-bad"}, "job 'j': deployment=\"-bad\" is not valid"),
    ({"batch_endpoint": "x"}, "job 'j': batch_endpoint=\"x\" is not valid: expected a batch endpoint name"),
    ({"batch_endpoint": ENDPOINT, "pipeline_endpoint": "e"}, "pipeline_endpoint and batch_endpoint are all set"),
])
def test_a_batch_job_of_the_file_is_checked_before_any_call(fake, settings, write_jobs, entry, problem):
    write_jobs([{"name": "j", "schedule": "0 0 3 * * *", **entry}])
    settings(RUN_PIPELINE_ID=None)

    with pytest.raises(ConfigError) as error:
        run_pipeline_timer(make_timer(TICK))
    assert problem in str(error.value) and not fake.requests


def test_the_single_pipeline_deployment_setting_is_refused_beside_the_file(fake, settings, write_jobs):
    write_jobs([{"name": "j", "schedule": "0 0 3 * * *", "batch_endpoint": ENDPOINT}])
    settings(RUN_PIPELINE_ID=None, RUN_PIPELINE_BATCH_DEPLOYMENT="pipeline")

    with pytest.raises(ConfigError, match="RUN_PIPELINE_BATCH_DEPLOYMENT is set, but pipelines.json holds the "
                                          "pipelines"):
        run_pipeline_timer(make_timer(TICK))


def test_the_emulator_invokes_the_users_batch_endpoint_and_a_backfill_makes_one_job_per_day(write_jobs, capsys,
                                                                                             monkeypatch):
    from localrun import cli as run

    write_jobs([{"name": "scores", "schedule": "0 0 3 * * *", "batch_endpoint": "team-scores", "deployment": "blue",
                 "parameters": {"day": "{tick:%Y-%m-%d}"}}])
    monkeypatch.setenv("RUN_PIPELINE_SCHEDULE", "0 0 3 * * *")
    window = ["--from", "2026-01-15T00:00:00Z", "--to", "2026-01-17T12:00:00Z"]

    assert run.main(["RunPipelineTimer", "--emulator", *window]) == 0

    out = capsys.readouterr().out
    jobs_made = [line for line in out.splitlines() if line.startswith("emulator: job ")]
    assert jobs_made == [f"emulator: job scores-202601{day}T030000Z invoked on batch endpoint team-scores (deployment "
                         f"blue), experiment scores, inputs: day=2026-01-{day}" for day in (15, 16, 17)]


def test_a_failing_batch_job_does_not_keep_a_v1_job_from_running(fake, settings, write_jobs, logs):
    from shared.pipeline_tick import JobsFailed

    score = fake.add_published_pipeline("score")
    write_jobs([{"name": "gone", "schedule": "0 0 3 * * *", "batch_endpoint": "no-such-endpoint"},
                {"name": "legacy", "schedule": "0 0 3 * * *", "pipeline_id": score}])
    settings(RUN_PIPELINE_ID=None)

    with pytest.raises(JobsFailed, match=r"1 of 2 due pipelines.json job\(s\) failed: gone: PipelineError: job 'gone' "
                                         r"batch_endpoint=no-such-endpoint: no batch endpoint with this name"):
        run_pipeline_timer(make_timer(TICK))
    assert [run.tags["job"] for run in fake.runs.values()] == ["legacy"]
    [failed] = lines(logs, "pipeline action=failed")
    assert "job=gone" in failed and "reason=pipeline" in failed
