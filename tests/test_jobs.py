"""Every scheduled pipeline of a team in one app: pipelines.json, one schedule, zone and target per job, on the fake
wire with the real SDK; the file checked before any call to Azure."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from localrun import cli as run
from shared import jobs
from shared.jobs import read_jobs
from shared.pipeline_tick import JobsFailed
from shared.settings import ConfigError, load_pipeline_settings
from tests.conftest import BASE_SETTINGS, entry_point, make_timer
from tests.logs import fields

run_pipeline_timer = entry_point("RunPipelineTimer")
UTC = timezone.utc
HOST = "0 0,5 * * * *"  # on the hour and at :05, UTC: covers both jobs below


@pytest.fixture
def two_jobs(fake, settings, write_jobs):
    """nightly-train: 02:00 Berlin time, a pipeline endpoint; hourly-score: at :05 UTC, a published pipeline."""
    score = fake.add_published_pipeline("score")
    train = fake.add_published_pipeline("train-v1")
    fake.add_pipeline_endpoint("train", {"0": train})
    write_jobs([
        {"name": "nightly-train", "schedule": "0 0 2 * * *", "time_zone": "Europe/Berlin",
         "pipeline_endpoint": "train", "experiment": "nightly", "parameters": {"run_date": "{tick:%Y-%m-%d}"}},
        {"name": "hourly-score", "schedule": "0 5 * * * *", "pipeline_id": score},
    ])
    settings(RUN_PIPELINE_SCHEDULE=HOST)
    return fake, train, score


def runs_by_job(fake) -> dict[str, list]:
    found: dict[str, list] = {}
    for run_ in fake.runs.values():
        found.setdefault(run_.tags.get("job"), []).append(run_)
    return found


def test_each_job_runs_at_its_own_tick_in_its_own_zone(two_jobs, logs):
    fake, train, score = two_jobs

    run_pipeline_timer(make_timer(datetime(2027, 1, 15, 1, 0, tzinfo=UTC)))  # 02:00 in Berlin
    run_pipeline_timer(make_timer(datetime(2027, 1, 15, 1, 5, tzinfo=UTC)))

    found = runs_by_job(fake)
    [nightly], [hourly] = found["nightly-train"], found["hourly-score"]
    assert (nightly.pipeline_id, nightly.experiment, nightly.parameters) == (train, "nightly",
                                                                             {"run_date": "2027-01-15"})
    assert (hourly.pipeline_id, hourly.experiment) == (score, "hourly-score"), "the experiment defaults to the name"
    assert nightly.tags["schedule_tick"] == "2027-01-15T01:00:00Z" and hourly.tags["schedule_tick"] == \
        "2027-01-15T01:05:00Z"
    submitted = [line["job"] for line in fields(logs, "pipeline") if line["action"] == "submitted"]
    assert submitted == ["nightly-train", "hourly-score"]
    summaries = fields(logs, "pipeline_summary")
    assert [(line["due"], line["submitted"]) for line in summaries] == [("1", "1"), ("1", "1")]


def test_a_host_firing_no_job_is_due_at_calls_nothing(two_jobs, logs):
    fake, _, _ = two_jobs

    run_pipeline_timer(make_timer(datetime(2027, 1, 15, 3, 0, tzinfo=UTC)))  # 04:00 in Berlin, not :05

    assert fake.requests == []
    [tick] = fields(logs, "tick")
    assert (tick["action"], tick["reason"]) == ("skipped", "no_job_due")


def test_two_jobs_due_at_one_tick_each_run_once_even_when_the_tick_fires_twice(fake, settings, write_jobs, logs):
    first, second = fake.add_published_pipeline("a"), fake.add_published_pipeline("b")
    write_jobs([{"name": "job-a", "schedule": "0 0 * * * *", "pipeline_id": first},
                {"name": "job-b", "schedule": "0 0 3 * * *", "pipeline_id": second, "experiment": "b"}])
    settings(RUN_PIPELINE_SCHEDULE="0 0 * * * *")
    timer = make_timer(datetime(2027, 1, 15, 3, 0, tzinfo=UTC))

    run_pipeline_timer(timer)
    run_pipeline_timer(timer)  # the host fires the same tick again

    assert {job: len(found) for job, found in runs_by_job(fake).items()} == {"job-a": 1, "job-b": 1}
    again = fields(logs, "pipeline_summary")[-1]
    assert (again["due"], again["submitted"], again["already_submitted"]) == ("2", "0", "2")


def test_one_failing_job_never_keeps_the_other_from_running(fake, settings, write_jobs, logs):
    good = fake.add_published_pipeline("good")
    write_jobs([{"name": "gone", "schedule": "0 0 3 * * *", "pipeline_id": "77777777-7777-7777-7777-777777777777"},
                {"name": "good", "schedule": "0 0 3 * * *", "pipeline_id": good}])
    settings(RUN_PIPELINE_SCHEDULE="0 0 3 * * *")

    with pytest.raises(JobsFailed) as error:
        run_pipeline_timer(make_timer(datetime(2027, 1, 15, 3, 0, tzinfo=UTC)))

    assert list(runs_by_job(fake)) == ["good"]
    assert str(error.value).startswith("1 of 2 due pipelines.json job(s) failed: gone: PipelineError: job 'gone' "
                                       "pipeline_id=77777777-7777-7777-7777-777777777777: no published pipeline")
    [failed] = [line for line in fields(logs, "pipeline") if line["action"] == "failed"]
    assert (failed["job"], failed["reason"]) == ("gone", "pipeline")
    assert fields(logs, "pipeline_summary")[0]["failed"] == "1"


def test_run_pipeline_disabled_pauses_a_due_job_without_a_redeploy(two_jobs, settings, logs):
    fake, _, _ = two_jobs
    settings(RUN_PIPELINE_SCHEDULE=HOST, RUN_PIPELINE_DISABLED="hourly-score")

    run_pipeline_timer(make_timer(datetime(2027, 1, 15, 1, 5, tzinfo=UTC)))

    assert fake.runs == {}
    [paused] = fields(logs, "pipeline")
    assert (paused["job"], paused["action"], paused["reason"]) == ("hourly-score", "disabled", "run_pipeline_disabled")
    assert fields(logs, "pipeline_summary")[0]["disabled"] == "1"


def test_a_job_disabled_in_the_file_does_not_run(fake, settings, write_jobs, logs):
    write_jobs([{"name": "off", "schedule": "0 0 3 * * *", "pipeline_id": fake.add_published_pipeline(),
                 "enabled": False}])
    settings(RUN_PIPELINE_SCHEDULE="0 0 3 * * *")

    run_pipeline_timer(make_timer(datetime(2027, 1, 15, 3, 0, tzinfo=UTC)))

    assert fake.runs == {} and fields(logs, "pipeline")[0]["reason"] == "disabled_in_file"


def test_every_problem_of_the_file_at_once_before_any_call(fake, settings, write_jobs):
    write_jobs([
        {"name": "typo", "schedul": "0 0 3 * * *", "pipeline_id": "77777777-7777-7777-7777-777777777777"},
        {"name": "Bad Name", "schedule": "0 0 3 * * *", "pipeline_id": "77777777-7777-7777-7777-777777777777"},
        {"name": "two", "schedule": "0 0 3 * * *", "pipeline_id": "77777777-7777-7777-7777-777777777777",
         "pipeline_endpoint": "x"},
        {"name": "none", "schedule": "0 0 3 * * *"},
        {"name": "zone", "schedule": "0 0 3 * * *", "time_zone": "Mars/Olympus", "pipeline_endpoint": "x"},
        {"name": "cron", "schedule": "0 3 * * *", "pipeline_endpoint": "x"},
        {"name": "types", "schedule": "0 0 3 * * *", "pipeline_endpoint": "x", "skip_if_active": "yes",
         "wait_minutes": "5", "parameters": ["a"]},
        {"name": "dup", "schedule": "0 0 3 * * *", "pipeline_endpoint": "x"},
        {"name": "dup", "schedule": "0 0 4 * * *", "pipeline_endpoint": "y"},
    ])
    settings(RUN_PIPELINE_SCHEDULE="0 0 3,4 * * *")

    with pytest.raises(ConfigError) as error:
        run_pipeline_timer(make_timer(datetime(2027, 1, 15, 3, 0, tzinfo=UTC)))

    problems = error.value.problems
    expected = ["pipelines.json: job 'typo': 'schedul' is not a field of a job",
                "pipelines.json: job 'typo': schedule is missing",
                "pipelines.json: job 'Bad Name': name=\"Bad Name\" is not valid: expected 1-40 lowercase",
                "pipelines.json: job 'two': pipeline_id and pipeline_endpoint are all set: set exactly one",
                "pipelines.json: job 'none': no target: set exactly one of pipeline_id, pipeline_endpoint",
                "pipelines.json: job 'zone': time_zone=\"Mars/Olympus\" is not valid: 'Mars/Olympus' is not an IANA",
                "pipelines.json: job 'cron': schedule=\"0 3 * * *\" is not a valid schedule: '0 3 * * *' has 5 fields",
                "pipelines.json: job 'types': skip_if_active=\"yes\" is a JSON string: expected a boolean",
                "pipelines.json: job 'types': wait_minutes=\"5\" is a JSON string: expected a whole number",
                "pipelines.json: job 'types': parameters is a JSON array, not an object",
                "pipelines.json: job 'dup': the name is used by another job"]
    assert [text for text in expected if not any(problem.startswith(text) for problem in problems)] == []
    assert fake.requests == []


@pytest.mark.parametrize(("raw", "said"), [
    ("{not json", "pipelines.json is not valid JSON (Expecting property name enclosed in double quotes at line 1"),
    ('{"pipelines": {}}', 'pipelines.json: "pipelines" is a JSON object: expected {"pipelines": [{'),
    ('["a"]', 'pipelines.json is a JSON array, not an object: expected {"pipelines": [{'),
    ('{"x": 1}', 'pipelines.json: \'x\' is not a key of the file (its one key is "pipelines", a list of jobs); '
                 'pipelines.json: "pipelines" is missing'),
], ids=["not_json", "object", "array", "no_pipelines"])
def test_a_file_that_is_not_a_list_of_jobs_is_refused_saying_what_it_is(fake, settings, write_jobs, raw, said):
    write_jobs(None, raw=raw)
    settings(RUN_PIPELINE_SCHEDULE="0 0 3 * * *")

    with pytest.raises(ConfigError) as error:
        run_pipeline_timer(make_timer(datetime(2027, 1, 15, 3, 0, tzinfo=UTC)))
    assert said in str(error.value)
    assert fake.requests == []


def test_an_unknown_top_level_key_hides_no_job_error(write_jobs):
    path = write_jobs(None, raw=json.dumps({"pipeline": [], "pipelines": [
        {"name": "a", "schedule": "0 0 3 * * *", "pipeline_endpoint": "x", "wait_minutes": -1}]}))

    _, problems = read_jobs(path, None)

    assert problems == [
        "pipelines.json: 'pipeline' is not a key of the file (its one key is \"pipelines\", a list of jobs)",
        "pipelines.json: job 'a': wait_minutes=-1 is not valid: expected a whole number from 0 to 1440"]


@pytest.mark.parametrize("key", ["pipeline_endpoint", "batch_endpoint", "pipeline_id", "experiment", "deployment"])
def test_a_blank_value_is_refused_where_a_value_is_required(write_jobs, key):
    entry = {"name": "blank", "schedule": "0 0 3 * * *", "batch_endpoint": "score", key: "  "}
    if key in ("pipeline_endpoint", "pipeline_id"):
        del entry["batch_endpoint"]
    path = write_jobs([entry])

    jobs, problems = read_jobs(path, None)

    assert jobs == [] and f"pipelines.json: job 'blank': {key} is an empty string: give it a value, or leave the " \
        "field out" in problems


def test_a_blank_target_never_reaches_azure(fake, settings, write_jobs):
    write_jobs([{"name": "blank", "schedule": "0 0 3 * * *", "pipeline_endpoint": ""}])
    settings(RUN_PIPELINE_SCHEDULE="0 0 3 * * *", RUN_PIPELINE_ID=None)

    with pytest.raises(ConfigError, match="pipeline_endpoint is an empty string"):
        run_pipeline_timer(make_timer(datetime(2027, 1, 15, 3, 0, tzinfo=UTC)))
    assert fake.requests == []


def test_a_key_given_twice_is_refused_naming_it_and_where(write_jobs):
    path = write_jobs(None, raw='{"pipelines": [{"name": "twice", "schedule": "0 0 3 * * *", "pipeline_endpoint": '
                               '"x", "enabled": true, "enabled": false, "parameters": {"a": "1", "a": "2"}}]}')

    jobs, problems = read_jobs(path, None)

    assert jobs == []
    assert problems == [
        "pipelines.json: job 'twice': the key \"enabled\" appears more than once (JSON keeps only the last, silently): "
        "keep one",
        "pipelines.json: job 'twice' parameters: the key \"a\" appears more than once (JSON keeps only the last, "
        "silently): keep one"]


def test_errors_speak_json_and_name_only_the_fields_at_fault(write_jobs):
    path = write_jobs([{"name": "Bad Name", "schedule": "0 0 3 * * *", "pipeline_endpoint": "x",
                        "parameters": None},
                       {"name": "nulls", "schedule": None, "pipeline_endpoint": "x"}])

    _, problems = read_jobs(path, None)

    assert problems == [
        "pipelines.json: job 'Bad Name': name=\"Bad Name\" is not valid: expected 1-40 lowercase letters, digits and "
        "'-'",
        "pipelines.json: job 'Bad Name': parameters is a JSON null, not an object: expected a JSON object of parameter "
        "names to values, e.g. {\"learning_rate\": 0.01, \"mode\": \"full\"}",
        "pipelines.json: job 'nulls': schedule=null is a JSON null: expected a string"]


def test_a_host_schedule_that_misses_a_job_names_it_and_its_first_missed_occurrence(write_jobs):
    write_jobs([{"name": "nightly-train", "schedule": "0 0 2 * * *", "time_zone": "Europe/Berlin",
                 "pipeline_endpoint": "train"}])
    env = {**BASE_SETTINGS, "RUN_PIPELINE_SCHEDULE": "0 0 1 * * *"}  # 02:00 Berlin in winter only

    with pytest.raises(ConfigError) as error:
        load_pipeline_settings(env, now=datetime(2027, 1, 10, tzinfo=UTC))

    assert ("RUN_PIPELINE_SCHEDULE='0 0 1 * * *' cannot serve pipelines.json job 'nightly-train' (\"0 0 2 * * *\" in "
            "Europe/Berlin): it does not fire at 2027-03-29T02:00:00+02:00 (2027-03-29T00:00:00Z)") in str(error.value)


def test_the_file_beside_a_single_pipeline_setting_is_an_error_naming_both(write_jobs):
    write_jobs([{"name": "a", "schedule": "0 0 3 * * *", "pipeline_endpoint": "x"}])
    env = {**BASE_SETTINGS, "RUN_PIPELINE_ID": "77777777-7777-7777-7777-777777777777",
           "RUN_PIPELINE_PARAMETERS": "{}"}

    with pytest.raises(ConfigError) as error:
        load_pipeline_settings(env)

    assert "RUN_PIPELINE_ID is set, but pipelines.json holds the pipelines" in str(error.value)
    assert "RUN_PIPELINE_PARAMETERS is set, but pipelines.json holds the pipelines" in str(error.value)


def test_run_pipeline_disabled_naming_an_unknown_job_is_an_error(write_jobs):
    write_jobs([{"name": "a", "schedule": "0 0 3 * * *", "pipeline_endpoint": "x"}])

    with pytest.raises(ConfigError, match=r"RUN_PIPELINE_DISABLED names jobs pipelines.json does not have: 'b' \(its "):
        load_pipeline_settings({**BASE_SETTINGS, "RUN_PIPELINE_DISABLED": "a, b"})


def test_run_pipeline_disabled_without_the_file_is_an_error():
    with pytest.raises(ConfigError, match="RUN_PIPELINE_DISABLED is set, but there is no pipelines.json"):
        load_pipeline_settings({**BASE_SETTINGS, "RUN_PIPELINE_ID": "77777777-7777-7777-7777-777777777777",
                                "RUN_PIPELINE_DISABLED": "a"})


def test_a_jobs_wait_must_fit_the_function_timeout(write_jobs):
    write_jobs([{"name": "a", "schedule": "0 0 3 * * *", "pipeline_endpoint": "x", "wait_minutes": 15}])

    with pytest.raises(ConfigError, match=r"pipelines.json: job 'a': wait_minutes=15 does not fit in host.json "
                                          r"functionTimeout \(00:10:00\).*set wait_minutes to at most 9"):
        load_pipeline_settings(BASE_SETTINGS)


def test_waits_come_after_every_submit_and_a_failed_run_fails_only_its_job(fake, settings, write_jobs,
                                                                          pipeline_clock, logs):
    fake.run_statuses = ["NotStarted", "Running", "Failed"]
    write_jobs([{"name": "waits", "schedule": "0 0 3 * * *", "pipeline_id": fake.add_published_pipeline("w"),
                 "wait_minutes": 5},
                {"name": "fire-and-forget", "schedule": "0 0 3 * * *", "pipeline_id": fake.add_published_pipeline()}])
    settings(RUN_PIPELINE_SCHEDULE="0 0 3 * * *")

    with pytest.raises(JobsFailed, match=r"1 of 2 due pipelines.json job\(s\) failed: waits: PipelineError: run \S+ "
                                         "ended Failed"):
        run_pipeline_timer(make_timer(datetime(2027, 1, 15, 3, 0, tzinfo=UTC)))

    actions = [(line["job"], line["action"]) for line in fields(logs, "pipeline")]
    assert sorted(actions[:2]) == [("fire-and-forget", "submitted"), ("waits", "submitted")], "both submits first"
    assert actions[2:] == [("waits", "waiting"), ("waits", "waiting"), ("waits", "failed")], \
        "then the wait (NotStarted, Running), which fails only its job"


# --------------------------------------------------------------------------- the runner


@pytest.fixture
def runner_jobs(fake, write_jobs, tmp_path):
    """Two daily jobs in the fake and a settings file for the runner."""
    first, second = fake.add_published_pipeline("a"), fake.add_published_pipeline("b")
    write_jobs([{"name": "job-a", "schedule": "0 0 3 * * *", "pipeline_id": first},
                {"name": "job-b", "schedule": "0 0 3 * * *", "pipeline_id": second, "time_zone": "Asia/Tokyo",
                 "parameters": {"day": "{tick:%Y-%m-%d}"}}])
    path = tmp_path / "local.settings.json"
    values = {**BASE_SETTINGS, "RUN_PIPELINE_SCHEDULE": "0 0 3,18 * * *"}
    path.write_text(json.dumps({"IsEncrypted": False, "Values": values}), encoding="utf-8")
    return path


def test_the_runner_reruns_one_job(fake, runner_jobs, capsys):
    assert run.main(["RunPipelineTimer", "--settings", str(runner_jobs), "--job", "job-b", "--tick",
                     "2026-01-15T18:00:00Z"]) == 0  # 03:00 in Tokyo on the 15th

    [submitted] = fake.runs.values()
    assert submitted.tags["job"] == "job-b" and submitted.parameters == {"day": "2026-01-16"}
    assert "occurrence 2026-01-15T18:00:00Z: job=job-b submitted run_id=" in capsys.readouterr().out


def test_the_runner_backfills_one_job(fake, runner_jobs, capsys):
    assert run.main(["RunPipelineTimer", "--settings", str(runner_jobs), "--job", "job-a", "--from",
                     "2026-01-15T00:00:00Z", "--to", "2026-01-17T12:00:00Z"]) == 0

    assert sorted(run_.tags["schedule_tick"] for run_ in fake.runs.values()) == ["2026-01-15T03:00:00Z",
                                                                                 "2026-01-16T03:00:00Z",
                                                                                 "2026-01-17T03:00:00Z"]
    assert {run_.tags["job"] for run_ in fake.runs.values()} == {"job-a"}
    assert "backfill: 3 occurrences: submitted=3 " in capsys.readouterr().out


def test_the_runner_names_the_jobs_when_one_is_unknown(runner_jobs, capsys):
    assert run.main(["RunPipelineTimer", "--settings", str(runner_jobs), "--job", "job-c"]) == 2
    assert "--job 'job-c' is not an enabled job of pipelines.json: its jobs are job-a, job-b" in capsys.readouterr().err


def test_the_emulator_runs_the_users_own_file_and_settings(write_jobs, capsys, monkeypatch):
    write_jobs([{"name": "my-job", "schedule": "0 0 * * * *", "pipeline_id": "77777777-7777-7777-7777-777777777777",
                 "experiment": "mine", "parameters": {"hour": "{tick:%H}"}}])
    monkeypatch.setenv("RUN_PIPELINE_SCHEDULE", "0 0 * * * *")
    monkeypatch.setenv("AML_WORKSPACE_NAME", "my-real-workspace")

    assert run.main(["RunPipelineTimer", "--emulator"]) == 0

    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if "pipeline action=submitted" in line]
    assert "job=my-job target=pipeline_id pipeline=77777777-7777-7777-7777-777777777777" in line
    assert "experiment=mine" in line
    assert "emulator: run " in out and " submitted to experiment mine, tags: " in out
    assert "my-real-workspace" not in out


# --------------------------------------------------------------------------- the tools


def jobs_command(*args: str, env: dict | None = None):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    return subprocess.run([sys.executable, "-m", "shared.schedule", "jobs", *args], cwd=root, capture_output=True,
                          text=True, timeout=60, env={"PATH": "", **(env or {})})


def test_the_jobs_command_prints_the_cover_first_then_each_job_in_its_zone_and_utc():
    result = jobs_command("pipelines.json.example", "--after", "2027-01-14T00:00:00Z", "--count", "2")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "0 0,5 * * * *", "ready to paste"
    assert lines[2] == ('nightly-train: "0 0 2 * * *" in Europe/Berlin (at 02:00:00 Europe/Berlin every day), '
                        "pipeline_endpoint=nightly-train")
    assert lines[3:5] == ["  2027-01-14T01:00:00Z  2027-01-14T02:00:00+01:00",
                          "  2027-01-15T01:00:00Z  2027-01-15T02:00:00+01:00"]
    assert any(line.startswith("weekly-report: ") and line.endswith("(enabled: false)") for line in lines)
    assert lines[-1] == "RUN_PIPELINE_SCHEDULE is not set here: set it to the first line"


def test_the_jobs_command_fails_when_the_host_schedule_misses_a_job():
    result = jobs_command("pipelines.json.example", "--after", "2027-01-14T00:00:00Z",
                          env={"RUN_PIPELINE_SCHEDULE": "0 0 1 * * *"})

    assert result.returncode == 1
    assert "error: RUN_PIPELINE_SCHEDULE \"0 0 1 * * *\" misses job 'hourly-score' at 2027-01-14T00:05:00+00:00" in \
        result.stderr
    assert "covers every enabled job" in jobs_command("pipelines.json.example",
                                                      env={"RUN_PIPELINE_SCHEDULE": "0 0,5 * * * *"}).stdout


def test_the_jobs_command_lists_every_problem_and_exits_1(tmp_path):
    bad = tmp_path / "pipelines.json"
    bad.write_text(json.dumps({"pipelines": [{"name": "a", "schedul": "x"}, {"name": "b", "schedule": "0 0 3 * *",
                                                                           "pipeline_id": "x"}]}))

    result = jobs_command(str(bad))

    assert result.returncode == 1 and result.stdout == ""
    errors = result.stderr.splitlines()
    assert len(errors) >= 4 and all(line.startswith("error: pipelines.json: job ") for line in errors)


def test_the_example_file_is_valid_and_deployable():
    from pathlib import Path

    found, problems = jobs.read_jobs(Path(__file__).resolve().parent.parent / "pipelines.json.example", None)
    assert problems == [] and [job.name for job in found] == ["nightly-train", "hourly-score", "daily-score-v2",
                                                         "weekly-report"]


def test_week_draws_every_job(write_jobs):
    import subprocess
    import sys
    from pathlib import Path

    path = write_jobs([{"name": "nightly-train", "schedule": "0 0 2 * * *", "time_zone": "Europe/Berlin",
                        "pipeline_endpoint": "x"},
                       {"name": "weekly", "schedule": "0 30 7 * * MON", "pipeline_endpoint": "y"}])
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-m", "shared.schedule", "week", "--jobs", str(path), "--week",
                             "2027-01-18"], cwd=root, capture_output=True, text=True, timeout=60,
                            env={"PATH": "", "RUN_PIPELINE_SCHEDULE": "0 0,30 1,7 * * *"})

    assert result.returncode == 0, result.stderr
    titles = [line for line in result.stdout.splitlines() if line.startswith("RunPipelineTimer")]
    assert titles == ["RunPipelineTimer job nightly-train: 0 0 2 * * * in Europe/Berlin",
                      "RunPipelineTimer job nightly-train: host schedule 0 0,30 1,7 * * * (UTC)",
                      "RunPipelineTimer job weekly: 0 30 7 * * MON in UTC",
                      "RunPipelineTimer job weekly: host schedule 0 0,30 1,7 * * * (UTC)"]
