"""A fleet tick under ARM's request limits: throttling is pacing, no subscription waits for another, and a tick that
knows its deadline ends on its own. The fake applies ARM's token buckets on the tests' virtual clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakeazure import SUBSCRIPTION
from shared import hostconfig
from shared.compute import DeadlineReached
from tests.conftest import TICK, entry_point, make_timer
from tests.fresh import tick_in_a_fresh_interpreter
from tests.logs import fields

stop_compute_timer = entry_point("StopComputeTimer")

ROOT = Path(__file__).resolve().parent.parent
SUB_A, SUB_B, SUB_C = SUBSCRIPTION, "44444444-4444-4444-4444-444444444444", "55555555-5555-5555-5555-555555555555"
NO_WORKSPACE = {"AML_SUBSCRIPTION_ID": None, "AML_RESOURCE_GROUP": None, "AML_WORKSPACE_NAME": None}
SCOPES = f"/subscriptions/{SUB_A},/subscriptions/{SUB_B},/subscriptions/{SUB_C}"


def seed(fake, subscription: str, workspaces: int, running: int) -> None:
    for w in range(workspaces):
        workspace = fake.add_workspace(subscription, "rg", f"ws-{subscription[:4]}-{w:02d}")
        for i in range(running):
            workspace.add_instance(f"ci-{i:02d}", "Running")


@pytest.fixture
def fleet(fake):
    """A: 8 workspaces x 10 running instances; B and C: 1 workspace x 5 each. Writes: 10 at once, then 5/s."""
    fake.workspaces.clear()
    seed(fake, SUB_A, 8, 10)
    seed(fake, SUB_B, 1, 5)
    seed(fake, SUB_C, 1, 5)
    fake.limit_arm(reads=(100, 25.0), writes=(10, 5.0))
    return fake


def stopped(fake) -> dict[str, list[float]]:
    """When (fake clock) each subscription's stops were accepted."""
    found: dict[str, list[float]] = {}
    for at, subscription, _, action in fake.accepted:
        if action == "stop":
            found.setdefault(subscription, []).append(at)
    return found


def short_timeout(monkeypatch, tmp_path, timeout: str) -> None:
    """host.json with this functionTimeout (the deadline is it less 30 s)."""
    path = tmp_path / "host.json"
    path.write_text(json.dumps({"version": "2.0", "functionTimeout": timeout}), encoding="utf-8")
    monkeypatch.setattr(hostconfig, "HOST_JSON", path)


def test_a_throttled_subscription_never_delays_the_others(fleet, settings, timer, retry_clock, logs):
    settings(**NO_WORKSPACE, AML_COMPUTE_SCOPES=SCOPES)
    start = retry_clock.monotonic()

    stop_compute_timer(timer)

    times = stopped(fleet)
    assert {sub: len(at) for sub, at in times.items()} == {SUB_A: 80, SUB_B: 5, SUB_C: 5}
    assert max(times[SUB_B] + times[SUB_C]) == start, "B and C were done before A's first pause"
    assert max(times[SUB_A]) - start >= (80 - 10) / 5 * 0.9, "A went at its bucket's refill rate"
    [total] = fields(logs, "compute_total")
    assert (total["stopped"], total["failed"], total["deferred"]) == ("90", "0", "0")


def test_throttling_is_paced_so_throttled_answers_stay_few(fleet, settings, timer):
    settings(**NO_WORKSPACE, AML_COMPUTE_SCOPES=SCOPES)

    stop_compute_timer(timer)

    throttled = sum(fleet.limits.throttled.values())
    assert throttled <= 0.1 * 90, f"{throttled} answers were 429 for 90 stops"


def test_throttling_draws_nothing_from_the_fault_budget(fleet, settings, timer, logs):
    settings(**NO_WORKSPACE, AML_COMPUTE_SCOPES=SCOPES, AML_RETRY_BUDGET_SECONDS="0")
    fleet.fail("POST", r"ws-5555-00/computes/ci-00/stop", status=503)

    with pytest.raises(Exception, match="1 of 90 compute instance"):
        stop_compute_timer(timer)

    lines = {(line["workspace"], line["name"]): line for line in fields(logs, "compute")}
    assert lines[("ws-5555-00", "ci-00")]["reason"] == "service_error", "a 5xx is a fault: no budget, no retry"
    assert sum(line["action"] == "stopped" for line in lines.values()) == 89, "the throttled ones all went through"


def test_retry_after_pauses_only_that_subscription_and_kind(fake, settings, timer, retry_clock):
    fake.workspaces.clear()
    seed(fake, SUB_A, 2, 1)
    seed(fake, SUB_B, 1, 1)
    settings(**NO_WORKSPACE, AML_COMPUTE_SCOPES=f"/subscriptions/{SUB_A},/subscriptions/{SUB_B}")
    fake.fail("POST", r"ws-3333-00/computes/ci-00/stop", status=429, headers={"Retry-After": "7"})
    start = retry_clock.monotonic()

    stop_compute_timer(timer)

    posts = {call.url.split("/workspaces/")[1].split("?")[0]: call.at for call in fake.requests_to("/stop", "POST")}
    lists = [call.at for call in fake.requests_to(r"/computes\?", "GET")]
    assert posts["ws-4444-00/computes/ci-00/stop"] == start, "B's writes are not paused"
    assert max(lists) == start, "A's reads are not paused"
    assert posts["ws-3333-00/computes/ci-00/stop"] >= start + 7, "A's writes waited the Retry-After"
    assert retry_clock.slept[0] == 7.0 and sum(wait >= 7 for wait in retry_clock.slept) == 1, \
        "one pause, slept once: no thread slept on its own 429"
    assert all(instance.state == "Stopping" for ws in fake.workspaces.values() for instance in ws.instances.values())


def test_the_deadline_defers_what_is_left_and_the_next_tick_finishes_it(fake, settings, monkeypatch, tmp_path, logs):
    fake.workspace.instances.clear()
    for i in range(100):
        fake.add_instance(f"ci-{i:03d}", "Running")
    fake.limit_arm(writes=(10, 5.0))
    short_timeout(monkeypatch, tmp_path, "00:00:40")  # 10 s of work before the deadline
    settings()

    with pytest.raises(DeadlineReached) as error:
        stop_compute_timer(make_timer(TICK))

    assert fake.in_flight == 0, "nothing in flight when the invocation ends"
    deferred = [line for line in fields(logs, "compute") if line["action"] == "deferred"]
    done = sum(instance.state == "Stopping" for instance in fake.instances.values())
    assert 50 <= done <= 62 and len(deferred) == 100 - done
    assert {line["reason"] for line in deferred} == {"deadline"}
    [total] = fields(logs, "compute_total")
    assert total["deferred"] == str(100 - done) and total["stopped"] == str(done)
    assert f"left {100 - done} compute instance(s) to stop" in str(error.value)
    assert "the next tick continues" in str(error.value)
    assert "host.json functionTimeout 00:00:40 less 30 s" in str(error.value)

    logs.clear()
    stop_compute_timer(make_timer(TICK))  # the next tick: stops are idempotent

    assert all(instance.state in ("Stopping", "Stopped") for instance in fake.instances.values())
    assert all(instance.stops == 1 for instance in fake.instances.values()), "nothing was stopped twice"
    [total] = fields(logs, "compute_total")
    assert total["deferred"] == "0" and total["stopped"] == str(100 - done)


def test_a_deadline_before_a_workspace_is_listed_says_so(fleet, settings, monkeypatch, tmp_path, logs):
    fleet.limit_arm(reads=(3, 0.1), writes=(10, 5.0))  # reads: 3, then one every 10 s
    short_timeout(monkeypatch, tmp_path, "00:00:35")
    settings(**NO_WORKSPACE, AML_COMPUTE_SCOPES=f"/subscriptions/{SUB_A}")

    with pytest.raises(DeadlineReached, match=r"scope\(s\) or workspace\(s\) not yet listed"):
        stop_compute_timer(make_timer(TICK))

    unlisted = [line for line in fields(logs, "compute_workspace") if line["action"] == "deferred"]
    [total] = fields(logs, "compute_total")
    assert unlisted and total["deferred_workspaces"] == str(len(unlisted))
    assert {line["reason"] for line in unlisted} == {"deadline"}


def test_a_tick_that_outlives_its_token_takes_a_fresh_one(fake, settings, timer, logs):
    fake.workspace.instances.clear()
    for i in range(400):
        fake.add_instance(f"ci-{i:03d}", "Running")
    fake.limit_arm(writes=(10, 1.0))  # about 390 s of stops
    fake.token_seconds = 310  # expires mid-tick; taken again 5 minutes before it expires
    settings()

    stop_compute_timer(timer)

    assert fake.tokens_issued >= 2
    assert all(instance.state == "Stopping" for instance in fake.instances.values())
    [total] = fields(logs, "compute_total")
    assert total["failed"] == "0" and float(total["elapsed_s"]) > 310


def test_no_deadline_with_minus_one(fake, settings, monkeypatch, tmp_path, timer):
    fake.workspace.instances.clear()
    for i in range(40):
        fake.add_instance(f"ci-{i:03d}", "Running")
    fake.limit_arm(writes=(10, 1.0))  # 30 s of stops
    short_timeout(monkeypatch, tmp_path, "-1")
    settings()

    stop_compute_timer(timer)

    assert all(instance.state == "Stopping" for instance in fake.instances.values())


def test_the_compute_functions_load_and_tick_without_the_retired_sdk(tmp_path):
    found = tick_in_a_fresh_interpreter(["StopComputeTimer", "StartComputeTimer"], "2026-11-21T21:25:00+00:00",
                                        tmp_path, seed='fake.add_instance("ci-a", "Running")',
                                        outcome='fake.instances["ci-a"].state')

    assert found == {"imported": [], "ticked": [], "outcome": "Stopping"}
