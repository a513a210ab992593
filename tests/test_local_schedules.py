"""Local-time settings on the wire: each function acts on its local occurrences only, on any plan."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from shared.settings import ConfigError, load_compute_settings, load_pipeline_settings
from tests.conftest import BASE_SETTINGS, entry_point, make_timer

run_pipeline_timer = entry_point("RunPipelineTimer")
stop_compute_timer = entry_point("StopComputeTimer")
ROOT = Path(__file__).resolve().parent.parent
UTC = timezone.utc

BERLIN_PIPELINE = {"RUN_PIPELINE_SCHEDULE": "0 30 6,7 * * MON-FRI", "RUN_PIPELINE_TIME_ZONE": "Europe/Berlin",
                   "RUN_PIPELINE_LOCAL_SCHEDULE": "0 30 8 * * 1-5"}
BERLIN_STOP = {"STOP_COMPUTE_SCHEDULE": "0 0 17,18 * * MON-FRI", "STOP_COMPUTE_TIME_ZONE": "Europe/Berlin",
               "STOP_COMPUTE_LOCAL_SCHEDULE": "0 0 19 * * 1-5"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def tick_lines(logs) -> list[str]:
    return [r.getMessage() for r in logs.records if r.getMessage().startswith("tick ")]


@pytest.mark.parametrize(("runs", "skips", "local"), [
    ("2027-01-15T07:30:00Z", "2027-01-15T06:30:00Z", "2027-01-15T08:30:00+01:00"),  # winter: UTC+1
    ("2027-07-15T06:30:00Z", "2027-07-15T07:30:00Z", "2027-07-15T08:30:00+02:00"),  # summer: UTC+2
])
def test_a_pipeline_runs_at_0830_berlin_time_winter_and_summer(fake, settings, logs, runs, skips, local):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), **BERLIN_PIPELINE)

    run_pipeline_timer(make_timer(at(skips)))
    assert fake.requests == [], "the other host firing calls nothing, not even the sign-in"
    run_pipeline_timer(make_timer(at(runs)))

    [run] = fake.runs.values()
    assert run.tags["schedule_tick"] == runs
    skipped, ran = tick_lines(logs)
    assert skipped == (f"tick function=RunPipelineTimer tick={skips} past_due=false source=schedule_status "
                       f"local={at(skips).astimezone(at(local).tzinfo).isoformat()} zone=Europe/Berlin "
                       "action=skipped reason=not_local_occurrence")
    assert ran == (f"tick function=RunPipelineTimer tick={runs} past_due=false source=schedule_status "
                   f"local={local} zone=Europe/Berlin")


def test_instances_stop_at_1900_berlin_time_only(fake, settings, logs):
    fake.add_instance("ci-a", "Running")
    settings(**BERLIN_STOP)

    stop_compute_timer(make_timer(at("2027-01-15T17:00:00Z")))  # 18:00 in Berlin
    assert fake.instances["ci-a"].state == "Running" and fake.requests == []
    stop_compute_timer(make_timer(at("2027-01-15T18:00:00Z")))  # 19:00 in Berlin

    assert fake.instances["ci-a"].state == "Stopping"
    assert "local=2027-01-15T19:00:00+01:00 zone=Europe/Berlin" in tick_lines(logs)[-1]


@pytest.mark.parametrize(("tick", "acts"), [
    ("2027-11-07T05:30:00Z", True),   # the first 01:30 (EDT)
    ("2027-11-07T06:30:00Z", False),  # the repeated 01:30 (EST): not an occurrence
    ("2027-11-08T06:30:00Z", True),   # the next day, EST
    ("2027-03-14T07:30:00Z", False),  # spring forward: 01:30 EST is 06:30Z, so 07:30Z is none
    ("2027-03-14T06:30:00Z", True),
])
def test_new_york_overlap_and_gap_days_on_the_wire(fake, settings, tick, acts):
    fake.add_instance("ci-a", "Running")
    settings(STOP_COMPUTE_SCHEDULE="0 30 5,6 * * *", STOP_COMPUTE_TIME_ZONE="America/New_York",
             STOP_COMPUTE_LOCAL_SCHEDULE="0 30 1 * * *")

    stop_compute_timer(make_timer(at(tick)))

    assert (fake.instances["ci-a"].state == "Stopping") is acts


def test_a_gap_time_runs_once_one_gap_later(fake, settings):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), RUN_PIPELINE_SCHEDULE="0 30 6,7 * * *",
             RUN_PIPELINE_TIME_ZONE="America/New_York", RUN_PIPELINE_LOCAL_SCHEDULE="0 30 2 * * *")

    for tick in ("2027-03-14T06:30:00Z", "2027-03-14T07:30:00Z", "2027-03-15T06:30:00Z", "2027-03-15T07:30:00Z"):
        run_pipeline_timer(make_timer(at(tick)))

    assert sorted(run.tags["schedule_tick"] for run in fake.runs.values()) == [
        "2027-03-14T07:30:00Z", "2027-03-15T06:30:00Z"]  # 02:30 did not exist on the 14th: 03:30 EDT


def test_without_a_zone_nothing_changes(fake, settings, logs):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline())

    run_pipeline_timer(make_timer(at("2027-01-15T03:00:00Z")))

    assert tick_lines(logs) == ["tick function=RunPipelineTimer tick=2027-01-15T03:00:00Z past_due=false "
                                "source=schedule_status"]


# --------------------------------------------------------------------------- settings


def test_an_unknown_zone_names_the_setting(fake, settings):
    settings(**{**BERLIN_STOP, "STOP_COMPUTE_TIME_ZONE": "Europe/Berln"})

    with pytest.raises(ConfigError, match="STOP_COMPUTE_TIME_ZONE='Europe/Berln' is not valid: 'Europe/Berln' is "
                                          "not an IANA time zone"):
        stop_compute_timer(make_timer(at("2027-01-15T18:00:00Z")))
    assert fake.requests == []


@pytest.mark.parametrize(("missing", "present"), [("RUN_PIPELINE_LOCAL_SCHEDULE", "RUN_PIPELINE_TIME_ZONE"),
                                                  ("RUN_PIPELINE_TIME_ZONE", "RUN_PIPELINE_LOCAL_SCHEDULE")])
def test_a_zone_needs_a_local_schedule_and_the_reverse(missing, present):
    env = {**BASE_SETTINGS, "RUN_PIPELINE_ID": "77777777-7777-7777-7777-777777777777", **BERLIN_PIPELINE}
    env.pop(missing)

    with pytest.raises(ConfigError, match=f"{missing} is missing: {present} is set"):
        load_pipeline_settings(env)


def test_a_host_schedule_that_misses_a_local_occurrence_names_all_three_and_the_fix():
    env = {**BASE_SETTINGS, **BERLIN_STOP, "STOP_COMPUTE_SCHEDULE": "0 0 18 * * MON-FRI"}  # winter only

    with pytest.raises(ConfigError) as error:
        load_compute_settings(env, now=at("2027-01-10T00:00:00Z"))

    assert str(error.value) == (
        "invalid app settings: STOP_COMPUTE_SCHEDULE='0 0 18 * * MON-FRI' cannot serve "
        "STOP_COMPUTE_LOCAL_SCHEDULE='0 0 19 * * 1-5' in STOP_COMPUTE_TIME_ZONE=Europe/Berlin: it does not fire at "
        "2027-03-29T19:00:00+02:00 (2027-03-29T17:00:00Z), a local occurrence; use '0 0 17,18 * * MON-FRI' "
        "(python -m shared.schedule from-local prints it)")


def test_the_example_settings_local_pairs_are_served_by_their_host_schedules():
    import json

    values = json.loads((ROOT / "local.settings.json.example").read_text(encoding="utf-8"))["Values"]
    values.update(AML_RESOURCE_GROUP="rg", AML_WORKSPACE_NAME="ws")  # placeholders in the example
    for action in ("stop", "start"):
        assert load_compute_settings(values, action).local is not None


# --------------------------------------------------------------------------- the tool


def schedule_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shared.schedule", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize(("expression", "zone", "host"), [
    ("0 25 21 * * *", "Asia/Tokyo", "0 25 12 * * *"),
    ("0 30 8 * * 1-5", "Europe/Berlin", "0 30 6,7 * * MON-FRI"),
])
def test_from_local_prints_the_host_schedule_alone_on_its_first_line(expression, zone, host):
    result = schedule_cli("from-local", expression, "--tz", zone, "--function", "RunPipelineTimer")

    assert result.returncode == 0, result.stderr
    first, cost, command = result.stdout.splitlines()
    assert first == host
    assert re.match(r"^[12] host firing\(s\) per local occurrence: ", cost)
    assert command == (f'az functionapp config appsettings set --name <function-app> --resource-group '
                       f'<resource-group> --settings "RUN_PIPELINE_SCHEDULE={host}" "RUN_PIPELINE_TIME_ZONE={zone}" '
                       f'"RUN_PIPELINE_LOCAL_SCHEDULE={expression}"')


@pytest.mark.parametrize(("args", "message"), [
    (("from-local", "0 30 8 * *", "--tz", "Europe/Berlin"), "has 5 fields"),
    (("from-local", "0 30 8 * * *", "--tz", "Mars/Base"), "'Mars/Base' is not an IANA time zone"),
])
def test_from_local_exits_1_with_a_clear_message(args, message):
    result = schedule_cli(*args)

    assert result.returncode == 1 and result.stdout == "" and message in result.stderr


def test_next_with_local_shows_each_occurrence_in_utc_and_local():
    result = schedule_cli("next", "0 30 2 * * *", "--local", "America/New_York", "--after", "2027-03-13T12:00:00Z",
                          "--count", "2")

    assert result.stdout.splitlines() == ["2027-03-14T07:30:00Z  2027-03-14T03:30:00-04:00 America/New_York",
                                          "2027-03-15T06:30:00Z  2027-03-15T02:30:00-04:00 America/New_York"]


def test_check_with_local_describes_the_wall_clock():
    result = schedule_cli("check", "0 30 8 * * 1-5", "--local", "Europe/Berlin")

    assert result.stdout.strip() == "at 08:30:00 Europe/Berlin on Monday-Friday"
