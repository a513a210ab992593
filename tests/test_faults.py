"""Faults a hostile network and a careless service produce, each taught to the fake, each kept to its own work item.

One test per fault of issue #26: a malformed answer fails only its workspace (or job); a 202's Retry-After is no
throttle; failures are told apart by status, never by text; a valid token is kept while a refresh fails; each work
item has its own retries; a tick fired hours late does not act; the deadline covers sign-in; paging ends; a throttle
on the pipeline path waits within the deadline; short-lived tokens are reused; a non-JSON answer names its call; the
same situation gives the same log line whatever the target.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from fakeazure import SUBSCRIPTION, TENANT
from shared import clock, hostconfig
from shared.compute import ComputeActionError, DeadlineReached
from shared.transport import BadAnswer, HttpError
from tests.conftest import entry_point, make_timer
from tests.logs import fields

stop_compute_timer = entry_point("StopComputeTimer")
start_compute_timer = entry_point("StartComputeTimer")
run_pipeline_timer = entry_point("RunPipelineTimer")

SUB_B = "44444444-4444-4444-4444-444444444444"
NO_WORKSPACE = {"AML_SUBSCRIPTION_ID": None, "AML_RESOURCE_GROUP": None, "AML_WORKSPACE_NAME": None}
FLEET = {**NO_WORKSPACE, "AML_COMPUTE_SCOPES": f"/subscriptions/{SUBSCRIPTION},/subscriptions/{SUB_B}"}
HTML = "<html><body><h1>Proxy Authentication Required</h1></body></html>"


def short_timeout(monkeypatch, tmp_path, timeout: str) -> None:
    path = tmp_path / "host.json"
    path.write_text(json.dumps({"version": "2.0", "functionTimeout": timeout}), encoding="utf-8")
    monkeypatch.setattr(hostconfig, "HOST_JSON", path)


@pytest.fixture
def fleet(fake):
    """ws-demo and ws-research in one subscription, ws-prod in another; two running instances each."""
    fake.workspace.add_instance("ci-demo", "Running")
    fake.workspace.add_instance("gpu-demo", "Running")
    research = fake.add_workspace(SUBSCRIPTION, "rg-research", "ws-research")
    research.add_instance("ci-a", "Running")
    research.add_instance("ci-b", "Running")
    prod = fake.add_workspace(SUB_B, "rg-prod", "ws-prod")
    prod.add_instance("ci-p", "Running")
    prod.add_instance("ci-q", "Running")
    return fake


def running(fake) -> set[str]:
    return {f"{ws.name}/{name}" for ws in fake.workspaces.values() for name, instance in ws.instances.items()
            if instance.state == "Running"}


# --------------------------------------------------------------------------- 1. one bad answer sinks nothing else

BAD_LISTS = {
    "html": (HTML, "text/html", "the body is not JSON"),
    "empty": ("", "application/json", "the body is empty"),
    "null_value": ('{"value": null}', "application/json", "value is a JSON null"),
    "entry_without_name": ('{"value": [{"id": "x", "properties": {"computeType": "ComputeInstance"}}]}',
                           "application/json", "value[0] has no name"),
}


@pytest.mark.parametrize("case", sorted(BAD_LISTS))
def test_a_malformed_compute_list_fails_only_its_workspace(fleet, settings, timer, logs, case):
    body, content_type, problem = BAD_LISTS[case]
    settings(**FLEET)
    fleet.fail("GET", r"ws-research/computes\?", status=200, body=body, content_type=content_type)

    with pytest.raises(ComputeActionError) as error:
        stop_compute_timer(timer)

    assert running(fleet) == {"ws-research/ci-a", "ws-research/ci-b"}, "every other workspace's instances stopped"
    [failed] = [line for line in fields(logs, "compute_workspace") if line.get("action") == "failed"]
    assert (failed["workspace"], failed["reason"]) == ("ws-research", "bad_answer")
    assert (failed["host"], failed["status"]) == ("management.azure.com", "200")
    assert failed["path"].endswith("/workspaces/ws-research/computes")
    assert problem in failed["error"]
    [total] = fields(logs, "compute_total")
    assert (total["stopped"], total["failed_workspaces"]) == ("4", "1")
    assert "ws-research" in str(error.value) and problem in str(error.value)


def test_a_malformed_workspace_list_fails_only_its_scope(fleet, settings, timer, logs):
    settings(**FLEET)
    fleet.fail("GET", rf"subscriptions/{SUB_B}/providers/Microsoft.MachineLearningServices/workspaces\?",
               status=200, body='{"value": [{"name": "no-id"}]}', content_type="application/json")

    with pytest.raises(ComputeActionError, match="value\\[0\\] has no id"):
        stop_compute_timer(timer)

    assert running(fleet) == {"ws-prod/ci-p", "ws-prod/ci-q"}
    [failed] = [line for line in fields(logs, "compute_scope") if line.get("action") == "failed"]
    assert (failed["scope"], failed["reason"]) == (f"/subscriptions/{SUB_B}", "bad_answer")
    assert fields(logs, "compute_total")


def test_a_malformed_price_list_costs_the_tick_only_its_prices(fake, settings, timer, logs):
    fake.add_instance("ci-a", "Running")
    settings()
    fake.fail("GET", "prices.azure.com", status=200, body=HTML, times=2)

    stop_compute_timer(timer)

    assert fake.instances["ci-a"].state == "Stopping"
    [total] = fields(logs, "compute_total")
    assert (total["cost"], total["reason"]) == ("unknown", "prices_unavailable")


def test_a_malformed_run_history_answer_fails_only_its_job(fake, settings, timer, logs, write_jobs):
    first, second = fake.add_published_pipeline("a"), fake.add_published_pipeline("b")
    write_jobs([{"name": "first", "schedule": "0 0 3 * * *", "pipeline_id": first, "experiment": "exp-a"},
                {"name": "second", "schedule": "0 0 3 * * *", "pipeline_id": second, "experiment": "exp-b"}])
    settings(RUN_PIPELINE_ID=None)
    fake.fail("POST", "experiments/exp-a/runs:query", status=200, body=HTML)

    with pytest.raises(Exception, match="first: .*query_runs \\(POST westeurope.api.azureml.ms/history/") as error:
        run_pipeline_timer(timer)

    assert [run.experiment for run in fake.runs.values()] == ["exp-b"]
    assert "content_type=text/html" in str(error.value) and "the body is not JSON" in str(error.value)
    [summary] = fields(logs, "pipeline_summary")
    assert (summary["submitted"], summary["failed"]) == ("1", "1")


@pytest.mark.parametrize(("pattern", "body", "call", "problem"), [
    ("/batchEndpoints/nightly-score\\?", '{"properties": []}', "get_batch_endpoint", "properties is not an object"),
    ("/jobs/nightly-score-", "{}", "get_job", "name is missing"),
], ids=["endpoint", "job"])
def test_a_malformed_batch_answer_fails_the_job_naming_the_call(fake, settings, timer, pattern, body, call, problem):
    fake.add_batch_endpoint("nightly-score")
    settings(RUN_PIPELINE_ID=None, RUN_PIPELINE_BATCH_ENDPOINT="nightly-score")
    fake.fail("GET", pattern, status=200, body=body, content_type="application/json")

    with pytest.raises(BadAnswer, match=f"{call} \\(GET management.azure.com/.*: {problem}"):
        run_pipeline_timer(timer)
    assert fake.batch_jobs == {}, "a job answer the app cannot read is never taken for the tick's job"


# --------------------------------------------------------------------------- 2. a 202's Retry-After is no throttle


def test_an_accepted_stops_retry_after_never_pauses_the_subscription(fake, settings, timer, retry_clock):
    for i in range(6):
        fake.add_instance(f"ci-{i}", "Running")
    fake.limit_arm(writes=(1, 10.0))  # the write bucket is empty after the first stop: 10 a second
    assert fake.accepted_retry_after == "10", "ARM's 202 names its polling interval"
    settings(AML_COMPUTE_COST="false")
    start = retry_clock.monotonic()

    stop_compute_timer(timer)

    times = sorted(at - start for at, *_ in fake.accepted)
    assert len(times) == 6 and times[-1] <= 1.0, f"6 stops at ARM's write rate (floor 0.5 s), not {times[-1]} s"
    assert all(wait < 10 for wait in retry_clock.slept)


# --------------------------------------------------------------------------- 3. classified by status, never by text


def test_a_permanent_400_is_final_whatever_the_experiment_is_called(fake, settings, timer):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), RUN_PIPELINE_EXPERIMENT="retrain-503")
    fake.fail("POST", "PipelineSubmit", status=400, times=100)

    with pytest.raises(Exception, match="submit failed: .*experiment=retrain-503 status=400"):
        run_pipeline_timer(timer)

    assert len(fake.requests_to("PipelineSubmit", "POST")) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_a_4xx_power_answer_is_never_retried(fake, settings, timer, status):
    fake.add_instance("ci-503", "Running").power_status = status
    settings()

    with pytest.raises(ComputeActionError):
        stop_compute_timer(timer)

    assert fake.instances["ci-503"].stops == 1


# --------------------------------------------------------------------------- 4. a valid token is used while valid


def test_a_failing_early_refresh_keeps_the_valid_token(fake, settings, timer, retry_clock, logs):
    fake.add_instance("ci-a", "Running")
    settings(AML_RETRY_BUDGET_SECONDS="5")
    stop_compute_timer(timer)  # signs in: a token for an hour
    fake.instances["ci-a"].state = "Running"
    retry_clock.advance(3600 - 120)  # two minutes left: inside the refresh margin, still valid
    fake.fail("POST", "oauth2/v2.0/token", status=503, times=1000)

    stop_compute_timer(timer)

    assert fake.instances["ci-a"].state == "Stopping", "the stop went out with the token in hand"
    [kept] = [line for line in fields(logs, "auth") if line.get("action") == "kept_token"]
    assert kept["reason"] == "refresh_failed"

    retry_clock.advance(180)  # now it has expired, and the token endpoint still fails
    fake.instances["ci-a"].state = "Running"
    with pytest.raises(HttpError, match="sign_in .*status=503"):
        stop_compute_timer(timer)
    assert fake.instances["ci-a"].state == "Running"


# --------------------------------------------------------------------------- 5. each work item its own retries


def test_a_broken_instance_does_not_spend_a_healthy_ones_retries(fake, settings, timer, logs):
    fake.workspace.add_instance("ci-broken", "Running").power_status = 500
    other = fake.add_workspace(SUB_B, "rg-b", "ws-b")
    other.add_instance("ci-healthy", "Running")
    settings(**FLEET, AML_RETRY_BUDGET_SECONDS="10", AML_COMPUTE_CONCURRENCY="1", AML_COMPUTE_COST="false")
    fake.fail("POST", "ci-healthy/stop", status=503)

    with pytest.raises(ComputeActionError, match="1 of 2 compute instance"):
        stop_compute_timer(timer)

    assert other.instances["ci-healthy"].state == "Stopping"
    assert len(fake.requests_to("ci-healthy/stop")) == 2, "one 503, then its own retry"
    broken = [line for line in fields(logs, "retry") if "ci-broken" in line["call"]]
    assert broken[-1]["action"] == "gave_up" and broken[-1]["reason"] in ("budget_spent", "attempts_spent")


# --------------------------------------------------------------------------- 6. a tick fired hours late


@pytest.mark.parametrize("entry", [stop_compute_timer, start_compute_timer], ids=["stop", "start"])
def test_a_tick_fired_14_hours_late_does_not_act(fake, settings, logs, entry):
    fake.add_instance("ci-a", "Running")
    fake.add_instance("ci-b", "Stopped", {"autostart": "true"})
    settings()
    missed = clock.now().replace(microsecond=0) - timedelta(hours=14)

    entry(make_timer(missed, past_due=True))

    assert (fake.instances["ci-a"].state, fake.instances["ci-b"].state) == ("Running", "Stopped")
    assert fake.requests == [], "nothing was asked of Azure"
    [tick] = fields(logs, "tick")
    assert (tick["action"], tick["reason"], tick["late_minutes"]) == ("skipped", "too_late", "840")


def test_a_past_due_tick_within_the_limit_still_acts(fake, settings):
    fake.add_instance("ci-a", "Running")
    settings(STOP_COMPUTE_MAX_LATE_MINUTES="120")

    stop_compute_timer(make_timer(clock.now().replace(microsecond=0) - timedelta(minutes=90), past_due=True))

    assert fake.instances["ci-a"].state == "Stopping"


def test_a_late_pipeline_tick_still_runs_unless_limited(fake, settings, logs):
    pipeline = fake.add_published_pipeline()
    late = make_timer(clock.now().replace(microsecond=0) - timedelta(hours=14), past_due=True)
    settings(RUN_PIPELINE_ID=pipeline, RUN_PIPELINE_SCHEDULE="0 * * * * *")

    run_pipeline_timer(late)
    assert len(fake.runs) == 1, "no limit by default: a late run is usually still wanted"

    settings(RUN_PIPELINE_ID=pipeline, RUN_PIPELINE_SCHEDULE="0 * * * * *", RUN_PIPELINE_MAX_LATE_MINUTES="60")
    run_pipeline_timer(make_timer(clock.now().replace(microsecond=0) - timedelta(hours=13), past_due=True))
    assert len(fake.runs) == 1
    assert fields(logs, "tick")[-1]["reason"] == "too_late"


# --------------------------------------------------------------------------- 7. the deadline covers sign-in


def test_a_token_refresh_that_hangs_past_the_deadline_ends_the_tick_with_its_summary(
        fake, settings, timer, monkeypatch, tmp_path, logs):
    for i in range(40):
        fake.add_instance(f"ci-{i:02d}", "Running")
    fake.limit_arm(writes=(5, 1.0))  # 35 s of stops after the first five
    fake.token_seconds = 40  # taken again 10 s before it expires
    short_timeout(monkeypatch, tmp_path, "00:01:00")  # the tick's deadline: 30 s after it starts
    settings(AML_COMPUTE_COST="false")
    entra = fake.services[0]
    issue = entra.token_for

    def token_for(audience, client_id):  # the first sign-in answers; every later token request hangs a minute
        fake.hang("POST", "oauth2/v2.0/token", 60, times=100)
        return issue(audience, client_id)

    monkeypatch.setattr(entra, "token_for", token_for)

    with pytest.raises(DeadlineReached) as error:
        stop_compute_timer(timer)

    assert fake.in_flight == 0
    deferred = [line for line in fields(logs, "compute") if line["action"] == "deferred"]
    [total] = fields(logs, "compute_total")
    assert deferred and total["deferred"] == str(len(deferred))
    assert int(total["stopped"]) + len(deferred) == 40
    assert "host.json functionTimeout 00:01:00 less 30 s" in str(error.value)


def test_a_sign_in_that_hangs_ends_the_invocation_before_the_host_would(fake, settings, timer, monkeypatch,
                                                                         tmp_path, retry_clock):
    fake.add_instance("ci-a", "Running")
    short_timeout(monkeypatch, tmp_path, "00:00:40")  # 10 s before the deadline
    settings()
    fake.hang("POST", "oauth2/v2.0/token", 60, times=10)
    start = retry_clock.monotonic()

    with pytest.raises(Exception, match="sign_in .*reached its deadline"):
        stop_compute_timer(timer)

    assert retry_clock.monotonic() - start <= 10.5, "every wait and timeout ended by the deadline"
    assert fake.instances["ci-a"].state == "Running"


# --------------------------------------------------------------------------- 8. paging ends


def test_a_next_link_that_points_at_itself_fails_its_workspace(fleet, settings, timer, logs):
    fleet.workspaces[(SUBSCRIPTION, "rg-research", "ws-research")].next_link_loops = True
    settings(**FLEET)

    with pytest.raises(ComputeActionError, match="nextLink repeats a page already read"):
        stop_compute_timer(timer)

    assert len(fleet.requests_to(r"ws-research/computes\?")) == 1, "the first page already names itself"
    assert running(fleet) == {"ws-research/ci-a", "ws-research/ci-b"}
    [failed] = [line for line in fields(logs, "compute_workspace") if line.get("action") == "failed"]
    assert failed["reason"] == "bad_answer"


def test_a_continuation_token_that_repeats_fails_the_job(fake, settings, timer):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline())
    fake.add_run("scheduled-pipeline-runs", "other", ["Completed"])  # the experiment exists
    fake.runs_token_repeats = "same"

    with pytest.raises(BadAnswer, match="continuationToken repeats a page already read"):
        run_pipeline_timer(timer)

    assert len(fake.requests_to("runs:query")) == 2
    assert fake.runs.keys() == {next(iter(fake.runs))}, "nothing submitted"


# ------------------------------------------------------------------- 9. a throttle is pacing on the pipeline path


def test_a_throttle_before_the_submit_waits_within_the_deadline(fake, settings, timer, retry_clock, logs):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), AML_RETRY_BUDGET_SECONDS="10")
    fake.fail("POST", "runs:query", status=429, headers={"Retry-After": "300"})

    run_pipeline_timer(timer)

    assert len(fake.runs) == 1
    assert 300.0 in retry_clock.slept
    [wait] = fields(logs, "retry")
    assert (wait["action"], wait["reason"], wait["delay_s"]) == ("wait", "throttled", "300")


def test_a_throttle_longer_than_the_deadline_gives_up_saying_so(fake, settings, timer, logs):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline())
    fake.fail("POST", "runs:query", status=429, headers={"Retry-After": "900"})  # past 10 minutes less 30 s

    with pytest.raises(HttpError, match="status=429"):
        run_pipeline_timer(timer)

    [gave_up] = fields(logs, "retry")
    assert (gave_up["action"], gave_up["reason"]) == ("gave_up", "deadline")
    assert fake.runs == {}


# --------------------------------------------------------------------------- 10. short-lived tokens are reused


def test_a_short_lived_token_is_reused_for_most_of_its_life(fake, settings, timer):
    for i in range(20):
        fake.add_instance(f"ci-{i:02d}", "Running")
    fake.token_seconds = 120  # shorter than the five-minute margin of an hour-long token
    settings()

    stop_compute_timer(timer)

    assert all(instance.state == "Stopping" for instance in fake.instances.values())
    assert fake.tokens_issued == 1


# --------------------------------------------------------------------------- 11. a non-JSON answer names its call


@pytest.mark.parametrize(("pattern", "method", "call"), [
    ("oauth2/v2.0/token", "POST", "sign_in (POST login.microsoftonline.com/<AZURE_TENANT_ID>/oauth2/v2.0/token)"),
    ("runs:query", "POST", "query_runs (POST westeurope.api.azureml.ms/history/v1.0/subscriptions/"),
    ("PipelineSubmit", "POST", "submit (POST westeurope.api.azureml.ms/pipelines/v1.0/subscriptions/"),
], ids=["token", "run_history", "submit"])
def test_a_non_json_answer_names_the_call_the_status_and_the_content_type(fake, settings, timer, pattern, method,
                                                                          call):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline())
    fake.fail(method, pattern, status=200, body=HTML)

    with pytest.raises(Exception) as error:
        run_pipeline_timer(timer)

    message = str(error.value)
    assert call in message and "status=200 content_type=text/html" in message
    assert "the body is not JSON" in message and TENANT not in message
    assert "JSONDecodeError" not in message


# --------------------------------------------------------------------------- 12. one submit path


@pytest.mark.parametrize("target", ["pipeline_id", "batch_endpoint"])
def test_a_refired_tick_whose_run_is_active_is_already_submitted_for_every_target(fake, settings, timer, logs,
                                                                                   target):
    fake.run_statuses = fake.batch_job_statuses = ["Running"]
    if target == "pipeline_id":
        settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), RUN_PIPELINE_SKIP_IF_ACTIVE="true")
    else:
        fake.add_batch_endpoint("nightly-score")
        settings(RUN_PIPELINE_ID=None, RUN_PIPELINE_BATCH_ENDPOINT="nightly-score", RUN_PIPELINE_SKIP_IF_ACTIVE="true")

    run_pipeline_timer(timer)
    run_pipeline_timer(timer)  # the host fires the same tick again while its run is active

    actions = [line["action"] for line in fields(logs, "pipeline")]
    assert actions == ["submitted", "already_submitted"]
    lines = fields(logs, "pipeline")
    assert lines[0]["run_id"] == lines[1]["run_id"] and lines[1]["status"] == "Running"
    assert len(fake.runs) + len(fake.batch_jobs) == 1
