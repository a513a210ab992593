"""Re-running and backfilling RunPipelineTimer's ticks from the one-tick runner, on the fake wire."""

from __future__ import annotations

import json
import re

import pytest

from localrun import cli as run
from tests.conftest import BASE_SETTINGS


@pytest.fixture
def nightly(fake, tmp_path):
    """A settings file for a nightly 03:00 UTC pipeline in the fake; returns (fake, its path, the pipeline id)."""
    pipeline_id = fake.add_published_pipeline("train")
    path = tmp_path / "local.settings.json"
    values = {**BASE_SETTINGS, "RUN_PIPELINE_ID": pipeline_id,
              "RUN_PIPELINE_PARAMETERS": json.dumps({"run_date": "{tick:%Y-%m-%d}"})}
    path.write_text(json.dumps({"IsEncrypted": False, "Values": values}), encoding="utf-8")
    return fake, path, pipeline_id


def app_run(fake, pipeline_id: str, tick: str, status: str = "Completed"):
    return fake.add_run("scheduled-pipeline-runs", pipeline_id, [status],
                        {"started_by": "aml-timer-functions", "schedule_tick": tick})


def occurrence_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("occurrence ")]


def test_tick_runs_that_occurrence_with_its_date(nightly, capsys):
    fake, path, _ = nightly

    assert run.main(["RunPipelineTimer", "--settings", str(path), "--tick", "2026-01-15T03:00:00Z"]) == 0

    [submitted] = fake.runs.values()
    assert submitted.tags["schedule_tick"] == "2026-01-15T03:00:00Z" and submitted.tags["past_due"] == "true"
    assert submitted.parameters == {"run_date": "2026-01-15"}
    out = capsys.readouterr().out
    assert occurrence_lines(out) == [f"occurrence 2026-01-15T03:00:00Z: submitted run_id={submitted.run_id} "
                                     f"portal_url=https://ml.azure.com/runs/{submitted.run_id}?wsid=/subscriptions/"
                                     "33333333-3333-3333-3333-333333333333/resourcegroups/rg-ml/workspaces/ws-demo"]
    assert out.splitlines()[-1].startswith("invocation succeeded: RunPipelineTimer")


def test_a_rerun_by_hand_is_never_too_late(nightly, capsys, monkeypatch):
    fake, path, _ = nightly
    monkeypatch.setenv("RUN_PIPELINE_MAX_LATE_MINUTES", "60")  # the host's late firings are limited; a re-run is not

    assert run.main(["RunPipelineTimer", "--settings", str(path), "--tick", "2026-11-20T03:00:00Z"]) == 0

    [submitted] = fake.runs.values()
    assert submitted.tags["schedule_tick"] == "2026-11-20T03:00:00Z"
    assert "reason=too_late" not in capsys.readouterr().out


def test_tick_that_already_has_a_run_says_so_and_submits_nothing(nightly, capsys):
    fake, path, pipeline_id = nightly
    earlier = app_run(fake, pipeline_id, "2026-01-15T03:00:00Z")

    assert run.main(["RunPipelineTimer", "--settings", str(path), "--tick", "2026-01-15T03:00:00+00:00"]) == 0

    assert not fake.requests_to("PipelineSubmit", "POST")
    [line] = occurrence_lines(capsys.readouterr().out)
    assert line.startswith(f"occurrence 2026-01-15T03:00:00Z: already_submitted run_id={earlier.run_id} "
                           "status=Completed portal_url=https://ml.azure.com/runs/")


def test_tick_that_is_no_occurrence_exits_2_with_the_nearest_ones(nightly, capsys):
    fake, path, _ = nightly

    assert run.main(["RunPipelineTimer", "--settings", str(path), "--tick", "2026-01-15T04:30:00Z"]) == 2

    err = capsys.readouterr().err
    assert ('error: --tick 2026-01-15T04:30:00Z is not an occurrence of "0 0 3 * * *" (UTC): the nearest are '
            "2026-01-15T03:00:00Z and 2026-01-16T03:00:00Z") in err
    assert fake.requests == []


def test_tick_follows_the_local_schedule_when_a_zone_is_set(nightly, capsys):
    fake, path, _ = nightly
    document = json.loads(path.read_text())
    document["Values"].update(RUN_PIPELINE_SCHEDULE="0 30 6,7 * * MON-FRI", RUN_PIPELINE_TIME_ZONE="Europe/Berlin",
                              RUN_PIPELINE_LOCAL_SCHEDULE="0 30 8 * * 1-5")
    path.write_text(json.dumps(document))

    assert run.main(["RunPipelineTimer", "--settings", str(path), "--tick", "2026-01-16T06:30:00Z"]) == 2
    assert "nearest are 2026-01-15T07:30:00Z and 2026-01-16T07:30:00Z" in capsys.readouterr().err
    assert run.main(["RunPipelineTimer", "--settings", str(path), "--tick", "2026-01-16T07:30:00Z"]) == 0
    assert [r.parameters["run_date"] for r in fake.runs.values()] == ["2026-01-16"]


def test_backfill_submits_only_the_missing_occurrences_oldest_first(nightly, capsys):
    # The app was down from Friday to Monday: Friday's run exists, Saturday to Monday are missing.
    fake, path, pipeline_id = nightly
    friday = app_run(fake, pipeline_id, "2026-01-16T03:00:00Z")

    assert run.main(["RunPipelineTimer", "--settings", str(path), "--from", "2026-01-16T00:00:00Z",
                     "--to", "2026-01-19T12:00:00Z"]) == 0

    out = capsys.readouterr().out
    lines = occurrence_lines(out)
    assert [re.match(r"occurrence (\S+): (\w+)", line).groups() for line in lines] == [
        ("2026-01-16T03:00:00Z", "already_submitted"), ("2026-01-17T03:00:00Z", "submitted"),
        ("2026-01-18T03:00:00Z", "submitted"), ("2026-01-19T03:00:00Z", "submitted")]
    assert f"run_id={friday.run_id} status=Completed" in lines[0]
    new = [run_ for run_ in fake.runs.values() if run_ is not friday]
    assert [r.parameters["run_date"] for r in new] == ["2026-01-17", "2026-01-18", "2026-01-19"]
    assert out.splitlines()[-1].startswith("backfill: 4 occurrences: submitted=3 already_submitted=1 "
                                           "skipped_active=0 failed=0 in ")


def test_backfill_stops_at_max_and_names_the_next_occurrence(nightly, capsys):
    fake, path, _ = nightly

    assert run.main(["RunPipelineTimer", "--settings", str(path), "--from", "2026-01-02T03:00:00Z",
                     "--to", "2026-02-01T03:00:00Z", "--max", "2"]) == 0

    assert len(fake.runs) == 2
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.endswith("stopped after --max 2 submits; the next occurrence is 2026-01-04T03:00:00Z")


def test_backfill_honours_skip_if_active_between_submits(nightly, capsys):
    fake, path, _ = nightly
    fake.run_statuses = ["Running"]  # a submitted run stays active
    document = json.loads(path.read_text())
    document["Values"]["RUN_PIPELINE_SKIP_IF_ACTIVE"] = "true"
    path.write_text(json.dumps(document))

    assert run.main(["RunPipelineTimer", "--settings", str(path), "--from", "2026-01-17T03:00:00Z",
                     "--to", "2026-01-18T03:00:00Z"]) == 0

    assert [line.split(": ")[1].split()[0] for line in occurrence_lines(capsys.readouterr().out)] == [
        "submitted", "skipped_active"]


def test_backfill_exits_1_at_the_first_failure(nightly, capsys):
    fake, path, _ = nightly
    fake.fail("POST", "PipelineSubmit", status=400, times=5)

    assert run.main(["RunPipelineTimer", "--settings", str(path), "--from", "2026-01-17T03:00:00Z",
                     "--to", "2026-01-19T03:00:00Z"]) == 1

    out = capsys.readouterr().out
    assert len(occurrence_lines(out)) == 1 and "failed: PipelineError: submit failed" in out
    assert re.search(r" failed=1 in \d+\.\d\d s; stopped at the first failure$", out.splitlines()[-1])


@pytest.mark.parametrize(("args", "message"), [
    (["StopComputeTimer", "--tick", "2026-01-15T03:00:00Z"], "--tick and --from/--to re-run RunPipelineTimer"),
    (["RunPipelineTimer", "--from", "2026-01-15T03:00:00Z"], "--from and --to go together"),
    (["RunPipelineTimer", "--max", "3"], "--max limits a backfill"),
    (["RunPipelineTimer", "--tick", "yesterday"], "--tick 'yesterday' is not an ISO 8601 time"),
    (["RunPipelineTimer", "--from", "2026-01-15T03:00:00Z", "--to", "2026-01-14T03:00:00Z"], "is before --from"),
])
def test_usage_errors_exit_2(nightly, capsys, args, message):
    _, path, _ = nightly

    assert run.main([*args, "--settings", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_backfill_in_the_emulator_finds_the_demos_earlier_runs(capsys):
    from datetime import datetime, timedelta, timezone

    latest = datetime.now(timezone.utc).replace(hour=3, minute=0, second=0, microsecond=0)
    latest -= timedelta(days=1) if latest > datetime.now(timezone.utc) else timedelta(0)
    start = latest - timedelta(days=5)

    assert run.main(["RunPipelineTimer", "--emulator", "--from", f"{start:%Y-%m-%dT%H:%M:%SZ}",
                     "--to", f"{latest:%Y-%m-%dT%H:%M:%SZ}"]) == 0

    out = capsys.readouterr().out
    assert "backfill: 6 occurrences: submitted=4 already_submitted=2 " in out



@pytest.mark.parametrize("args", [["--tick", "2099-01-14T03:00:00Z"],
                                  ["--from", "2026-01-14T03:00:00Z", "--to", "2099-01-14T03:00:00Z"]],
                         ids=["tick", "backfill"])
def test_a_future_occurrence_is_refused_unless_asked_for(nightly, capsys, args):
    fake, path, _ = nightly

    assert run.main(["RunPipelineTimer", "--settings", str(path), *args]) == 2

    assert "is in the future: a run submitted now for it would say it ran for a time that has not come" in \
        capsys.readouterr().err
    assert fake.runs == {}


def test_future_lets_a_rerun_name_a_time_that_has_not_come(nightly):
    fake, path, _ = nightly

    assert run.main(["RunPipelineTimer", "--settings", str(path), "--tick", "2099-01-14T03:00:00Z", "--future"]) == 0

    [submitted] = fake.runs.values()
    assert submitted.tags["schedule_tick"] == "2099-01-14T03:00:00Z"
