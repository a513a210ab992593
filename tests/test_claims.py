"""Exactly one run per tick across invocations: the tick claims in the app's own storage (Azurite, the real SDKs)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from shared import clock
from shared.claims import TABLE
from tests.conftest import TICK, entry_point, make_timer
from tests.logs import fields

run_pipeline_timer = entry_point("RunPipelineTimer")


def claims_of(azurite) -> list[dict]:
    from azure.data.tables import TableClient

    return list(TableClient.from_connection_string(azurite.connection_string, TABLE).list_entities())


@pytest.mark.parametrize("target", ["pipeline_id", "batch_endpoint"])
def test_two_invocations_of_one_tick_at_once_make_one_run(fake, settings, storage, logs, target):
    if target == "pipeline_id":
        settings(RUN_PIPELINE_ID=fake.add_published_pipeline())
    else:
        fake.add_batch_endpoint("nightly-score")
        settings(RUN_PIPELINE_ID=None, RUN_PIPELINE_BATCH_ENDPOINT="nightly-score")
    start = threading.Barrier(2)
    errors = []

    def invocation():
        start.wait()
        try:
            run_pipeline_timer(make_timer(TICK))
        except Exception as error:  # noqa: BLE001 - the test asserts there is none
            errors.append(error)

    threads = [threading.Thread(target=invocation) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(fake.runs) + len(fake.batch_jobs) == 1
    actions = sorted((line["action"], line.get("reason", "")) for line in fields(logs, "pipeline"))
    assert actions in ([("already_submitted", ""), ("submitted", "")], [("skipped", "claimed_elsewhere"),
                                                                        ("submitted", "")])
    [claim] = claims_of(storage)
    assert (claim["PartitionKey"], claim["RowKey"], claim["state"]) == ("RunPipelineTimer",
                                                                        "2026-11-21T03:00:00Z|-", "done")


class Crash(BaseException):
    """The process dies: nothing after it runs, no claim is given back."""


def test_a_crash_after_the_service_took_the_run_and_dropped_its_tags_leaves_one_run(fake, settings, storage,
                                                                                     monkeypatch, logs):
    from shared.claims import Claims
    from shared.pipelines import PublishedTarget

    fake.stores_submit_tags = False
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline())
    with monkeypatch.context() as crashing:
        crashing.setattr(PublishedTarget, "_ensure_tags", lambda *args: (_ for _ in ()).throw(Crash()))
        crashing.setattr(Claims, "release", lambda self, claim: None)
        with pytest.raises(Crash):
            run_pipeline_timer(make_timer(TICK))
    [run] = fake.runs.values()
    assert run.tags == {}, "the service took the run and dropped its tags; the holder died before it tagged it"
    later = clock.now() + timedelta(hours=1)  # the host fires the tick again, the claim long stale
    monkeypatch.setattr(clock, "now", lambda: later)

    run_pipeline_timer(make_timer(TICK))

    assert list(fake.runs) == [run.run_id], "the untagged run since the claim was found, not submitted again"
    assert run.tags["schedule_tick"] == "2026-11-21T03:00:00Z"
    [adopted] = [line for line in fields(logs, "pipeline") if line["action"] == "already_submitted"]
    assert adopted["recovered"] == "true" and adopted["run_id"] == run.run_id
    [taken] = fields(logs, "claim")
    assert (taken["action"], taken["reason"]) == ("taken_over", "stale_claim")


def test_a_failed_invocation_gives_its_claim_back_so_the_hosts_retry_submits(fake, settings, storage):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline())
    fake.fail("POST", "PipelineSubmit", status=400)

    with pytest.raises(Exception, match="submit failed"):
        run_pipeline_timer(make_timer(TICK))
    assert claims_of(storage) == []

    run_pipeline_timer(make_timer(TICK))  # the host's retry

    assert len(fake.runs) == 1
    [claim] = claims_of(storage)
    assert claim["state"] == "done" and claim["result"] == next(iter(fake.runs))


def test_a_claim_done_says_which_run_without_asking_run_history_for_the_tick(fake, settings, storage, logs):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline())
    run_pipeline_timer(make_timer(TICK))
    queries = len(fake.requests_to("runs:query"))

    run_pipeline_timer(make_timer(TICK))

    assert len(fake.runs) == 1 and len(fake.requests_to("runs:query")) == queries
    assert fields(logs, "pipeline")[-1]["action"] == "already_submitted"


def test_without_storage_a_line_says_claims_are_off(fake, settings, logs):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline())

    run_pipeline_timer(make_timer(TICK))

    assert fields(logs, "claims") == [{"action": "off", "reason": "no_storage"}]
    assert len(fake.runs) == 1
