"""StopComputeTimer on the fake wire: the app lists and stops over ARM REST, outcomes asserted on the fake's state."""

from __future__ import annotations

import pytest

from fakeazure import CLIENT_ID, CLIENT_SECRET
from fakeazure.arm import COMPUTE_PAGE_SIZE
from shared.compute import ComputeActionError
from shared.settings import ConfigError
from tests.conftest import entry_point
from tests.logs import fields, only

stop_compute_timer = entry_point("StopComputeTimer")

ALL_STATES = ["Running", "JobRunning", "Starting", "Stopping", "Stopped", "Creating", "CreateFailed", "Restarting",
              "SettingUp", "SetupFailed", "UserSettingUp", "UserSetupFailed", "Unknown", "Unusable", "Deleting"]


def compute_lines(logs) -> dict[str, dict[str, str]]:
    """`compute` lines of the one workspace, keyed by instance name."""
    return {line["name"]: line for line in fields(logs, "compute")}


def summary(logs) -> dict[str, str]:
    return only(logs, "compute_summary")


def states(fake) -> dict[str, str]:
    return {name: instance.state for name, instance in fake.instances.items()}


def test_running_instances_are_stopped_and_every_other_state_is_left_alone(fake, settings, timer, logs):
    for state in ALL_STATES:
        fake.add_instance(f"ci-{state.lower()}", state)
    settings()

    stop_compute_timer(timer)

    after = states(fake)
    assert after.pop("ci-running") == "Stopping"
    assert after == {f"ci-{state.lower()}": state for state in ALL_STATES if state != "Running"}
    lines = compute_lines(logs)
    assert lines["ci-running"] == {"name": "ci-running", "state": "Running", "action": "stopped", "reason": "running",
                                   "workspace": "ws-demo", "subscription": "33333333-3333-3333-3333-333333333333",
                                   "vm_size": "STANDARD_NC6S_V3", "hourly_cost": "3.366"}
    assert lines["ci-jobrunning"]["action"] == "skipped" and lines["ci-jobrunning"]["reason"] == "job_running"
    assert lines["ci-jobrunning"]["state"] == "JobRunning"
    assert len(lines) == len(ALL_STATES)
    assert summary(logs)["stopped"] == "1" and summary(logs)["skipped"] == str(len(ALL_STATES) - 1)
    assert summary(logs)["skipped_job_running"] == "1"
    assert summary(logs)["skipped_not_running"] == str(len(ALL_STATES) - 2)


def test_the_stop_is_not_waited_for_and_the_instance_settles_later(fake, settings, timer):
    fake.add_instance("ci-a", "Running")
    settings()

    stop_compute_timer(timer)

    assert fake.instances["ci-a"].state == "Stopping"
    assert len(fake.requests_to(r"computeOperationsStatus")) == 0, "the app does not poll the async operation"


def test_include_and_exclude_by_name_and_glob(fake, settings, timer, logs):
    for name in ("gpu-alice", "gpu-bob", "cpu-carol", "dev-dan"):
        fake.add_instance(name, "Running")
    settings(STOP_COMPUTE_INCLUDE="gpu-*, dev-dan", STOP_COMPUTE_EXCLUDE="gpu-b?b")

    stop_compute_timer(timer)

    assert states(fake) == {"gpu-alice": "Stopping", "gpu-bob": "Running", "cpu-carol": "Running",
                            "dev-dan": "Stopping"}
    lines = compute_lines(logs)
    assert lines["gpu-bob"]["reason"] == "excluded" and lines["cpu-carol"]["reason"] == "not_included"


def test_exempt_tag_default_and_case_insensitive(fake, settings, timer, logs):
    fake.add_instance("keep-1", "Running", {"autostop": "false"})
    fake.add_instance("keep-2", "Running", {"AUTOSTOP": "False"})
    fake.add_instance("stop-1", "Running", {"autostop": "true"})
    settings()

    stop_compute_timer(timer)

    assert states(fake) == {"keep-1": "Running", "keep-2": "Running", "stop-1": "Stopping"}
    assert compute_lines(logs)["keep-2"]["reason"] == "exempt_tag"


def test_custom_exempt_tag(fake, settings, timer):
    fake.add_instance("a", "Running", {"Owner-Hours": "Always"})
    fake.add_instance("b", "Running", {"autostop": "false"})
    settings(STOP_COMPUTE_EXEMPT_TAG="owner-hours=always")

    stop_compute_timer(timer)

    assert states(fake) == {"a": "Running", "b": "Stopping"}


def test_clusters_and_other_computes_are_ignored(fake, settings, timer, logs):
    fake.add_instance("ci-a", "Running")
    fake.add_instance("cluster", "Running", compute_type="AmlCompute")
    fake.add_instance("aks", "Running", compute_type="AKS")
    settings()

    stop_compute_timer(timer)

    assert set(compute_lines(logs)) == {"ci-a"}
    assert fake.instances["cluster"].stops == 0 and fake.instances["aks"].stops == 0


def test_dry_run_changes_nothing_and_logs_would_stop(fake, settings, timer, logs):
    fake.add_instance("ci-a", "Running")
    fake.add_instance("ci-b", "Stopped")
    settings(STOP_COMPUTE_DRY_RUN="TRUE")

    stop_compute_timer(timer)

    assert states(fake) == {"ci-a": "Running", "ci-b": "Stopped"}
    assert not fake.requests_to("/stop", "POST")
    assert compute_lines(logs)["ci-a"]["action"] == "would_stop"
    assert summary(logs)["would_stop"] == "1" and summary(logs)["dry_run"] == "true"


def test_one_failing_stop_does_not_prevent_the_others_and_fails_the_invocation(fake, settings, timer, logs,
                                                                                 retry_clock):
    for i in range(6):
        fake.add_instance(f"ci-{i}", "Running")
    fake.instances["ci-3"].power_status = 500
    settings(AML_RETRY_BUDGET_SECONDS="10")

    with pytest.raises(ComputeActionError) as error:
        stop_compute_timer(timer)

    assert states(fake) == {**{f"ci-{i}": "Stopping" for i in range(6)}, "ci-3": "Running"}
    assert "1 of 6 compute instance(s) could not be stopped" in str(error.value)
    assert "ws-demo/ci-3: stop (POST management.azure.com/subscriptions/" in str(error.value)
    assert "/computes/ci-3/stop): status=500 InternalServerError" in str(error.value)
    line = compute_lines(logs)["ci-3"]
    assert (line["action"], line["reason"]) == ("failed", "service_error")
    assert line["error"].startswith('"stop (POST management.azure.com/') and "status=500" in line["error"]
    assert summary(logs)["failed"] == "1" and summary(logs)["stopped"] == "5"


def test_every_failed_instance_is_named_with_the_services_error_code(fake, settings, timer, logs):
    for name in ("a", "b", "c"):
        fake.add_instance(name, "Running").power_status = 403
    settings()

    with pytest.raises(ComputeActionError) as error:
        stop_compute_timer(timer)

    assert all(f"ws-demo/{name}: AuthorizationFailed: " in str(error.value) for name in ("a", "b", "c"))
    assert all(instance.stops == 1 for instance in fake.instances.values()), "a 403 is not retried"
    assert {line["reason"] for line in compute_lines(logs).values()} == {"refused"}
    assert CLIENT_ID not in str(error.value) + logs.text, "ARM's message names the client id: it is scrubbed"
    assert "<AZURE_CLIENT_ID>" in str(error.value)


def test_an_instance_that_stopped_meanwhile_is_not_a_failure(fake, settings, timer, logs):
    fake.add_instance("ci-a", "Running")
    fake.add_instance("ci-b", "Running").changes_after_listing = "Stopped"  # someone stops it right after the list
    settings()

    stop_compute_timer(timer)

    assert fake.instances["ci-b"].stops == 1, "the app did try, and the service refused (400, wrong state)"
    assert len(fake.requests_to(r"/computes/ci-b\?api-version=", "GET")) == 1, "then it read the instance once"
    assert compute_lines(logs)["ci-b"]["action"] == "skipped"
    assert compute_lines(logs)["ci-b"]["reason"] == "stopped_meanwhile"
    assert summary(logs)["failed"] == "0" and summary(logs)["skipped_stopped_meanwhile"] == "1"


def test_a_refusal_while_the_instance_is_still_running_is_a_failure(fake, settings, timer, logs):
    fake.add_instance("ci-a", "Running")
    fake.add_instance("ci-full", "Running").refusal = (
        "UserError", "StopCompute is not allowed when ComputeInstance disk is full.")
    settings()

    with pytest.raises(ComputeActionError) as error:
        stop_compute_timer(timer)

    assert "ws-demo/ci-full: UserError: StopCompute is not allowed when ComputeInstance disk is full. " \
           "(state Running)" in str(error.value)
    assert fake.instances["ci-full"].stops == 1, "a 400 is not retried"
    line = compute_lines(logs)["ci-full"]
    assert (line["action"], line["reason"]) == ("failed", "refused") and "disk is full" in line["error"]
    assert fake.instances["ci-a"].state == "Stopping"


def test_an_instance_that_started_a_job_meanwhile_is_a_refusal_not_a_stop(fake, settings, timer, logs):
    fake.add_instance("ci-a", "Running").changes_after_listing = "JobRunning"
    settings()

    with pytest.raises(ComputeActionError, match="StopComputeInstanceOnlyAllowedInRunningState"):
        stop_compute_timer(timer)

    assert fake.instances["ci-a"].state == "JobRunning"
    assert compute_lines(logs)["ci-a"]["reason"] == "refused"


def test_an_instance_deleted_meanwhile_is_skipped(fake, settings, timer, logs):
    fake.add_instance("ci-a", "Running")
    fake.add_instance("ci-gone", "Running").deleted_before_action = True
    settings()

    stop_compute_timer(timer)

    assert compute_lines(logs)["ci-gone"]["reason"] == "deleted_meanwhile"
    assert summary(logs)["failed"] == "0"


def test_a_wrong_state_answered_only_in_the_operation_is_not_waited_for(fake, settings, timer, logs):
    fake.wrong_state_answer = "lro"  # 202 now, the operation fails later
    fake.add_instance("ci-a", "Running").changes_after_listing = "Stopped"
    settings()

    stop_compute_timer(timer)

    assert compute_lines(logs)["ci-a"]["action"] == "stopped", "a 202 means the service took the request"
    assert not fake.requests_to("computeOperationsStatus"), "the operation is not polled"


def test_empty_workspace_is_a_quiet_success(fake, settings, timer, logs):
    settings()

    stop_compute_timer(timer)

    assert compute_lines(logs) == {}
    assert summary(logs)["instances"] == "0" and summary(logs)["stopped"] == "0"


def test_more_instances_than_one_list_page(fake, settings, timer, logs):
    count = COMPUTE_PAGE_SIZE * 2 + 5
    for i in range(count):
        fake.add_instance(f"ci-{i:03d}", "Running" if i % 2 else "Stopped")
    settings()

    stop_compute_timer(timer)

    assert len(fake.requests_to(r"/computes(\?|$)", "GET")) == 3
    assert len(compute_lines(logs)) == count
    assert sum(state == "Stopping" for state in states(fake).values()) == count // 2


def test_request_count_for_50_instances_with_20_running_is_k_plus_2(fake, settings, timer):
    for i in range(50):
        fake.add_instance(f"ci-{i:02d}", "Running" if i < 20 else "Stopped")
    settings()

    stop_compute_timer(timer)

    # the token, one list page, one stop per Running instance: no SDK, so no discovery, subscriptions or workspace;
    # and beside them one query of the public price list
    assert len(fake.requests) == 20 + 2 + 1, fake.requests
    assert len(fake.requests_to("prices.azure.com")) == 1
    assert len(fake.requests_to("/stop", "POST")) == 20
    assert not fake.requests_to(r"/computes/ci-", "GET"), "no per-instance GET: the list carries the state"


def test_bad_compute_settings_fail_before_any_network_call(fake, settings, timer):
    settings(STOP_COMPUTE_INCLUDE="gpu-[abc", STOP_COMPUTE_EXEMPT_TAG="autostop", STOP_COMPUTE_DRY_RUN="perhaps")

    with pytest.raises(ConfigError) as error:
        stop_compute_timer(timer)

    message = str(error.value)
    assert "STOP_COMPUTE_INCLUDE" in message and "STOP_COMPUTE_EXEMPT_TAG" in message
    assert "STOP_COMPUTE_DRY_RUN" in message and CLIENT_SECRET not in message
    assert fake.requests == []


def test_an_unusual_schedule_is_a_warning_and_the_tick_still_runs(fake, settings, timer, logs):
    fake.add_instance("ci-a", "Running")
    settings(STOP_COMPUTE_SCHEDULE="*/5 25 21 * * *")

    stop_compute_timer(timer)

    assert fake.instances["ci-a"].state == "Stopping"
    [warned] = [line for line in fields(logs, "settings")]
    assert (warned["setting"], warned["action"], warned["reason"]) == ("STOP_COMPUTE_SCHEDULE", "warned",
                                                                       "schedule_unusual")
    assert "fires 12 times a minute" in warned["detail"]


def test_a_pattern_that_matches_no_instance_of_the_tick_is_named_once(fake, settings, timer, logs):
    fake.add_instance("ci-a", "Running")
    settings(STOP_COMPUTE_INCLUDE="ws-dem/*,ci-*", STOP_COMPUTE_EXCLUDE="gpu-x")

    stop_compute_timer(timer)

    warned = [(line["setting"], line["pattern"]) for line in fields(logs, "compute_rules")]
    assert warned == [("STOP_COMPUTE_INCLUDE", "ws-dem/*"), ("STOP_COMPUTE_EXCLUDE", "gpu-x")]
    assert {line["reason"] for line in fields(logs, "compute_rules")} == {"pattern_matched_nothing"}
