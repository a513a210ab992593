"""StartComputeTimer on the fake wire: only opted-in, stopped instances start; the rest is left alone and logged."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from fakeazure import SUBSCRIPTION
from shared.compute import ComputeActionError
from shared.settings import ConfigError
from tests.conftest import entry_point, make_timer
from tests.logs import instances, only

start_compute_timer = entry_point("StartComputeTimer")
OPT_IN = {"autostart": "true"}


def total(logs) -> dict[str, str]:
    return only(logs, "compute_total")


def states(fake) -> dict[str, str]:
    return {name: instance.state for name, instance in fake.instances.items()}


def test_only_tagged_stopped_instances_start_and_every_other_state_is_left_alone(fake, settings, timer, logs):
    fake.add_instance("ci-on", "Stopped", {"AutoStart": "TRUE"})  # key and value case-insensitive
    for state in ("Running", "Stopping", "Starting", "JobRunning", "CreateFailed"):
        fake.add_instance(f"ci-{state.lower()}", state, OPT_IN)
    fake.add_instance("ci-untagged", "Stopped")
    fake.add_instance("ci-other-value", "Stopped", {"autostart": "false"})
    settings()

    start_compute_timer(timer)

    assert states(fake) == {"ci-on": "Starting", "ci-running": "Running", "ci-stopping": "Stopping",
                            "ci-starting": "Starting", "ci-jobrunning": "JobRunning", "ci-createfailed": "CreateFailed",
                            "ci-untagged": "Stopped", "ci-other-value": "Stopped"}
    assert [call.url.split("/computes/")[1] for call in fake.requests_to("/start", "POST")] == [
        "ci-on/start?api-version=2024-04-01"]
    lines = instances(logs)
    assert (lines["ws-demo/ci-on"]["action"], lines["ws-demo/ci-on"]["reason"]) == ("started", "stopped")
    assert lines["ws-demo/ci-untagged"]["reason"] == "not_tagged"
    assert lines["ws-demo/ci-running"]["reason"] == "not_stopped"
    assert total(logs)["power"] == "start" and total(logs)["started"] == "1"


def test_exclude_wins_over_the_tag_and_include(fake, settings, timer):
    fake.add_instance("gpu-a", "Stopped", OPT_IN)
    fake.add_instance("gpu-b", "Stopped", OPT_IN)
    fake.add_instance("cpu-c", "Stopped", OPT_IN)
    settings(START_COMPUTE_INCLUDE="gpu-*", START_COMPUTE_EXCLUDE="gpu-b")

    start_compute_timer(timer)

    assert states(fake) == {"gpu-a": "Starting", "gpu-b": "Stopped", "cpu-c": "Stopped"}


def test_a_custom_opt_in_tag(fake, settings, timer):
    fake.add_instance("a", "Stopped", {"Morning": "Yes"})
    fake.add_instance("b", "Stopped", OPT_IN)
    settings(START_COMPUTE_TAG="morning=yes")

    start_compute_timer(timer)

    assert states(fake) == {"a": "Starting", "b": "Stopped"}


def test_an_instance_started_meanwhile_is_not_a_failure(fake, settings, timer, logs):
    fake.add_instance("ci-a", "Stopped", OPT_IN).changes_after_listing = "Starting"
    settings()

    start_compute_timer(timer)

    assert fake.instances["ci-a"].starts == 1, "the app tried; the service refused (400, wrong state)"
    assert instances(logs)["ws-demo/ci-a"]["reason"] == "started_meanwhile"
    assert total(logs)["failed"] == "0"


def test_one_failing_start_fails_the_invocation_naming_it_while_the_others_start(fake, settings, timer, logs):
    fake.add_instance("ci-a", "Stopped", OPT_IN)
    fake.add_instance("ci-b", "Stopped", OPT_IN).refusal = ("QuotaExceeded", "Not enough cores quota to start.")
    fake.add_instance("ci-c", "Stopped", OPT_IN)
    settings()

    with pytest.raises(ComputeActionError) as error:
        start_compute_timer(timer)

    assert states(fake) == {"ci-a": "Starting", "ci-b": "Stopped", "ci-c": "Starting"}
    assert str(error.value) == ("1 of 3 compute instance(s) could not be started: ws-demo/ci-b: QuotaExceeded: Not "
                                "enough cores quota to start. (state Stopped)")
    assert instances(logs)["ws-demo/ci-b"]["reason"] == "refused"


def test_dry_run_starts_nothing(fake, settings, timer, logs):
    fake.add_instance("ci-a", "Stopped", OPT_IN)
    settings(START_COMPUTE_DRY_RUN="yes")

    start_compute_timer(timer)

    assert states(fake) == {"ci-a": "Stopped"} and not fake.requests_to("/start", "POST")
    assert instances(logs)["ws-demo/ci-a"]["action"] == "would_start"


def test_with_no_tagged_instance_it_starts_nothing(fake, settings, timer, logs):
    fake.add_instance("ci-a", "Stopped")
    settings()

    start_compute_timer(timer)

    assert total(logs)["started"] == "0" and states(fake) == {"ci-a": "Stopped"}


def test_local_time_gate_starts_at_0830_berlin_time_only(fake, settings, logs):
    fake.add_instance("ci-a", "Stopped", OPT_IN)
    settings(START_COMPUTE_SCHEDULE="0 30 6,7 * * MON-FRI", START_COMPUTE_TIME_ZONE="Europe/Berlin",
             START_COMPUTE_LOCAL_SCHEDULE="0 30 8 * * 1-5")

    start_compute_timer(make_timer(datetime(2027, 7, 15, 7, 30, tzinfo=timezone.utc)))  # 09:30 in July
    assert fake.requests == [] and fake.instances["ci-a"].state == "Stopped"
    start_compute_timer(make_timer(datetime(2027, 7, 15, 6, 30, tzinfo=timezone.utc)))  # 08:30 in July

    assert fake.instances["ci-a"].state == "Starting"


def test_scopes_apply_to_start_as_to_stop(fake, settings, timer):
    other = fake.add_workspace("44444444-4444-4444-4444-444444444444", "rg-prod", "ws-prod")
    other.add_instance("ci-p", "Stopped", OPT_IN)
    fake.add_instance("ci-d", "Stopped", OPT_IN)
    settings(AML_SUBSCRIPTION_ID=None, AML_RESOURCE_GROUP=None, AML_WORKSPACE_NAME=None,
             AML_COMPUTE_SCOPES=f"/subscriptions/{SUBSCRIPTION},/subscriptions/44444444-4444-4444-4444-444444444444")

    start_compute_timer(timer)

    assert other.instances["ci-p"].state == "Starting" and fake.instances["ci-d"].state == "Starting"


def test_a_malformed_tag_names_the_setting_before_any_call(fake, settings, timer):
    settings(START_COMPUTE_TAG="autostart")

    with pytest.raises(ConfigError, match="START_COMPUTE_TAG is not valid: expected key=value, e.g. autostart=true; "
                                          "the value has 9 characters"):
        start_compute_timer(timer)
    assert fake.requests == []


def test_start_needs_its_own_schedule(fake, settings, timer):
    settings(START_COMPUTE_SCHEDULE=None)

    with pytest.raises(ConfigError, match="START_COMPUTE_SCHEDULE is missing"):
        start_compute_timer(timer)
