"""`python -m shared.schedule week`: the week at a glance, checked on its exact output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOURS = "       0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15 16 17 18 19 20 21 22 23"
LEGEND = "; # acts, o host fires but skips (not a local occurrence), x the host misses it, . nothing"


def week(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shared.schedule", "week", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env=env)


def row(day: str, marks: dict[int, str]) -> str:
    return f"{day}  " + "".join(f"{marks.get(hour, '.'):>3}" for hour in range(24))


def test_a_utc_schedule_every_six_hours_on_weekdays():
    result = week("0 0 */6 * * 1-5", "--week", "2027-01-20")

    weekday = dict.fromkeys((0, 6, 12, 18), "#")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "\n".join([
        f"week of 2027-01-18 (Mon) to 2027-01-24 (Sun){LEGEND}", "",
        "schedule 1: 0 0 */6 * * 1-5 (UTC)", HOURS,
        *(row(day, weekday) for day in ("Mon", "Tue", "Wed", "Thu", "Fri")), row("Sat", {}), row("Sun", {}),
    ]) + "\n"


def test_a_local_schedule_is_drawn_in_local_time_and_in_utc_with_the_skipped_firings():
    result = week("0 30 8 * * 1-5", "--local", "Europe/Berlin", "--week", "2027-07-12")

    lines = result.stdout.splitlines()
    assert lines[2] == "schedule 1: 0 30 8 * * 1-5 in Europe/Berlin"
    assert lines[4] == row("Mon", {8: "#"}) and lines[9] == row("Sat", {})
    assert lines[12] == "schedule 1: host schedule 0 30 6,7 * * MON-FRI (UTC)"
    assert lines[14] == row("Mon", {6: "#", 7: "o"}), "in July 08:30 is 06:30Z; the 07:30Z firing is skipped"


def test_the_configured_working_week_shows_the_instances_off_from_1900_to_0830_and_all_weekend():
    result = week("--settings", "local.settings.json.example", "--week", "2027-01-18")

    lines = result.stdout.splitlines()
    start = lines.index("instances that opt in (Europe/Berlin): = on, from a StartComputeTimer tick to the next "
                        "StopComputeTimer tick")
    on = dict.fromkeys(range(8, 19), "=")
    assert lines[start + 1:start + 9] == [HOURS, *(row(day, on) for day in ("Mon", "Tue", "Wed", "Thu", "Fri")),
                                          row("Sat", {}), row("Sun", {})]
    functions = ("RunPipelineTimer:", "StartComputeTimer:", "StopComputeTimer:")
    titles = [line for line in lines if line.startswith(functions)]
    assert titles == ["RunPipelineTimer: 0 0 3 * * * (UTC)", "StartComputeTimer: 0 30 8 * * 1-5 in Europe/Berlin",
                      "StartComputeTimer: host schedule 0 30 6,7 * * MON-FRI (UTC)",
                      "StopComputeTimer: 0 0 19 * * 1-5 in Europe/Berlin",
                      "StopComputeTimer: host schedule 0 0 17,18 * * MON-FRI (UTC)"]


def test_the_functions_schedules_come_from_the_environment(tmp_path):
    env = {"PATH": "", "HOME": str(tmp_path), "STOP_COMPUTE_SCHEDULE": "0 25 21 * * *"}

    result = week("--week", "2027-01-18", env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[2] == "StopComputeTimer: 0 25 21 * * * (UTC)"
    assert result.stdout.splitlines()[4] == row("Mon", {21: "#"})


def test_without_any_schedule_it_says_what_to_set(tmp_path):
    result = week(env={"PATH": "", "HOME": str(tmp_path)})

    assert result.returncode == 1 and "no function's schedule is set: set RUN_PIPELINE_SCHEDULE" in result.stderr


def test_a_bad_week_date_exits_1():
    result = week("0 0 3 * * *", "--week", "next monday")

    assert result.returncode == 1 and "--week 'next monday' is not a date" in result.stderr


def test_a_host_schedule_that_misses_a_job_is_drawn_as_missed_and_exits_1(tmp_path):
    path = tmp_path / "pipelines.json"
    path.write_text(json.dumps({"pipelines": [{"name": "hourly", "schedule": "0 5 * * * *",
                                               "pipeline_endpoint": "x"}]}), encoding="utf-8")
    settings = tmp_path / "local.settings.json"
    settings.write_text(json.dumps({"Values": {"RUN_PIPELINE_SCHEDULE": "0 0 3 * * *"}}), encoding="utf-8")

    result = week("--settings", str(settings), "--jobs", str(path), "--week", "2027-01-18")

    assert result.returncode == 1
    monday = next(line for line in result.stdout.splitlines() if line.startswith("Mon"))
    assert set(monday.split()[1:]) == {"x"}, "every hourly occurrence is missed: the host fires at 03:00 only"
    assert 'error: RunPipelineTimer job hourly: the host schedule "0 0 3 * * *" does not fire at ' in result.stderr


def test_week_jobs_works_alone_on_the_schedule_that_covers_the_file(tmp_path):
    path = tmp_path / "pipelines.json"
    path.write_text(json.dumps({"pipelines": [{"name": "hourly", "schedule": "0 5 * * * *",
                                               "pipeline_endpoint": "x"}]}), encoding="utf-8")

    result = week("--jobs", str(path), "--week", "2027-01-18")

    assert result.returncode == 0, result.stderr
    assert "RunPipelineTimer job hourly: host schedule 0 5 * * * * (UTC)" in result.stdout
    monday = next(line for line in result.stdout.splitlines() if line.startswith("Mon"))
    assert set(monday.split()[1:]) == {"#"}


def test_week_jobs_with_a_missing_file_is_an_error(tmp_path):
    result = week("--jobs", str(tmp_path / "nope.json"))

    assert result.returncode == 1 and f"error: --jobs {tmp_path / 'nope.json'}: no such file" in result.stderr
