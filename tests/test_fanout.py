"""AML_FANOUT=queue on the app's own storage (Azurite, the real SDKs): the timers enqueue, the workers do the work as
the host would run them (localrun.hostloop: competing instances, redelivery, the poison queue)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest

from fakeazure import SUBSCRIPTION
from localrun.hostloop import MAX_DEQUEUE_COUNT, drain, queue_and_poison
from shared import clock, hostconfig
from shared.fanout import COMPUTE_QUEUE, PIPELINE_QUEUE
from shared.settings import load_compute_settings, load_pipeline_settings
from tests.conftest import entry_point, make_timer
from tests.logs import fields

stop_compute_timer = entry_point("StopComputeTimer")
run_pipeline_timer = entry_point("RunPipelineTimer")
compute_worker = entry_point("ComputeWorker")
pipeline_worker = entry_point("PipelineWorker")

SUB_B, SUB_C = "44444444-4444-4444-4444-444444444444", "55555555-5555-5555-5555-555555555555"
NO_WORKSPACE = {"AML_SUBSCRIPTION_ID": None, "AML_RESOURCE_GROUP": None, "AML_WORKSPACE_NAME": None}
SCOPES = f"/subscriptions/{SUBSCRIPTION},/subscriptions/{SUB_B},/subscriptions/{SUB_C}"
# A compute tick the workers act on is a recent one (a message the queue held past STOP_COMPUTE_MAX_LATE_MINUTES does
# nothing): the timer fires now.
TICK = clock.now().replace(second=0, microsecond=0)


@pytest.fixture
def fleet(fake):
    """Three subscriptions, two workspaces each, five running instances each workspace."""
    fake.workspaces.clear()
    for subscription in (SUBSCRIPTION, SUB_B, SUB_C):
        for w in range(2):
            workspace = fake.add_workspace(subscription, "rg", f"ws-{subscription[:2]}-{w}")
            for i in range(5):
                workspace.add_instance(f"ci-{i}", "Running")
    return fake


def queues(name: str):
    """The queue and its poison queue, as the app reaches them (the settings of the environment)."""
    import os

    settings = load_compute_settings(os.environ) if name == COMPUTE_QUEUE else load_pipeline_settings(os.environ)
    return queue_and_poison(settings, name)


def peek(queue) -> list[dict]:
    return [json.loads(message.content) for message in queue.peek_messages(max_messages=32)]


def stops(fake) -> dict[str, int]:
    return {f"{ws.name}/{name}": instance.stops for ws in fake.workspaces.values()
            for name, instance in ws.instances.items()}


def test_the_timer_enqueues_one_message_per_subscription_and_calls_no_arm(fleet, settings, storage, logs):
    settings(**NO_WORKSPACE, AML_COMPUTE_SCOPES=SCOPES, AML_FANOUT="queue")

    stop_compute_timer(make_timer(TICK))
    stop_compute_timer(make_timer(TICK))  # the host fires the same tick again

    queue, _ = queues(COMPUTE_QUEUE)
    messages = peek(queue)
    assert sorted(message["subscription"] for message in messages) == sorted([SUBSCRIPTION, SUB_B, SUB_C])
    assert {(message["v"], message["function"], message["tick"]) for message in messages} == \
        {(1, "StopComputeTimer", clock.stamp(TICK))}
    assert all(len(json.dumps(message)) < 1024 for message in messages), "far under a queue message's 64 KB"
    assert fleet.requests == [], "the timer does no ARM work"
    skipped = [line for line in fields(logs, "fanout") if line["action"] == "skipped"]
    assert len(skipped) == 3 and {line["reason"] for line in skipped} == {"already_enqueued"}


def test_competing_workers_stop_every_instance_exactly_once_though_one_dies_mid_message(fleet, settings, storage,
                                                                                      logs):
    settings(**NO_WORKSPACE, AML_COMPUTE_SCOPES=SCOPES, AML_FANOUT="queue", AML_COMPUTE_COST="false")
    stop_compute_timer(make_timer(TICK))

    drained = drain(*queues(COMPUTE_QUEUE), compute_worker, instances=4, visibility=2, kill=1)

    assert drained.killed == 1 and drained.poisoned == []
    assert set(stops(fleet).values()) == {1}, "every running instance stopped, none twice"
    totals = fields(logs, "compute_total")
    assert sorted(line["subscription"] for line in totals) == sorted([SUBSCRIPTION, SUB_B, SUB_C])
    assert {line["tick"] for line in totals} == {clock.stamp(TICK)}

    logs.clear()
    queue, _ = queues(COMPUTE_QUEUE)
    queue.send_message(json.dumps({"v": 1, "function": "StopComputeTimer", "tick": clock.stamp(TICK),
                                   "subscription": SUB_B, "scopes": [f"/subscriptions/{SUB_B}"]}))
    drain(*queues(COMPUTE_QUEUE), compute_worker)  # a redelivered message, after the share was done
    assert set(stops(fleet).values()) == {1}
    assert [line["reason"] for line in fields(logs, "compute_worker")] == ["already_done"]


def test_a_worker_continues_what_its_deadline_leaves(fake, settings, storage, monkeypatch, tmp_path, logs):
    fake.workspace.instances.clear()
    for i in range(60):
        fake.add_instance(f"ci-{i:02d}", "Running")
    fake.limit_arm(writes=(10, 5.0))  # 10 s of stops after the first ten
    host = tmp_path / "host.json"
    host.write_text(json.dumps({"version": "2.0", "functionTimeout": "00:00:34"}), encoding="utf-8")
    monkeypatch.setattr(hostconfig, "HOST_JSON", host)  # a worker's deadline: 4 s after it starts
    settings(AML_FANOUT="queue", AML_COMPUTE_COST="false")
    stop_compute_timer(make_timer(TICK))

    drained = drain(*queues(COMPUTE_QUEUE), compute_worker)

    assert set(stops(fake).values()) == {1}
    continued = [line for line in fields(logs, "compute_worker") if line["action"] == "continued"]
    assert continued and drained.done == len(continued) + 1 and drained.failed == 0
    assert [int(line["continuation"]) for line in fields(logs, "compute_total")] == list(range(len(continued) + 1))


def test_a_message_that_always_fails_lands_in_the_poison_queue_after_five(fleet, settings, storage):
    fleet.deny_subscription(SUB_C)
    settings(**NO_WORKSPACE, AML_COMPUTE_SCOPES=f"/subscriptions/{SUB_C}", AML_FANOUT="queue")
    stop_compute_timer(make_timer(TICK))

    drained = drain(*queues(COMPUTE_QUEUE), compute_worker)

    assert drained.failed == MAX_DEQUEUE_COUNT and drained.poisoned == [SUB_C]
    _, poison = queues(COMPUTE_QUEUE)
    assert [message["subscription"] for message in peek(poison)] == [SUB_C]


def test_a_message_the_app_cannot_read_fails_and_is_poisoned(settings, storage, fake):
    settings(AML_FANOUT="queue")
    queue, poison = queues(COMPUTE_QUEUE)
    queue.create_queue()
    queue.send_message("not json")

    drained = drain(queue, poison, compute_worker)

    assert drained.failed == MAX_DEQUEUE_COUNT and len(drained.poisoned) == 1
    assert fake.requests == []


def test_pipeline_jobs_are_enqueued_one_each_and_submitted_once(fake, settings, storage, write_jobs, logs):
    jobs = [{"name": f"job-{i}", "schedule": "0 0 3 * * *", "pipeline_id": fake.add_published_pipeline(f"p{i}")}
            for i in range(5)]
    write_jobs(jobs)
    settings(RUN_PIPELINE_ID=None, AML_FANOUT="queue")
    at_three = make_timer(datetime(2027, 1, 15, 3, 0, tzinfo=timezone.utc))

    run_pipeline_timer(at_three)
    run_pipeline_timer(at_three)  # fired twice: nothing enqueued twice
    assert len(peek(queues(PIPELINE_QUEUE)[0])) == 5 and fake.runs == {}

    drained = drain(*queues(PIPELINE_QUEUE), pipeline_worker, instances=4, visibility=2, kill=1)

    assert drained.poisoned == [] and len(fake.runs) == 5
    assert sorted(run.tags["job"] for run in fake.runs.values()) == [f"job-{i}" for i in range(5)]


def test_the_host_loop_keeps_a_long_message_hidden_while_its_function_runs(settings, storage):
    """As the host renews a message's visibility while its function runs: a function longer than the visibility
    timeout is not given the same message again by a competing instance."""
    settings(AML_FANOUT="queue")
    queue, poison = queues(COMPUTE_QUEUE)
    queue.create_queue()
    queue.send_message("slow")
    calls = []

    def slow(message) -> None:
        calls.append(message.dequeue_count)
        time.sleep(2.5)

    drained = drain(queue, poison, slow, instances=3, visibility=1)

    assert calls == [1] and drained.done == 1 and drained.failed == 0
