"""Selection rules of StopComputeTimer and StartComputeTimer, as a pure function: no Azure, fake or real."""

from __future__ import annotations

import pytest

from shared.selection import START, STOP, Decision, Instance, Rules, select


def decisions(instances: list[Instance], **rules) -> dict[str, tuple[str, str]]:
    return {d.name: (d.action, d.reason) for d in select(instances, Rules(**rules))}


STATES = ["Running", "JobRunning", "Starting", "Stopping", "Stopped", "Creating", "CreateFailed", "Deleting",
          "Restarting", "SettingUp", "SetupFailed", "UserSettingUp", "UserSetupFailed", "Unknown", "Unusable"]
OPTED_IN = {"autostart": "true"}


def starts(instances: list[Instance], **rules) -> dict[str, tuple[str, str]]:
    return decisions(instances, action=START, **{"tag": ("autostart", "true"), **rules})


def test_only_running_instances_are_stopped():
    result = decisions([Instance(f"ci-{i}", state) for i, state in enumerate(STATES)])

    assert result.pop("ci-0") == ("stop", "running")
    assert result.pop(f"ci-{STATES.index('JobRunning')}") == ("skip", "job_running")
    assert set(result.values()) == {("skip", "not_running")}


def test_only_stopped_instances_are_started():
    result = starts([Instance(f"ci-{i}", state, OPTED_IN) for i, state in enumerate(STATES)])

    assert result.pop(f"ci-{STATES.index('Stopped')}") == ("start", "stopped")
    assert result.pop(f"ci-{STATES.index('JobRunning')}") == ("skip", "job_running")
    assert set(result.values()) == {("skip", "not_stopped")}


def test_an_instance_running_a_job_is_busy_not_off():
    assert decisions([Instance("ci-a", "JobRunning")]) == {"ci-a": ("skip", "job_running")}


def test_start_needs_the_opt_in_tag_key_and_value_case_insensitively():
    instances = [Instance("a", "Stopped", {"AutoStart": "TRUE"}), Instance("b", "Stopped", {"autostart": "false"}),
                 Instance("c", "Stopped"), Instance("d", "Stopped", {"autostop": "true"})]

    assert starts(instances) == {"a": ("start", "stopped"), "b": ("skip", "not_tagged"), "c": ("skip", "not_tagged"),
                                 "d": ("skip", "not_tagged")}


def test_start_exclude_wins_over_the_tag_and_include():
    instances = [Instance("gpu-a", "Stopped", OPTED_IN), Instance("gpu-b", "Stopped", OPTED_IN)]

    assert starts(instances, include=("gpu-*",), exclude=("gpu-b",)) == {
        "gpu-a": ("start", "stopped"), "gpu-b": ("skip", "excluded")}


def test_the_stop_direction_is_the_default():
    assert Rules().action is STOP and STOP.meanwhile == "stopped_meanwhile" and START.meanwhile == "started_meanwhile"


def test_a_pattern_with_a_slash_matches_workspace_slash_instance():
    instances = [Instance("ci-a", "Running", workspace="ws-research"), Instance("ci-a", "Running", workspace="ws-prod"),
                 Instance("gpu-1", "Running", workspace="WS-Research")]

    found = [(d.workspace, d.name, d.action, d.reason) for d in select(instances, Rules(exclude=("ws-research/*",)))]

    assert found == [("ws-prod", "ci-a", "stop", "running"), ("ws-research", "ci-a", "skip", "excluded"),
                     ("WS-Research", "gpu-1", "skip", "excluded")]


def test_include_can_mix_instance_and_workspace_patterns():
    instances = [Instance("ci-a", "Running", workspace="ws-1"), Instance("gpu", "Running", workspace="ws-2"),
                 Instance("dev", "Running", workspace="ws-3")]

    assert [d.action for d in select(instances, Rules(include=("ws-2/*", "ci-*")))] == ["stop", "stop", "skip"]


def test_empty_include_means_every_instance():
    assert decisions([Instance("a", "Running"), Instance("b", "Running")]) == {
        "a": ("stop", "running"), "b": ("stop", "running")}


def test_include_by_name_and_by_glob():
    instances = [Instance(n, "Running") for n in ("gpu-alice", "gpu-bob", "cpu-carol", "dev")]

    result = decisions(instances, include=("gpu-*", "dev"))

    assert result == {"gpu-alice": ("stop", "running"), "gpu-bob": ("stop", "running"),
                      "cpu-carol": ("skip", "not_included"), "dev": ("stop", "running")}


def test_exclude_by_name_and_by_glob_wins_over_include():
    instances = [Instance(n, "Running") for n in ("gpu-alice", "gpu-bob", "cpu-carol")]

    result = decisions(instances, include=("gpu-*", "cpu-*"), exclude=("gpu-b?b", "cpu-carol"))

    assert result == {"gpu-alice": ("stop", "running"), "gpu-bob": ("skip", "excluded"),
                      "cpu-carol": ("skip", "excluded")}


def test_glob_character_classes():
    instances = [Instance(n, "Running") for n in ("ci-1", "ci-2", "ci-x")]

    assert decisions(instances, include=("ci-[0-9]",))["ci-x"] == ("skip", "not_included")
    assert decisions(instances, exclude=("ci-[!0-9]",))["ci-x"] == ("skip", "excluded")


def test_patterns_match_names_case_insensitively():
    assert decisions([Instance("GPU-Alice", "Running")], include=("gpu-*",)) == {"GPU-Alice": ("stop", "running")}


def test_exempt_tag_keeps_an_instance_running():
    instances = [Instance("keep", "Running", {"autostop": "false"}), Instance("stop", "Running", {"team": "a"})]

    assert decisions(instances) == {"keep": ("skip", "exempt_tag"), "stop": ("stop", "running")}


def test_exempt_tag_matches_case_insensitively():
    instances = [Instance("a", "Running", {"AutoStop": "FALSE"}), Instance("b", "Running", {"autostop": " False "})]

    assert set(decisions(instances).values()) == {("skip", "exempt_tag")}


def test_exempt_tag_needs_the_value_too():
    assert decisions([Instance("a", "Running", {"autostop": "true"})]) == {"a": ("stop", "running")}


def test_custom_exempt_tag():
    instances = [Instance("a", "Running", {"Keep-Alive": "Yes"}), Instance("b", "Running", {"autostop": "false"})]

    assert decisions(instances, tag=("keep-alive", "yes")) == {
        "a": ("skip", "exempt_tag"), "b": ("stop", "running")}


@pytest.mark.parametrize(
    ("rules", "reason"),
    [({"exclude": ("x",), "include": ("y",)}, "excluded"), ({"include": ("y",)}, "not_included"), ({}, "exempt_tag")],
)
def test_the_first_reason_that_applies_is_reported(rules, reason):
    instance = Instance("x", "Stopped", {"autostop": "false"})

    assert select([instance], Rules(**rules)) == [Decision("x", "Stopped", "skip", reason)]


def test_decisions_are_sorted_by_name():
    names = [d.name for d in select([Instance(n, "Running") for n in ("b", "C", "a")], Rules())]

    assert names == ["a", "b", "C"]


def test_no_instances_no_decisions():
    assert select([], Rules()) == []
