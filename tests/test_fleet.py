"""One app for the whole fleet: AML_COMPUTE_SCOPES across subscriptions, on the fake wire."""

from __future__ import annotations

import pytest

from fakeazure import SUBSCRIPTION
from shared.compute import ComputeActionError
from shared.scopes import Scope, parse_scopes
from shared.settings import ConfigError
from tests.conftest import entry_point
from tests.logs import fields

stop_compute_timer = entry_point("StopComputeTimer")

SUB_A, SUB_B, SUB_DENIED = SUBSCRIPTION, "44444444-4444-4444-4444-444444444444", "55555555-5555-5555-5555-555555555555"
NO_WORKSPACE = {"AML_SUBSCRIPTION_ID": None, "AML_RESOURCE_GROUP": None, "AML_WORKSPACE_NAME": None}


def ws_id(sub: str, group: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.MachineLearningServices/workspaces/{name}"


@pytest.fixture
def fleet(fake):
    """Two readable subscriptions, one denied; a hub without computes; a workspace whose computes are denied."""
    fake.workspace.add_instance("ci-demo", "Running")
    research = fake.add_workspace(SUB_A, "rg-research", "ws-research")
    research.add_instance("ci-a", "Running")
    research.add_instance("gpu-b", "Running")
    research.add_instance("ci-c", "Stopped")
    prod = fake.add_workspace(SUB_B, "rg-prod", "ws-prod")
    prod.add_instance("ci-a", "Running")
    prod.add_instance("keep", "Running", {"autostop": "false"})
    fake.add_workspace(SUB_B, "rg-prod", "ws-hub", kind="Hub")
    broken = fake.add_workspace(SUB_B, "rg-other", "ws-broken")
    broken.add_instance("ci-x", "Running")
    broken.readable = False
    fake.deny_subscription(SUB_DENIED)
    return fake


def states(fake) -> dict[str, str]:
    return {f"{ws.name}/{name}": instance.state for ws in fake.workspaces.values()
            for name, instance in ws.instances.items()}


def test_two_subscriptions_one_denied_and_one_unreadable_workspace(fleet, settings, timer, logs):
    settings(**NO_WORKSPACE, AML_COMPUTE_SCOPES=f"/subscriptions/{SUB_A}, /subscriptions/{SUB_B},"
                                                f"/subscriptions/{SUB_DENIED}")

    with pytest.raises(ComputeActionError) as error:
        stop_compute_timer(timer)

    stopped = {key for key, state in states(fleet).items() if state == "Stopping"}
    assert stopped == {"ws-demo/ci-demo", "ws-research/ci-a", "ws-research/gpu-b", "ws-prod/ci-a"}
    assert states(fleet)["ws-broken/ci-x"] == "Running" and states(fleet)["ws-prod/keep"] == "Running"
    message = str(error.value)
    assert f"scope /subscriptions/{SUB_DENIED}: list_workspaces (GET management.azure.com/subscriptions/" \
           f"{SUB_DENIED}/providers/Microsoft.MachineLearningServices/workspaces): status=403 AuthorizationFailed: " \
        in message
    assert f"workspace {ws_id(SUB_B, 'rg-other', 'ws-broken')}: list_computes (GET management.azure.com" \
           f"{ws_id(SUB_B, 'rg-other', 'ws-broken')}/computes): status=403 AuthorizationFailed: " in message
    assert "<AZURE_CLIENT_ID>" in message, "ARM names the client id: scrubbed"
    [total] = fields(logs, "compute_total")
    assert (total["workspaces"], total["stopped"], total["failed_scopes"], total["failed_workspaces"]) == \
           ("4", "4", "1", "1")
    summaries = {line["workspace"]: line for line in fields(logs, "compute_summary")}
    assert set(summaries) == {"ws-demo", "ws-research", "ws-prod", "ws-hub"}
    assert summaries["ws-hub"]["instances"] == "0"
    assert len(fleet.requests_to("ws-hub/computes", "GET")) == 1, "a hub without instances costs one list call"


def test_the_instance_line_names_its_workspace_and_subscription(fleet, settings, timer, logs):
    settings(**NO_WORKSPACE, AML_COMPUTE_SCOPES=f"/subscriptions/{SUB_B}/resourceGroups/rg-prod")

    stop_compute_timer(timer)

    found = {(line["workspace"], line["name"]): line for line in fields(logs, "compute")}
    assert found[("ws-prod", "ci-a")] == {"name": "ci-a", "state": "Running", "action": "stopped", "reason": "running",
                                          "workspace": "ws-prod", "subscription": SUB_B, "vm_size": "STANDARD_NC6S_V3",
                                          "hourly_cost": "3.366"}
    assert found[("ws-prod", "keep")]["reason"] == "exempt_tag"


def test_mixed_and_repeated_scopes_handle_each_workspace_once(fleet, settings, timer):
    research = ws_id(SUB_A, "rg-research", "ws-research")
    settings(**NO_WORKSPACE, AML_COMPUTE_SCOPES=",".join([
        f"/subscriptions/{SUB_A}/resourceGroups/RG-Research/", research.upper(), f" {research} ",
        ws_id(SUB_B, "rg-prod", "ws-prod"), f"/SUBSCRIPTIONS/{SUB_B}/resourceGroups/rg-prod"]))

    stop_compute_timer(timer)

    assert all(instance.stops <= 1 for ws in fleet.workspaces.values() for instance in ws.instances.values())
    assert states(fleet)["ws-research/ci-a"] == "Stopping" and states(fleet)["ws-prod/ci-a"] == "Stopping"
    assert states(fleet)["ws-demo/ci-demo"] == "Running", "not in any scope"
    assert len(fleet.requests_to("/workspaces\\?", "GET")) == 2, "one list per remaining scope, none per workspace id"
    assert len(fleet.requests_to("ws-research/computes\\?", "GET")) == 1


def test_workspace_slash_instance_patterns(fleet, settings, timer, logs):
    settings(**NO_WORKSPACE, AML_COMPUTE_SCOPES=f"/subscriptions/{SUB_A}",
             STOP_COMPUTE_INCLUDE="ws-research/*,ci-demo", STOP_COMPUTE_EXCLUDE="WS-RESEARCH/gpu-*")

    stop_compute_timer(timer)

    assert states(fleet)["ws-research/ci-a"] == "Stopping" and states(fleet)["ws-demo/ci-demo"] == "Stopping"
    assert states(fleet)["ws-research/gpu-b"] == "Running"
    reasons = {(line["workspace"], line["name"]): line["reason"] for line in fields(logs, "compute")}
    assert reasons[("ws-research", "gpu-b")] == "excluded"


def test_dry_run_covers_the_fleet(fleet, settings, timer, logs):
    scopes = f"/subscriptions/{SUB_A},/subscriptions/{SUB_B}/resourceGroups/rg-prod"
    settings(**NO_WORKSPACE, AML_COMPUTE_SCOPES=scopes, STOP_COMPUTE_DRY_RUN="true")

    stop_compute_timer(timer)

    assert "Stopping" not in states(fleet).values() and not fleet.requests_to("/stop", "POST")
    assert fields(logs, "compute_total")[0]["would_stop"] == "4"


def test_the_workspace_list_is_followed_across_pages(fake, settings, timer):
    fake.workspace_page_size = 5
    for i in range(12):
        fake.add_workspace(SUB_B, "rg-many", f"ws-{i:02d}").add_instance("ci", "Running")
    settings(**NO_WORKSPACE, AML_COMPUTE_SCOPES=f"/subscriptions/{SUB_B}")

    stop_compute_timer(timer)

    assert len(fake.requests_to(f"/subscriptions/{SUB_B}/providers/.*workspaces", "GET")) == 3
    many = [ws for ws in fake.workspaces.values() if ws.resource_group == "rg-many"]
    assert len(many) == 12 and all(ws.instances["ci"].state == "Stopping" for ws in many)


def test_one_bounded_pool_for_the_whole_tick(settings, timer):
    import responses

    from fakeazure import FakeAzure

    fake = FakeAzure(latency=0.02)
    for sub in (SUB_A, SUB_B):
        for w in range(6):
            workspace = fake.add_workspace(sub, "rg", f"ws-{sub[0]}{w}")
            for i in range(4):
                workspace.add_instance(f"ci-{i}", "Running")
    settings(**NO_WORKSPACE, AML_COMPUTE_SCOPES=f"/subscriptions/{SUB_A},/subscriptions/{SUB_B}")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as wire:
        fake.install(wire)
        stop_compute_timer(timer)

    assert 8 < fake.max_in_flight <= 16, "workspaces are not handled one after another, and never beyond the bound"
    assert sum(call.url.endswith("/stop?api-version=2024-04-01") for call in fake.requests) == 48
    assert not fake.unexpected


def test_without_scopes_the_workspace_settings_are_still_required(fake, settings, timer):
    settings(**NO_WORKSPACE)

    with pytest.raises(ConfigError, match="AML_SUBSCRIPTION_ID is missing"):
        stop_compute_timer(timer)


@pytest.mark.parametrize("bad", ["/subscriptions/not-a-guid", f"/subscriptions/{SUB_A}/providers/Microsoft.Compute",
                                 ws_id(SUB_A, "rg", "ws").replace("MachineLearningServices", "Storage"), ""])
def test_a_malformed_scope_names_the_setting_and_the_item_before_any_call(fake, settings, timer, bad):
    settings(**NO_WORKSPACE, AML_COMPUTE_SCOPES=f"/subscriptions/{SUB_A},{bad}")

    with pytest.raises(ConfigError) as error:
        stop_compute_timer(timer)

    assert f"AML_COMPUTE_SCOPES has items that are not ARM scopes: {bad!r}" in str(error.value)
    assert fake.requests == []


def test_scopes_merge_case_insensitively_and_drop_the_ones_inside_others():
    scopes, bad = parse_scopes(f" /subscriptions/{SUB_A}/ ,/subscriptions/{SUB_A.upper()}/resourceGroups/rg,"
                               f"{ws_id(SUB_B, 'rg', 'ws')},{ws_id(SUB_B, 'RG', 'WS')}/,/subscriptions/{SUB_A}")

    assert bad == []
    assert scopes == (Scope(SUB_A), Scope(SUB_B, "rg", "ws"))
