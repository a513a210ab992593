"""Many pipelines.json jobs due at one tick: submitted concurrently under a bound, shared reads once, the deadline."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import responses

from fakeazure import FakeAzure
from shared import hostconfig
from shared.job_pool import MAX_IN_FLIGHT
from shared.pipeline_tick import JobsFailed
from tests.conftest import entry_point, make_timer
from tests.logs import fields

run_pipeline_timer = entry_point("RunPipelineTimer")
AT_THREE = datetime(2027, 1, 15, 3, 0, tzinfo=timezone.utc)


def many_jobs(write_jobs, count: int, pipeline_id: str) -> None:
    write_jobs([{"name": f"job-{i:03d}", "schedule": "0 0 3 * * *", "pipeline_id": pipeline_id, "experiment": "many"}
                for i in range(count)])


def test_due_jobs_are_submitted_concurrently_under_the_bound(settings, write_jobs):
    fake = FakeAzure(latency=0.02)
    pipeline = fake.add_published_pipeline()
    many_jobs(write_jobs, 24, pipeline)
    settings(RUN_PIPELINE_ID=None)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as wire:
        fake.install(wire)
        run_pipeline_timer(make_timer(AT_THREE))

    assert len(fake.runs) == 24
    assert 1 < fake.max_in_flight <= MAX_IN_FLIGHT, "jobs go at once, never beyond the bound"
    assert not fake.unexpected


def test_what_the_jobs_share_is_read_once_per_tick(fake, settings, write_jobs, logs):
    pipeline = fake.add_published_pipeline()
    many_jobs(write_jobs, 10, pipeline)
    settings(RUN_PIPELINE_ID=None)

    run_pipeline_timer(make_timer(AT_THREE))

    assert len(fake.runs) == 10
    assert len(fake.requests_to("/DataTypes")) == 1, "one SDK client for the tick: the data types are read once"
    assert len(fake.requests_to(f"/Pipelines/{pipeline}")) == 1, "a pipeline several jobs name is resolved once"
    assert len(fake.requests_to("oauth2/v2.0/token")) == 1 and len(fake.requests_to("/discovery")) == 1
    [summary] = fields(logs, "pipeline_summary")
    assert (summary["submitted"], summary["deferred"]) == ("10", "0")


def test_jobs_the_deadline_leaves_unstarted_are_deferred_and_named(fake, settings, write_jobs, monkeypatch, tmp_path,
                                                                   logs):
    host = tmp_path / "host.json"
    host.write_text(json.dumps({"version": "2.0", "functionTimeout": "00:01:00"}), encoding="utf-8")
    monkeypatch.setattr(hostconfig, "HOST_JSON", host)  # the deadline: 30 s after the tick starts
    many_jobs(write_jobs, 30, fake.add_published_pipeline())
    settings(RUN_PIPELINE_ID=None)
    fake.hang("POST", "PipelineSubmit", 10, times=100)  # each submit takes 10 s

    with pytest.raises(JobsFailed) as error:
        run_pipeline_timer(make_timer(AT_THREE))

    deferred = [line["job"] for line in fields(logs, "pipeline") if line["action"] == "deferred"]
    [summary] = fields(logs, "pipeline_summary")
    assert deferred and int(summary["submitted"]) + len(deferred) == 30
    assert summary["deferred"] == str(len(deferred)) and len(fake.runs) == int(summary["submitted"])
    assert {line["reason"] for line in fields(logs, "pipeline") if line["action"] == "deferred"} == {"deadline"}
    message = str(error.value)
    assert f"before {len(deferred)} job(s) started: {', '.join(deferred)}" in message
    assert "python -m localrun RunPipelineTimer --job NAME --tick 2027-01-15T03:00:00Z" in message
