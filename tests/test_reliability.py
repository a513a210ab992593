"""Faults on the wire: retries within the budget, exactly one run per tick, idempotent stops."""

from __future__ import annotations

import pytest

from shared.settings import DEFAULT_EXPERIMENT
from shared.transport import HttpError
from tests.conftest import TICK, entry_point, make_timer

run_pipeline_timer = entry_point("RunPipelineTimer")
stop_compute_timer = entry_point("StopComputeTimer")


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_stop_tick_under_30_percent_faults_stops_exactly_the_selected_running_instances(fake, settings, timer, seed):
    for i in range(30):
        state = "Running" if i % 3 else "Stopped"
        fake.add_instance(f"ci-{i:02d}", state, {"autostop": "false"} if i == 4 else None)
    settings(STOP_COMPUTE_EXCLUDE="ci-07")
    fake.chaos(rate=0.3, seed=seed)

    stop_compute_timer(timer)

    # A stopped instance is Stopping, or Stopped once the app read it again after a lost answer.
    stopped = {name for name, instance in fake.instances.items() if instance.state in ("Stopping", "Stopped")}
    assert stopped == {f"ci-{i:02d}" for i in range(30) if i % 3 == 0 or i not in (4, 7)}
    assert fake.instances["ci-04"].state == fake.instances["ci-07"].state == "Running"
    assert fake.instances["ci-04"].stops == 0 and fake.instances["ci-07"].stops == 0


@pytest.mark.parametrize("stores_tags", [True, False], ids=["submit-keeps-tags", "submit-drops-tags"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_pipeline_tick_under_30_percent_faults_submits_exactly_one_run(fake, settings, timer, seed, stores_tags):
    fake.stores_submit_tags = stores_tags
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), RUN_PIPELINE_SKIP_IF_ACTIVE="true")
    fake.chaos(rate=0.3, seed=seed)

    run_pipeline_timer(timer)
    run_pipeline_timer(timer)  # the host fires the same tick again

    assert len(fake.runs) == 1
    assert next(iter(fake.runs.values())).tags["schedule_tick"] == "2026-11-21T03:00:00Z"


@pytest.mark.parametrize("stores_tags", [True, False], ids=["submit-keeps-tags", "submit-drops-tags"])
@pytest.mark.parametrize("status", [503, 504, None])
def test_a_lost_answer_to_submit_does_not_submit_twice(fake, settings, timer, logs, status, stores_tags):
    fake.stores_submit_tags = stores_tags
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline())
    fake.fail("POST", "PipelineSubmit", status=status, lost=True)

    run_pipeline_timer(timer)

    [run] = fake.runs.values()
    assert len(fake.requests_to("PipelineSubmit", "POST")) == 1
    [line] = [r.getMessage() for r in logs.records if r.getMessage().startswith("pipeline action=submitted")]
    assert f"run_id={run.run_id}" in line and "recovered=true" in line
    assert run.tags["schedule_tick"] == "2026-11-21T03:00:00Z", "the lost attempt's run is tagged as the tick's"


def test_a_refused_submit_is_retried_and_makes_one_run(fake, settings, timer):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline())
    fake.fail("POST", "PipelineSubmit", status=429, times=2, headers={"Retry-After": "3"})

    run_pipeline_timer(timer)

    assert len(fake.runs) == 1 and len(fake.requests_to("PipelineSubmit", "POST")) == 3


def test_retry_after_is_honoured(fake, settings, timer, retry_clock):
    fake.add_instance("ci-a", "Running")
    settings()
    fake.fail("POST", "/stop", status=429, headers={"Retry-After": "7"})

    stop_compute_timer(timer)

    assert retry_clock.slept == [7.0] and fake.instances["ci-a"].state == "Stopping"


@pytest.mark.parametrize("status", [503, None])
def test_a_lost_answer_to_a_stop_is_not_a_failure(fake, settings, timer, logs, status):
    fake.add_instance("ci-a", "Running")
    settings()
    fake.fail("POST", "/stop", status=status, lost=True)

    stop_compute_timer(timer)

    # The retry is refused (400, wrong state): the app reads the instance, finds it Stopping, so it stopped.
    assert fake.instances["ci-a"].state in ("Stopping", "Stopped") and fake.instances["ci-a"].stops == 2
    assert len(fake.requests_to(r"/computes/ci-a\?api-version=", "GET")) == 1
    [line] = [r.getMessage() for r in logs.records if r.getMessage().startswith("compute name=ci-a")]
    assert "action=stopped reason=running" in line


def test_a_failure_that_outlasts_the_budget_fails_the_tick_with_the_last_error(fake, settings, timer, retry_clock):
    fake.add_instance("ci-a", "Running")
    settings(AML_RETRY_BUDGET_SECONDS="20")
    fake.fail("GET", r"/computes\?", status=503, times=1000)

    with pytest.raises(HttpError, match=r"list_computes \(GET management.azure.com/.*/computes\): status=503"):
        stop_compute_timer(timer)

    assert 0 < sum(retry_clock.slept) <= 20
    assert fake.instances["ci-a"].state == "Running"


def test_a_zero_budget_means_no_retries(fake, settings, timer, retry_clock):
    settings(AML_RETRY_BUDGET_SECONDS="0")
    fake.fail("GET", r"/computes\?", status=500)

    with pytest.raises(HttpError):
        stop_compute_timer(timer)
    assert retry_clock.slept == []


def test_a_non_transient_error_is_not_retried(fake, settings, timer):
    settings()
    fake.fail("GET", r"/computes\?", status=400)

    with pytest.raises(HttpError, match="status=400 BadRequest: injected failure 400"):
        stop_compute_timer(timer)
    assert len(fake.requests_to(r"/computes\?")) == 1


def test_host_retry_of_a_failed_wait_does_not_submit_again(fake, settings, pipeline_clock):
    fake.run_statuses = ["Running", "Failed"]
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), RUN_PIPELINE_WAIT_MINUTES="5")
    timer = make_timer(TICK)

    with pytest.raises(Exception, match="ended Failed"):
        run_pipeline_timer(timer)
    settings(RUN_PIPELINE_WAIT_MINUTES="0")
    run_pipeline_timer(timer)

    assert len(fake.runs) == 1
    assert next(iter(fake.runs.values())).experiment == DEFAULT_EXPERIMENT


def test_the_sdks_own_retry_waits_are_scaled_to_the_budget(fake, settings, timer, retry_clock):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), AML_RETRY_BUDGET_SECONDS="16")
    fake.fail("GET", "/discovery", status=429)

    run_pipeline_timer(timer)

    assert retry_clock.slept == [2], "the SDK waits a fixed 32 s on a 429 unless bounded (16 s budget / 8)"
    assert len(fake.runs) == 1


def test_a_transient_failure_of_an_sdk_call_past_the_budget_is_not_reported_as_missing(fake, settings, timer):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), AML_RETRY_BUDGET_SECONDS="5")
    fake.fail("GET", "/Pipelines/", status=503, times=1000)

    with pytest.raises(Exception) as error:
        run_pipeline_timer(timer)

    assert "no published pipeline" not in str(error.value) and "503" in str(error.value)
    assert fake.runs == {}
