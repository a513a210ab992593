"""RunPipelineTimer on the fake wire: the real SDK, a real TimerRequest, outcomes asserted."""

from __future__ import annotations

import json

import pytest

from fakeazure import CLIENT_ID, CLIENT_SECRET, IDENTITY_ENDPOINT, IDENTITY_HEADER, RUN_STATUSES, WORKSPACE
from shared.arm import WorkspaceError
from shared.pipelines import PipelineError
from shared.runhistory import RunHistoryError
from shared.settings import DEFAULT_EXPERIMENT, ConfigError
from shared.tokens import SignInError
from tests.conftest import TICK, entry_point, make_timer

run_pipeline_timer = entry_point("RunPipelineTimer")


def only_run(fake):
    assert len(fake.runs) == 1, f"expected one run, got {len(fake.runs)}"
    return next(iter(fake.runs.values()))


def lines(logs, prefix: str) -> list[str]:
    return [record.getMessage() for record in logs.records if record.getMessage().startswith(prefix)]


def test_submits_published_pipeline_by_id_into_default_experiment_and_returns(fake, settings, timer, logs):
    pipeline_id = fake.add_published_pipeline("train")
    settings(RUN_PIPELINE_ID=pipeline_id)

    run_pipeline_timer(timer)

    run = only_run(fake)
    assert (run.pipeline_id, run.experiment, run.parameters) == (pipeline_id, DEFAULT_EXPERIMENT, {})
    assert run.reads <= 1, "the function must not poll the run unless told to wait"
    [line] = lines(logs, "pipeline action=submitted")
    assert f"run_id={run.run_id}" in line and f"pipeline={pipeline_id}" in line
    assert f"experiment={DEFAULT_EXPERIMENT}" in line and "tick=2026-11-21T03:00:00Z" in line
    assert f"portal_url=https://ml.azure.com/runs/{run.run_id}?wsid=" in line


def test_run_is_tagged_with_app_function_and_tick(fake, settings, timer):
    pipeline_id = fake.add_published_pipeline("train")
    settings(RUN_PIPELINE_ID=pipeline_id)

    run_pipeline_timer(timer)

    assert only_run(fake).tags == {
        "started_by": "aml-timer-functions",
        "function": "RunPipelineTimer",
        "schedule_tick": "2026-11-21T03:00:00Z",
        "past_due": "false",
        "pipeline_id": pipeline_id,
        "published_pipeline": "train",
    }


def test_submits_the_default_version_of_a_pipeline_endpoint(fake, settings, timer, logs):
    old, new = fake.add_published_pipeline("train-v1"), fake.add_published_pipeline("train-v2")
    fake.add_pipeline_endpoint("nightly-train", {"0": old, "1": new}, default_version="1")
    settings(RUN_PIPELINE_ENDPOINT_NAME="nightly-train", RUN_PIPELINE_EXPERIMENT="nightly")

    run_pipeline_timer(timer)

    run = only_run(fake)
    assert (run.pipeline_id, run.experiment) == (new, "nightly")
    assert run.tags["pipeline_endpoint"] == "nightly-train" and run.tags["pipeline_id"] == new
    assert fake.requests_to("PipelineEndpointSubmit", "POST"), "an endpoint is submitted through its own URL"
    [line] = lines(logs, "pipeline action=submitted")
    assert "pipeline_endpoint=nightly-train" in line and f"pipeline={new}" in line


def test_parameters_are_sent_as_the_sdk_sends_them(fake, settings, timer):
    pipeline_id = fake.add_published_pipeline()
    settings(RUN_PIPELINE_ID=pipeline_id,
             RUN_PIPELINE_PARAMETERS=json.dumps({"learning_rate": 0.01, "epochs": 3, "mode": "full", "dry": True}))

    run_pipeline_timer(timer)

    assert only_run(fake).parameters == {"learning_rate": "0.01", "epochs": "3", "mode": "full", "dry": "True"}


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"AML_WORKSPACE_NAME": None}, "AML_WORKSPACE_NAME is missing"),
        ({"AML_SUBSCRIPTION_ID": "not-a-guid"}, "AML_SUBSCRIPTION_ID is not valid"),
        ({"AML_RESOURCE_GROUP": "  "}, "AML_RESOURCE_GROUP is missing"),
        ({"RUN_PIPELINE_ID": None},
         "RUN_PIPELINE_ID, RUN_PIPELINE_ENDPOINT_NAME or RUN_PIPELINE_BATCH_ENDPOINT is missing"),
        ({"RUN_PIPELINE_ENDPOINT_NAME": "nightly"}, "both set: set exactly one"),
        ({"RUN_PIPELINE_ID": "12"}, "RUN_PIPELINE_ID is not valid"),
        ({"RUN_PIPELINE_PARAMETERS": "{lr: 1}"}, "RUN_PIPELINE_PARAMETERS is not valid JSON"),
        ({"RUN_PIPELINE_PARAMETERS": "[1, 2]"}, "RUN_PIPELINE_PARAMETERS is a JSON array, not an object"),
        ({"RUN_PIPELINE_PARAMETERS": '{"a": {"b": 1}}'}, "not strings, numbers or booleans for ['a']"),
        ({"RUN_PIPELINE_SKIP_IF_ACTIVE": "maybe"}, "RUN_PIPELINE_SKIP_IF_ACTIVE is not a boolean"),
        ({"RUN_PIPELINE_WAIT_MINUTES": "-5"}, "RUN_PIPELINE_WAIT_MINUTES is not valid"),
        ({"RUN_PIPELINE_WAIT_MINUTES": "ten"}, "RUN_PIPELINE_WAIT_MINUTES is not valid"),
        ({"RUN_PIPELINE_EXPERIMENT": "my experiment"}, "RUN_PIPELINE_EXPERIMENT is not valid"),
        ({"RUN_PIPELINE_SCHEDULE": "0 3 * * *"}, "RUN_PIPELINE_SCHEDULE='0 3 * * *' is not a valid schedule"),
        ({"AML_CLOUD": "AzureGermany"}, "AML_CLOUD is not valid"),
        ({"AZURE_TENANT_ID": None}, "AZURE_TENANT_ID is missing"),
    ],
)
def test_configuration_error_names_the_setting_before_any_network_call(fake, settings, timer, overrides, fragment):
    settings(**{"RUN_PIPELINE_ID": fake.add_published_pipeline(), **overrides})

    with pytest.raises(ConfigError) as error:
        run_pipeline_timer(timer)

    assert fragment in str(error.value)
    assert fake.requests == [], "a configuration error must fail before any call to Azure"
    assert CLIENT_SECRET not in str(error.value)


def test_every_configuration_problem_is_reported_at_once(fake, settings, timer):
    settings(AML_WORKSPACE_NAME=None, RUN_PIPELINE_PARAMETERS="[]", RUN_PIPELINE_SKIP_IF_ACTIVE="sure",
             AML_CLOUD="Mars")

    with pytest.raises(ConfigError) as error:
        run_pipeline_timer(timer)

    named = [name for name in ("AML_WORKSPACE_NAME", "RUN_PIPELINE_PARAMETERS", "RUN_PIPELINE_SKIP_IF_ACTIVE",
                               "AML_CLOUD", "RUN_PIPELINE_ID, RUN_PIPELINE_ENDPOINT_NAME or "
                               "RUN_PIPELINE_BATCH_ENDPOINT")
             if name in str(error.value)]
    assert len(named) == 5 and len(error.value.problems) == 5


def test_wrong_secret_fails_with_the_service_error_code_and_the_setting_to_check(fake, settings, timer):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), AZURE_CLIENT_SECRET="wrong-secret-value-123")

    with pytest.raises(SignInError) as error:
        run_pipeline_timer(timer)

    message = str(error.value)
    assert message == ("sign-in failed: mode=service_principal error=AADSTS7000215: AZURE_CLIENT_SECRET is not a "
                       "valid secret of AZURE_CLIENT_ID (use the secret's value, not its id). The service said: "
                       "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request "
                       "is the client secret value, not the client secret ID.")
    assert error.value.__cause__ is None and error.value.__suppress_context__, "msal's text names tenant and client"
    assert not fake.requests_to("workspaces"), "no workspace call after a failed sign-in"
    assert fake.runs == {}


def test_unknown_workspace_is_named_in_the_error(fake, settings, timer):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), AML_WORKSPACE_NAME="ws-typo")

    with pytest.raises(WorkspaceError) as error:
        run_pipeline_timer(timer)

    assert "workspace=ws-typo" in str(error.value) and "error=WorkspaceNotFound" in str(error.value)
    assert fake.runs == {}


def test_workspace_the_identity_cannot_read_says_to_grant_a_role(fake, settings, timer):
    fake.workspace.readable = False
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline())

    with pytest.raises(WorkspaceError) as error:
        run_pipeline_timer(timer)

    assert f"workspace={WORKSPACE}" in str(error.value) and "AuthorizationFailed" in str(error.value)
    assert "grant it a role" in str(error.value)


def test_unknown_pipeline_id_fails_loudly(fake, settings, timer):
    settings(RUN_PIPELINE_ID="99999999-9999-9999-9999-999999999999")

    with pytest.raises(PipelineError, match="no published pipeline with this id"):
        run_pipeline_timer(timer)
    assert fake.runs == {}


def test_disabled_pipeline_is_not_submitted(fake, settings, timer):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline("old", status="Disabled"))

    with pytest.raises(PipelineError, match="is Disabled"):
        run_pipeline_timer(timer)
    assert fake.runs == {}


def test_unknown_endpoint_name_fails_loudly(fake, settings, timer):
    settings(RUN_PIPELINE_ENDPOINT_NAME="no-such-endpoint")

    with pytest.raises(PipelineError, match="no pipeline endpoint with this name"):
        run_pipeline_timer(timer)


def test_failed_submit_fails_the_invocation(fake, settings, timer):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline())
    fake.fail("POST", "PipelineSubmit", status=400)

    with pytest.raises(PipelineError, match="submit failed.*status=400"):
        run_pipeline_timer(timer)
    assert fake.runs == {}


def test_skip_if_active_submits_nothing_while_a_run_of_the_pipeline_is_active(fake, settings, timer, logs):
    pipeline_id = fake.add_published_pipeline()
    active = fake.add_run(DEFAULT_EXPERIMENT, pipeline_id, ["Running"])
    fake.add_run(DEFAULT_EXPERIMENT, pipeline_id, ["Completed"])
    settings(RUN_PIPELINE_ID=pipeline_id, RUN_PIPELINE_SKIP_IF_ACTIVE="true")

    run_pipeline_timer(timer)

    assert len(fake.runs) == 2 and not fake.requests_to("PipelineSubmit")
    [line] = lines(logs, "pipeline action=skipped_active")
    assert f"run_id={active.run_id}" in line and "status=Running" in line


def test_skip_if_active_ignores_other_pipelines_and_other_experiments(fake, settings, timer):
    pipeline_id, other = fake.add_published_pipeline(), fake.add_published_pipeline("other")
    fake.add_run(DEFAULT_EXPERIMENT, other, ["Running"])
    fake.add_run("another-experiment", pipeline_id, ["Running"])
    settings(RUN_PIPELINE_ID=pipeline_id, RUN_PIPELINE_SKIP_IF_ACTIVE="yes")

    run_pipeline_timer(timer)

    assert len(fake.requests_to("PipelineSubmit", "POST")) == 1


def test_skip_if_active_for_an_endpoint_looks_at_its_current_default_pipeline(fake, settings, timer, logs):
    old, new = fake.add_published_pipeline("v1"), fake.add_published_pipeline("v2")
    fake.add_pipeline_endpoint("nightly", {"0": old, "1": new}, default_version="1")
    fake.add_run(DEFAULT_EXPERIMENT, old, ["Running"])
    settings(RUN_PIPELINE_ENDPOINT_NAME="nightly", RUN_PIPELINE_SKIP_IF_ACTIVE="true")

    run_pipeline_timer(timer)
    assert len(fake.requests_to("PipelineEndpointSubmit", "POST")) == 1, "a run of an old version does not block"

    blocking = fake.add_run(DEFAULT_EXPERIMENT, new, ["Queued"])
    run_pipeline_timer(make_timer(TICK.replace(day=22)))
    assert len(fake.requests_to("PipelineEndpointSubmit", "POST")) == 1
    assert f"run_id={blocking.run_id}" in lines(logs, "pipeline action=skipped_active")[0]


def test_wait_returns_when_the_run_completes(fake, settings, timer, logs, pipeline_clock):
    fake.run_statuses = ["NotStarted", "Running", "Running", "Completed"]
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), RUN_PIPELINE_WAIT_MINUTES="9")

    run_pipeline_timer(timer)

    [line] = lines(logs, "pipeline action=completed")
    assert f"run_id={only_run(fake).run_id}" in line and "status=Completed" in line
    assert pipeline_clock.slept and sum(pipeline_clock.slept) < 600


@pytest.mark.parametrize("final", ["Failed", "Canceled"])
def test_wait_fails_the_invocation_when_the_run_ends_badly(fake, settings, timer, pipeline_clock, final):
    fake.run_statuses = ["Running", final]
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), RUN_PIPELINE_WAIT_MINUTES="5")

    with pytest.raises(PipelineError) as error:
        run_pipeline_timer(timer)

    assert f"run {only_run(fake).run_id} ended {final}" in str(error.value)


def test_wait_fails_when_the_run_is_still_going_at_the_deadline(fake, settings, timer, pipeline_clock):
    fake.run_statuses = ["Running"]
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), RUN_PIPELINE_WAIT_MINUTES="2")

    with pytest.raises(PipelineError) as error:
        run_pipeline_timer(timer)

    assert f"run {only_run(fake).run_id} is still Running after RUN_PIPELINE_WAIT_MINUTES=2" in str(error.value)
    assert sum(pipeline_clock.slept) == pytest.approx(120)


def test_wait_prints_nothing_to_stdout(fake, settings, timer, pipeline_clock, capsys):
    fake.run_statuses = ["Running", "Completed"]
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), RUN_PIPELINE_WAIT_MINUTES="1")

    run_pipeline_timer(timer)

    assert capsys.readouterr().out == ""


def test_past_due_tick_logs_a_warning_and_still_submits(fake, settings, logs):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline())

    run_pipeline_timer(make_timer(TICK, past_due=True))

    [warning] = [r for r in logs.records if r.levelname == "WARNING" and r.getMessage().startswith("tick ")]
    assert "past_due=true" in warning.getMessage() and "tick=2026-11-21T03:00:00Z" in warning.getMessage()
    assert only_run(fake).tags["past_due"] == "true"


def test_without_schedule_status_the_tick_is_the_latest_scheduled_occurrence(fake, settings, logs):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), RUN_PIPELINE_SCHEDULE="0 */5 * * * *")

    run_pipeline_timer(make_timer(None))

    tick = only_run(fake).tags["schedule_tick"]
    assert tick.endswith(":00Z") and int(tick[14:16]) % 5 == 0
    assert "source=schedule" in lines(logs, "tick ")[0]


def test_a_second_invocation_for_the_same_tick_submits_nothing(fake, settings, timer, logs):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline())

    run_pipeline_timer(timer)
    run_pipeline_timer(timer)

    run = only_run(fake)
    [line] = lines(logs, "pipeline action=already_submitted")
    assert f"run_id={run.run_id}" in line


def test_managed_identity_system_assigned_signs_in_without_a_secret(fake, settings, timer, logs, monkeypatch):
    monkeypatch.setenv("IDENTITY_ENDPOINT", IDENTITY_ENDPOINT)
    monkeypatch.setenv("IDENTITY_HEADER", IDENTITY_HEADER)
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), AZURE_CLIENT_SECRET=None, AZURE_CLIENT_ID=None,
             AZURE_TENANT_ID=None)

    run_pipeline_timer(timer)

    assert len(fake.runs) == 1 and not fake.requests_to("login.microsoftonline.com")
    assert lines(logs, "auth ") == ["auth mode=managed_identity identity=system_assigned cloud=AzureCloud"]
    assert all("client_id" not in call.url for call in fake.requests_to("msi/token"))


def test_managed_identity_user_assigned_asks_for_its_client_id(fake, settings, timer, logs, monkeypatch):
    monkeypatch.setenv("IDENTITY_ENDPOINT", IDENTITY_ENDPOINT)
    monkeypatch.setenv("IDENTITY_HEADER", IDENTITY_HEADER)
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), AZURE_CLIENT_SECRET=None)

    run_pipeline_timer(timer)

    assert len(fake.runs) == 1
    assert "identity=user_assigned" in lines(logs, "auth ")[0]
    assert all(f"client_id={CLIENT_ID}" in call.url for call in fake.requests_to("msi/token"))


def test_managed_identity_outside_azure_says_how_to_fix_it(fake, settings, timer):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), AZURE_CLIENT_SECRET=None)

    with pytest.raises(SignInError, match="IDENTITY_ENDPOINT/IDENTITY_HEADER are not set"):
        run_pipeline_timer(timer)


def test_warm_invocations_reuse_sign_in_and_workspace(fake, settings):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline())
    run_pipeline_timer(make_timer(TICK))
    first = len(fake.requests)

    run_pipeline_timer(make_timer(TICK.replace(day=22)))

    second = fake.requests[first:]
    assert len(fake.runs) == 2
    assert not [call for call in second if "login.microsoftonline.com" in call.url or "/subscriptions?" in call.url]
    assert not [call for call in second if call.url.split("?")[0].endswith(f"workspaces/{WORKSPACE}")]


def test_no_secret_in_any_log_or_error(fake, settings, timer, logs, capsys):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline())
    run_pipeline_timer(timer)
    errors = []
    for overrides in ({"AZURE_CLIENT_SECRET": CLIENT_SECRET + "x"}, {"AML_WORKSPACE_NAME": "missing-ws"},
                      {"RUN_PIPELINE_PARAMETERS": "nope"}, {"AZURE_CLIENT_ID": CLIENT_SECRET},
                      {"AZURE_TENANT_ID": CLIENT_SECRET}):
        settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), **overrides)
        with pytest.raises(Exception) as error:  # noqa: B017 - each kind of failure is checked for leaks
            run_pipeline_timer(make_timer(TICK.replace(hour=4)))
        errors.append(f"{error.value!r} {error.value.__cause__!r}")

    captured = capsys.readouterr()
    everything = "\n".join([logs.text, *errors, captured.out, captured.err])
    assert CLIENT_SECRET not in everything


# --------------------------------------------------------------------------- run history, tags and run states


def test_a_new_experiment_has_no_runs_yet_by_run_historys_own_404(fake, settings, timer):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), RUN_PIPELINE_EXPERIMENT="brand-new")

    run_pipeline_timer(timer)

    assert only_run(fake).experiment == "brand-new"
    assert fake.requests_to("experiments/brand-new/runs:query"), "the query was made and answered 404"


def test_a_404_that_is_not_run_historys_own_is_an_error_naming_the_url(fake, settings, timer):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline())
    fake.fail("POST", "runs:query", status=404, body="<html><body>404 Not Found</body></html>")

    with pytest.raises(RunHistoryError) as error:
        run_pipeline_timer(timer)

    assert "query_runs (POST westeurope.api.azureml.ms/history/v1.0/subscriptions/" in str(error.value)
    assert "status=404" in str(error.value) and "(text/html) <html>" in str(error.value)
    assert "is not run history's JSON error" in str(error.value)
    assert fake.runs == {}, "a misconfiguration never looks like an empty history"


def test_run_history_is_read_on_the_workspaces_discovered_endpoint(fake, settings, timer, pipeline_clock):
    fake.history_host = "https://ws-demo-history.privatelink.api.azureml.ms"  # differs from the pipelines host
    fake.run_statuses = ["Running", "Completed"]
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), RUN_PIPELINE_WAIT_MINUTES="1",
             RUN_PIPELINE_SKIP_IF_ACTIVE="true")

    run_pipeline_timer(timer)

    history = fake.requests_to("/history/")
    assert history and all(call.url.startswith(fake.history_host) for call in history)
    assert only_run(fake).status == "Completed"


ENDED = {"Completed", "Failed", "Canceled"}


@pytest.mark.parametrize("status", [*RUN_STATUSES, "SomethingNew", None])
def test_skip_if_active_treats_every_status_but_the_ended_ones_as_active(fake, settings, timer, status):
    pipeline_id = fake.add_published_pipeline()
    fake.add_run(DEFAULT_EXPERIMENT, pipeline_id, [status])
    settings(RUN_PIPELINE_ID=pipeline_id, RUN_PIPELINE_SKIP_IF_ACTIVE="true")

    run_pipeline_timer(timer)

    submitted = len(fake.requests_to("PipelineSubmit", "POST"))
    assert submitted == (1 if status in ENDED else 0), f"status {status}"


def test_waiting_goes_on_through_every_active_status(fake, settings, timer, logs, pipeline_clock):
    active = [status for status in RUN_STATUSES if status not in ENDED]
    fake.run_statuses = [*active, "Completed"]
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), RUN_PIPELINE_WAIT_MINUTES="9")

    run_pipeline_timer(timer)

    assert only_run(fake).reads == len(active) + 1
    assert "status=Completed" in lines(logs, "pipeline action=completed")[0]
    waiting = [line.split(" status=")[1] for line in lines(logs, "pipeline action=waiting")]
    assert waiting == active, "one line each time the run's status changes, what a person watching wants to see"


def test_a_run_whose_tags_the_service_dropped_is_tagged_before_the_tick_returns(fake, settings, timer, logs):
    fake.stores_submit_tags = False
    pipeline_id = fake.add_published_pipeline("train")
    settings(RUN_PIPELINE_ID=pipeline_id)

    run_pipeline_timer(timer)
    run_pipeline_timer(timer)  # the host fires the same tick again

    run = only_run(fake)
    assert run.tags["schedule_tick"] == "2026-11-21T03:00:00Z" and run.tags["started_by"] == "aml-timer-functions"
    assert "tags=patch" in lines(logs, "pipeline action=submitted")[0]
    assert len(lines(logs, "pipeline action=already_submitted")) == 1


def test_tags_the_submit_stored_are_not_set_again(fake, settings, timer, logs):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline())

    run_pipeline_timer(timer)

    assert not fake.requests_to("/runs/", "PATCH")
    assert "tags=submit" in lines(logs, "pipeline action=submitted")[0]


def test_a_published_pipelines_notification_setting_is_passed_on(fake, settings, timer):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(enable_notification=True))

    run_pipeline_timer(timer)

    assert only_run(fake).submission["enable_email_notification"] is True
