"""Pipeline parameters that know their tick: {tick} and {window_start}, in the schedule's zone."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest

from shared.parameters import TemplateError, parse_template, render
from shared.settings import ConfigError
from tests.conftest import entry_point, make_timer

run_pipeline_timer = entry_point("RunPipelineTimer")
UTC = timezone.utc


def submitted(fake, settings, parameters: dict, tick: datetime, **extra) -> dict[str, str]:
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), RUN_PIPELINE_PARAMETERS=json.dumps(parameters), **extra)
    run_pipeline_timer(make_timer(tick))
    [run] = fake.runs.values()
    return run.parameters


def test_tick_and_window_start_in_utc(fake, settings):
    parameters = submitted(fake, settings, {
        "run_date": "{tick:%Y-%m-%d}", "since": "{window_start:%Y-%m-%dT%H:%M}", "at": "{tick}",
        "path": "raw/{tick:%Y/%m/%d}/*.parquet", "epochs": 3, "full": True}, datetime(2027, 1, 15, 3, tzinfo=UTC))

    assert parameters == {"run_date": "2027-01-15", "since": "2027-01-14T03:00", "at": "2027-01-15T03:00:00+00:00",
                          "path": "raw/2027/01/15/*.parquet", "epochs": "3", "full": "True"}


def test_times_are_in_the_local_zone_a_tokyo_run_at_0100_on_the_15th_is_for_the_15th(fake, settings):
    parameters = submitted(fake, settings, {"run_date": "{tick:%Y-%m-%d}", "window": "{window_start}/{tick}"},
                           datetime(2027, 1, 14, 16, tzinfo=UTC), RUN_PIPELINE_SCHEDULE="0 0 16 * * *",
                           RUN_PIPELINE_TIME_ZONE="Asia/Tokyo", RUN_PIPELINE_LOCAL_SCHEDULE="0 0 1 * * *")

    assert parameters == {"run_date": "2027-01-15", "window": "2027-01-14T01:00:00+09:00/2027-01-15T01:00:00+09:00"}


def test_window_start_is_the_previous_local_occurrence_on_weekdays(fake, settings):
    parameters = submitted(fake, settings, {"since": "{window_start:%a %d}", "until": "{tick:%a %d}"},
                           datetime(2027, 1, 18, 7, 30, tzinfo=UTC), RUN_PIPELINE_SCHEDULE="0 30 6,7 * * MON-FRI",
                           RUN_PIPELINE_TIME_ZONE="Europe/Berlin", RUN_PIPELINE_LOCAL_SCHEDULE="0 30 8 * * 1-5")

    assert parameters == {"since": "Fri 15", "until": "Mon 18"}


def test_escaped_braces_and_text_around_placeholders_are_kept(fake, settings):
    parameters = submitted(fake, settings, {"json": '{{"date": "{tick:%Y%m%d}"}}', "plain": "no placeholder"},
                           datetime(2027, 1, 15, 3, tzinfo=UTC))

    assert parameters == {"json": '{"date": "20270115"}', "plain": "no placeholder"}


def test_the_submitted_line_shows_the_effective_parameters(fake, settings, logs):
    submitted(fake, settings, {"run_date": "{tick:%Y-%m-%d}"}, datetime(2027, 1, 15, 3, tzinfo=UTC))

    [line] = [r.getMessage() for r in logs.records if r.getMessage().startswith("pipeline action=submitted")]
    assert 'parameters="{\\"run_date\\":\\"2027-01-15\\"}"' in line


@pytest.mark.parametrize(("value", "fragment"), [
    ("{day}", "{day}: unknown placeholder 'day': use {tick} or {window_start}"),
    ("{tick", "a '{' is not closed"),
    ("tick}", "a '}' has no '{'"),
    ("{tick.year}", "{tick.year}: only {name} and {name:format} are allowed, no attributes, indexes or conversions"),
    ("{tick[0]}", "{tick[0]}: only {name} and {name:format} are allowed"),
    ("{tick!r}", "{tick!r}: only {name} and {name:format} are allowed"),
    ("{tick:%Y-%Q}", "{tick:%Y-%Q}: strftime has no directive %Q"),
    ("{tick:%Y-%}", "{tick:%Y-%}: the format ends with a lone '%'"),
])
def test_a_bad_placeholder_is_a_configuration_error_before_any_call(fake, settings, timer, value, fragment):
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), RUN_PIPELINE_PARAMETERS=json.dumps({"p": value}))

    with pytest.raises(ConfigError) as error:
        run_pipeline_timer(timer)

    assert f"RUN_PIPELINE_PARAMETERS 'p': {fragment}" in str(error.value)
    assert fake.requests == []


def test_templates_render_literal_parts_and_fields_in_order():
    moment = datetime(2027, 1, 15, 3, tzinfo=UTC)

    assert render("a{{b}}{tick:%H}c{window_start}", {"tick": moment, "window_start": moment}) == \
        "a{b}03c2027-01-15T03:00:00+00:00"
    assert re.fullmatch(r"\d{4}", render("{tick:%Y}", {"tick": moment}))
    with pytest.raises(TemplateError):
        parse_template("{}")
