"""StopComputeTimer on the fake wire: the real SDK lists, the app stops, outcomes asserted on the fake's state."""

from __future__ import annotations

import re

import pytest

from shared.compute import ComputeStopError
from shared.settings import ConfigError
from tests.conftest import entry_point
from tests.fakeazure import CLIENT_SECRET
from tests.fakeazure.service import COMPUTE_PAGE_SIZE

stop_compute_timer = entry_point("StopComputeTimer")

ALL_STATES = ["Running", "JobRunning", "Starting", "Stopping", "Stopped", "Creating", "CreateFailed", "Restarting",
              "SettingUp", "SetupFailed", "UserSettingUp", "UserSetupFailed", "Unknown", "Unusable", "Deleting"]


def compute_lines(logs) -> dict[str, dict[str, str]]:
    """`compute name=... state=... action=... reason=...` lines, keyed by instance name."""
    parsed = {}
    for record in logs.records:
        message = record.getMessage()
        if message.startswith("compute "):
            fields = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', message))
            parsed[fields["name"]] = fields
    return parsed


def summary(logs) -> dict[str, str]:
    [line] = [r.getMessage() for r in logs.records if r.getMessage().startswith("compute_summary ")]
    return dict(re.findall(r"(\w+)=(\S+)", line))


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
    assert lines["ci-running"] == {"name": "ci-running", "state": "Running", "action": "stopped", "reason": "running"}
    assert lines["ci-jobrunning"]["action"] == "skipped" and lines["ci-jobrunning"]["reason"] == "not_running"
    assert lines["ci-jobrunning"]["state"] == "JobRunning"
    assert len(lines) == len(ALL_STATES)
    assert summary(logs)["stopped"] == "1" and summary(logs)["skipped"] == str(len(ALL_STATES) - 1)
    assert summary(logs)["skipped_not_running"] == str(len(ALL_STATES) - 1)


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


def test_one_failing_stop_does_not_prevent_the_others_and_fails_the_invocation(fake, settings, timer, logs):
    for i in range(6):
        fake.add_instance(f"ci-{i}", "Running")
    fake.instances["ci-3"].stop_status = 500
    settings()

    with pytest.raises(ComputeStopError) as error:
        stop_compute_timer(timer)

    assert states(fake) == {**{f"ci-{i}": "Stopping" for i in range(6)}, "ci-3": "Running"}
    assert "1 of 6 compute instance(s) could not be stopped" in str(error.value)
    assert "ci-3: stop: status=500" in str(error.value)
    assert compute_lines(logs)["ci-3"]["action"] == "failed"
    assert summary(logs)["failed"] == "1" and summary(logs)["stopped"] == "5"


def test_every_failed_instance_is_named(fake, settings, timer):
    for name in ("a", "b", "c"):
        fake.add_instance(name, "Running").stop_status = 403
    settings()

    with pytest.raises(ComputeStopError) as error:
        stop_compute_timer(timer)

    assert all(f"{name}: status=403" in str(error.value) for name in ("a", "b", "c"))
    assert all(instance.stops == 1 for instance in fake.instances.values()), "a 403 is not retried"


def test_conflict_on_an_instance_that_stopped_meanwhile_is_not_a_failure(fake, settings, timer, logs):
    fake.add_instance("ci-a", "Running")
    fake.add_instance("ci-b", "Running").stops_after_listing = True  # someone stops it right after the list
    settings()

    stop_compute_timer(timer)

    assert fake.instances["ci-b"].stops == 1, "the app did try, and the service answered 409"
    assert compute_lines(logs)["ci-b"]["action"] == "skipped"
    assert compute_lines(logs)["ci-b"]["reason"] == "stopped_meanwhile"
    assert summary(logs)["failed"] == "0" and summary(logs)["skipped_stopped_meanwhile"] == "1"


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


def test_request_count_for_50_instances_with_20_running_is_at_most_k_plus_6(fake, settings, timer):
    for i in range(50):
        fake.add_instance(f"ci-{i:02d}", "Running" if i < 20 else "Stopped")
    settings()

    stop_compute_timer(timer)

    assert len(fake.requests) <= 20 + 6, fake.requests
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
