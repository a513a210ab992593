"""NCRONTAB rules as the Functions host (NCrontab 3.3.3) applies them; expected times are worked out by hand."""

from datetime import datetime, timedelta, timezone

import pytest

from shared.ncrontab import ScheduleError, parse, resolve_settings, validate
from shared.occurrences import Occurrences

UTC = timezone.utc


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def nexts(expression: str, start: datetime, count: int) -> list[datetime]:
    return Occurrences(parse(expression)).upcoming(start, count)


def rejected(expression: str) -> str:
    with pytest.raises(ScheduleError) as info:
        parse(expression)
    return str(info.value)


# --------------------------------------------------------------------------- field ranges


def test_field_ranges_accept_their_extremes():
    schedule = parse("0-59 0-59 0-23 1-31 1-12 0-6")
    assert schedule.seconds == tuple(range(60))
    assert schedule.minutes == tuple(range(60))
    assert schedule.hours == tuple(range(24))
    assert schedule.days == tuple(range(1, 32))
    assert schedule.months == tuple(range(1, 13))
    assert schedule.days_of_week == tuple(range(7))


@pytest.mark.parametrize(
    "expression, bad",
    [
        ("60 0 0 * * *", "second"),
        ("0 60 0 * * *", "minute"),
        ("0 0 24 * * *", "hour"),
        ("0 0 0 0 * *", "day"),
        ("0 0 0 32 * *", "day"),
        ("0 0 0 * 0 *", "month"),
        ("0 0 0 * 13 *", "month"),
        ("0 0 0 1-32 * *", "day"),
    ],
)
def test_values_outside_a_field_range_are_rejected(expression, bad):
    message = rejected(expression)
    assert message.startswith(f"{bad} field")
    assert "use " in message


def test_a_value_that_is_not_a_number_is_rejected():
    assert "not a number" in rejected("0 0 1x * * *")
    assert "not a number" in rejected("0 0 0 Mon * *")  # only month and day-of-week have names


def test_a_step_that_overflows_ncrontab_is_rejected():
    assert "too large" in rejected("0 0 0 5/2147483647 * *")
    assert parse("0 */2147483647 * * * *").minutes == (0,)


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize("name", ["Mon", "monday", "MONDAY", "mOnDa"])
def test_day_names_are_case_insensitive_prefixes(name):
    assert parse(f"0 0 0 * * {name}").days_of_week == (1,)


@pytest.mark.parametrize(
    "text, field, value",
    [
        ("T", "days_of_week", 2),  # Tuesday comes before Thursday
        ("S", "days_of_week", 0),  # Sunday comes before Saturday
        ("W", "days_of_week", 3),  # Wednesday, not Quartz's W
        ("Ju", "months", 6),  # June comes before July
        ("Ma", "months", 3),  # March comes before May
        ("jan", "months", 1),
        ("DECEMBER", "months", 12),
    ],
)
def test_the_first_name_that_starts_with_the_text_wins(text, field, value):
    expression = f"0 0 0 * * {text}" if field == "days_of_week" else f"0 0 0 * {text} *"
    assert getattr(parse(expression), field) == (value,)


@pytest.mark.parametrize("expression", ["0 0 0 * Januaryx *", "0 0 0 * * Fridays", "0 0 0 * * Xmas"])
def test_text_that_is_not_a_prefix_of_a_name_is_rejected(expression):
    assert "name" in rejected(expression)


def test_names_work_in_ranges_and_lists():
    assert parse("0 0 0 * * MON-FRI").days_of_week == (1, 2, 3, 4, 5)
    assert parse("0 0 0 * * sat,sun").days_of_week == (0, 6)
    assert parse("0 0 0 * MAR-MAY *").months == (3, 4, 5)
    assert parse("0 0 0 * jan,Jul-aug *").months == (1, 7, 8)


# --------------------------------------------------------------------------- day of week


@pytest.mark.parametrize("dow", ["7", "1-7", "0-7", "SUN-7"])
def test_day_of_week_7_is_rejected(dow):
    message = rejected(f"0 0 0 * * {dow}")
    assert "write 0 for Sunday" in message


def test_sunday_is_0():
    # 2026-01-04 is a Sunday.
    assert nexts("0 0 9 * * 0", utc(2026, 1, 1), 1) == [utc(2026, 1, 4, 9)]


def test_day_of_month_and_day_of_week_are_anded():
    # 0 0 0 13 * FRI: only Friday the 13th (2026: February, March, November), not every 13th and every Friday.
    assert nexts("0 0 0 13 * FRI", utc(2026, 1, 1), 3) == [utc(2026, 2, 13), utc(2026, 3, 13), utc(2026, 11, 13)]


def test_days_1_to_7_with_monday_is_the_first_monday():
    assert nexts("0 0 0 1-7 * MON", utc(2026, 1, 1), 3) == [utc(2026, 1, 5), utc(2026, 2, 2), utc(2026, 3, 2)]


def test_weekdays_skip_the_weekend():
    # Friday 2026-01-02 10:00 is past 09:30, so the next weekday run is Monday 2026-01-05.
    assert nexts("0 30 9 * * MON-FRI", utc(2026, 1, 2, 10), 2) == [utc(2026, 1, 5, 9, 30), utc(2026, 1, 6, 9, 30)]


# --------------------------------------------------------------------------- ranges and steps


def test_reversed_ranges_are_swapped_not_wrapped():
    assert parse("0 10-5 * * * *").minutes == (5, 6, 7, 8, 9, 10)
    assert parse("0 0 0 * * FRI-MON").days_of_week == (1, 2, 3, 4, 5)
    assert parse("0 0 0 * * MON-SUNDAY").days_of_week == (0, 1)
    assert parse("0 50-10/20 * * * *").minutes == (10, 30, 50)  # swapped first, then stepped


def test_step_0_means_every_value():
    assert parse("*/0 * * * * *").seconds == tuple(range(60))


def test_a_signed_step_is_read_like_dotnet_int_parse():
    assert parse("*/-3 * * * * *").seconds == tuple(range(60))  # below 1 means 1
    assert parse("*/+30 * * * * *").seconds == (0, 30)


def test_a_step_larger_than_the_range_leaves_only_the_first_value():
    assert parse("0 */61 * * * *").minutes == (0,)
    assert parse("0 0 0 * * */7").days_of_week == (0,)
    assert parse("0 0 0 * 3-5/12 *").months == (3,)


def test_range_with_step():
    assert parse("0 0 9-17/4 * * *").hours == (9, 13, 17)


def test_step_does_not_carry_over_between_hours():
    assert parse("0 */7 * * * *").minutes == (0, 7, 14, 21, 28, 35, 42, 49, 56)
    # After 10:56 comes 11:00, not 11:03.
    assert nexts("0 */7 * * * *", utc(2026, 1, 1, 10, 50), 2) == [utc(2026, 1, 1, 10, 56), utc(2026, 1, 1, 11)]


def test_value_with_step_runs_up_to_the_field_maximum():
    assert parse("0 0 0 * 2/4 *").months == (2, 6, 10)
    assert parse("0 5/20 * * * *").minutes == (5, 25, 45)
    assert parse("0 0 0 * * MON/2").days_of_week == (1, 3, 5)


def test_lists_combine_values_ranges_and_steps():
    assert parse("0 0,15-17,*/20 * * * *").minutes == (0, 15, 16, 17, 20, 40)


@pytest.mark.parametrize("expression", ["0 0 0 1,,2 * *", "0 0 0 1, * *", "0 0 0 1- * *", "0 */ * * * *"])
def test_empty_parts_are_rejected(expression):
    rejected(expression)


# --------------------------------------------------------------------------- next occurrence


def test_next_is_strictly_after_the_start():
    assert nexts("0 25 21 * * *", utc(2026, 11, 23, 21, 25), 1) == [utc(2026, 11, 24, 21, 25)]
    assert nexts("0 25 21 * * *", utc(2026, 11, 23, 21, 24, 59, 999999), 1) == [utc(2026, 11, 23, 21, 25)]


def test_fractions_of_a_second_are_ignored_like_ncrontab():
    # NCrontab searches from the start's whole second + 1 s.
    assert nexts("* * * * * *", utc(2026, 1, 1, 12, 0, 0, 500000), 2) == [
        utc(2026, 1, 1, 12, 0, 1),
        utc(2026, 1, 1, 12, 0, 2),
    ]


def test_every_5_minutes():
    assert nexts("0 */5 * * * *", utc(2026, 1, 1, 23, 52, 30), 3) == [
        utc(2026, 1, 1, 23, 55),
        utc(2026, 1, 2, 0, 0),
        utc(2026, 1, 2, 0, 5),
    ]


def test_day_31_skips_months_without_it():
    assert nexts("0 0 0 31 * *", utc(2026, 1, 31), 6) == [
        utc(2026, 3, 31),  # not February
        utc(2026, 5, 31),  # not April
        utc(2026, 7, 31),  # not June
        utc(2026, 8, 31),
        utc(2026, 10, 31),  # not September
        utc(2026, 12, 31),  # not November
    ]


def test_year_end_rolls_over():
    assert nexts("0 0 0 1 1 *", utc(2026, 12, 31, 23, 59, 59), 1) == [utc(2027, 1, 1)]
    assert nexts("59 59 23 31 12 *", utc(2026, 12, 31, 23, 59, 59), 1) == [utc(2027, 12, 31, 23, 59, 59)]


def test_29_february_only_in_leap_years():
    assert nexts("0 0 12 29 2 *", utc(2025, 1, 1), 2) == [utc(2028, 2, 29, 12), utc(2032, 2, 29, 12)]


def test_2100_is_not_a_leap_year():
    assert nexts("0 0 12 29 2 *", utc(2096, 3, 1), 1) == [utc(2104, 2, 29, 12)]


def test_29_february_on_a_weekday_can_be_decades_away():
    # 29 Feb is a Monday in 2072; 2100 is skipped, so the next one is 2112: a horizon of 28 years is too short.
    assert nexts("0 0 0 29 2 MON", utc(2072, 3, 1), 1) == [utc(2112, 2, 29)]


def test_nothing_after_year_9999():
    assert parse("0 0 0 * * *").next_after(utc(9999, 12, 31)) is None


def test_naive_datetimes_are_utc_and_results_are_aware_utc():
    found = parse("0 25 21 * * *").next_after(datetime(2026, 11, 23, 12))
    assert found == utc(2026, 11, 23, 21, 25)
    assert found.tzinfo is UTC


def test_aware_datetimes_in_other_zones_are_converted_to_utc():
    tokyo = timezone(timedelta(hours=9))
    # 06:00 on the 24th in Tokyo is 21:00 UTC on the 23rd.
    assert parse("0 25 21 * * *").next_after(datetime(2026, 11, 24, 6, tzinfo=tokyo)) == utc(2026, 11, 23, 21, 25)


def test_occurrences_returns_the_requested_count():
    assert nexts("0 0 */6 * * *", utc(2026, 1, 1), 5) == [
        utc(2026, 1, 1, 6),
        utc(2026, 1, 1, 12),
        utc(2026, 1, 1, 18),
        utc(2026, 1, 2, 0),
        utc(2026, 1, 2, 6),
    ]


# --------------------------------------------------------------------------- never fires


@pytest.mark.parametrize(
    "expression, reason",
    [
        ("0 0 0 30 2 *", "day 30 never occurs in February"),
        ("0 0 0 31 4 *", "day 31 never occurs in April"),
        ("0 0 0 31 2,4,6,9,11 *", "day 31 never occurs in February, April, June, September or November"),
        ("0 0 0 30,31 FEB *", "days 30 and 31 never occur in February"),
    ],
)
def test_expressions_that_never_fire_parse_but_fail_validation(expression, reason):
    schedule = parse(expression)  # NCrontab accepts them...
    assert schedule.next_after(utc(2026, 1, 1)) is None  # ...and never fires
    assert schedule.latest_at_or_before(utc(2026, 1, 1)) is None
    with pytest.raises(ScheduleError, match=f"can never fire: {reason}"):
        validate(expression)


def test_29_february_is_not_a_never_firing_expression():
    assert validate("0 0 0 29 2 *").days == (29,)


# --------------------------------------------------------------------------- whole-string form


def test_repeated_spaces_between_fields_are_fine():
    assert parse("  0  25   21 * *  *  ").expression == "0 25 21 * * *"


@pytest.mark.parametrize("expression", ["0\t25 21 * * *", "0 25\t21 * * * *", "0 25 21 * * *\n"])
def test_a_tab_or_line_break_is_not_a_separator(expression):
    assert "space" in rejected(expression)


def test_five_field_cron_is_rejected_with_a_hint():
    message = rejected("*/5 * * * *")
    assert "5 fields" in message
    assert "'0 */5 * * * *'" in message


@pytest.mark.parametrize("expression", ["01:00:00", "5", "24:00:00", "1.00:00:00", "00:05"])
def test_timespan_is_rejected(expression):
    message = rejected(expression)
    assert "App Service" in message
    assert "24 days" in message


@pytest.mark.parametrize(
    "expression",
    ["0 0 0 ? * MON", "0 0 0 L * *", "0 0 0 15W * *", "0 0 0 * * 5#3", "0 0 0 * * 5L", "0 0 0 LW * *"],
)
def test_quartz_extras_are_rejected(expression):
    assert "Quartz" in rejected(expression)


@pytest.mark.parametrize("macro", ["@daily", "@hourly", "@reboot"])
def test_macros_are_rejected(macro):
    assert "macros" in rejected(macro)


def test_seven_fields_are_rejected():
    assert "no year field" in rejected("0 0 0 * * * 2026")


@pytest.mark.parametrize("expression", ["0 0 * *", "0 0 0 * * * * *"])
def test_other_field_counts_are_rejected(expression):
    assert "exactly six" in rejected(expression)


@pytest.mark.parametrize("expression", ["", "   "])
def test_empty_schedule_is_rejected(expression):
    assert "empty" in rejected(expression)


# --------------------------------------------------------------------------- %SETTING%


def test_setting_resolves_the_whole_string():
    assert resolve_settings("%SCHEDULE%", {"SCHEDULE": "0 25 12 * * *"}) == "0 25 12 * * *"


def test_settings_resolve_anywhere_in_the_string():
    assert resolve_settings("0 %MIN% %HOUR% * * *", {"MIN": "25", "HOUR": "12"}) == "0 25 12 * * *"


def test_a_resolved_value_is_not_resolved_again():
    assert resolve_settings("%A%", {"A": "%B%", "B": "x"}) == "%B%"


def test_setting_names_fall_back_to_case_insensitive():
    assert resolve_settings("%schedule%", {"SCHEDULE": "0 0 0 * * *"}) == "0 0 0 * * *"


def test_unknown_setting_is_an_error():
    with pytest.raises(ScheduleError) as info:
        resolve_settings("%RUN_SCHEDULE%", {})
    assert str(info.value) == "'%RUN_SCHEDULE%' does not resolve to a value: set the app setting RUN_SCHEDULE"


def test_unclosed_percent_is_an_error_naming_the_position():
    with pytest.raises(ScheduleError, match="The '%' at position 2 does not have a closing '%'"):
        resolve_settings("0 %MIN 12 * * *", {"MIN": "5"})


def test_validate_resolves_settings_before_parsing():
    assert validate("%S%", {"S": "0 25 12 * * *"}).expression == "0 25 12 * * *"
    with pytest.raises(ScheduleError, match="5 fields"):
        validate("%S%", {"S": "25 12 * * *"})


# --------------------------------------------------------------------------- latest at or before


def test_latest_at_or_before_counts_an_exact_occurrence():
    schedule = parse("0 25 21 * * *")
    assert schedule.latest_at_or_before(utc(2026, 11, 23, 21, 25)) == utc(2026, 11, 23, 21, 25)
    assert schedule.latest_at_or_before(utc(2026, 11, 23, 21, 25, 0, 700000)) == utc(2026, 11, 23, 21, 25)


def test_latest_at_or_before_goes_back_to_the_previous_day():
    assert parse("0 25 21 * * *").latest_at_or_before(utc(2026, 11, 23, 21, 24, 59)) == utc(2026, 11, 22, 21, 25)


def test_latest_at_or_before_within_the_hour():
    # A tick that started at 10:05:00 and runs until 10:09:12 still belongs to 10:05.
    assert parse("0 */5 * * * *").latest_at_or_before(utc(2026, 1, 1, 10, 9, 12)) == utc(2026, 1, 1, 10, 5)


def test_latest_at_or_before_uses_the_last_time_of_an_earlier_day():
    assert parse("0 0,30 9,17 * * *").latest_at_or_before(utc(2026, 1, 2, 8)) == utc(2026, 1, 1, 17, 30)


def test_latest_at_or_before_respects_and_semantics_and_years():
    assert parse("0 0 0 13 * FRI").latest_at_or_before(utc(2026, 3, 1)) == utc(2026, 2, 13)
    assert parse("0 0 0 31 12 *").latest_at_or_before(utc(2027, 6, 1)) == utc(2026, 12, 31)


def test_latest_at_or_before_accepts_naive_utc():
    assert parse("0 0 * * * *").latest_at_or_before(datetime(2026, 1, 1, 10, 30)) == utc(2026, 1, 1, 10)


# --------------------------------------------------------------------------- describe


@pytest.mark.parametrize(
    "expression, text",
    [
        ("0 25 21 * * *", "at 21:25:00 UTC every day"),
        ("0 25 12 * * *", "at 12:25:00 UTC every day"),
        ("0 0 9,17 * * *", "at 09:00:00 and 17:00:00 UTC every day"),
        ("0 */5 * * * *", "every 5 minutes"),
        ("0 * * * * *", "every minute"),
        ("*/30 * * * * *", "every 30 seconds"),
        ("0 0 * * * *", "every hour"),
        ("0 30 * * * *", "at minute 30 of every hour"),
        ("0 30 9 * * MON-FRI", "at 09:30:00 UTC on Monday-Friday"),
        ("0 0 0 13 * FRI", "at 00:00:00 UTC on the 13th of every month but only if it is a Friday"),
        ("0 0 0 1 1 *", "at 00:00:00 UTC on the 1st of January"),
        ("0 0 0 * 3-5 *", "at 00:00:00 UTC every day in March-May"),
    ],
)
def test_describe_common_schedules(expression, text):
    assert parse(expression).describe() == text


# --------------------------------------------------------------------------- brute force


def _second_scan(predicate, start: datetime, end: datetime) -> list[datetime]:
    out, moment = [], start + timedelta(seconds=1)
    while moment < end:
        if predicate(moment):
            out.append(moment)
        moment += timedelta(seconds=1)
    return out


def _day_scan(predicate, start: datetime, end: datetime) -> list[datetime]:
    out, moment = [], start + timedelta(days=1)
    while moment < end:
        if predicate(moment):
            out.append(moment)
        moment += timedelta(days=1)
    return out


def _iso_dow(moment: datetime) -> int:
    return moment.isoweekday() % 7  # Sunday = 0


@pytest.mark.parametrize(
    "expression, predicate",
    [
        ("*/13 */7 * * * *", lambda t: t.second % 13 == 0 and t.minute % 7 == 0),
        ("10-20/5 58-59,0 23,0 * * *", lambda t: t.second in (10, 15, 20) and t.minute in (58, 59, 0)
         and t.hour in (23, 0)),
        ("0 0/25 * * * MON", lambda t: t.second == 0 and t.minute in (0, 25, 50) and _iso_dow(t) == 1),
    ],
)
def test_matches_a_brute_force_second_scan(expression, predicate):
    # 2026-01-04 is a Sunday, so the two days cover the Sunday-Monday switch.
    start, end = utc(2026, 1, 4), utc(2026, 1, 6)
    expected = _second_scan(predicate, start, end)
    assert nexts(expression, start, len(expected) + 1)[:-1] == expected


@pytest.mark.parametrize(
    "expression, predicate",
    [
        ("0 0 0 13 * FRI", lambda t: t.day == 13 and _iso_dow(t) == 5),
        ("0 0 0 1-7 * MON", lambda t: t.day <= 7 and _iso_dow(t) == 1),
        ("0 0 0 29-31 2/3 *", lambda t: t.day >= 29 and t.month in (2, 5, 8, 11)),
        ("0 0 0 * * 0,6", lambda t: _iso_dow(t) in (0, 6)),
    ],
)
def test_matches_a_brute_force_day_scan(expression, predicate):
    start, end = utc(2023, 1, 1), utc(2033, 1, 1)
    expected = _day_scan(predicate, start, end)
    assert nexts(expression, start, len(expected) + 1)[:-1] == expected
