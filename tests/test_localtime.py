"""Local-time schedules: the tick gate and the host-schedule tool share shared.localtime; tested here directly.

The reference below restates the semantics independently of the module: every wall-clock match of the local
fields, day by day, turned into an instant with zoneinfo and fold=0. Everything the module answers is compared
with it over two years, for zones of both hemispheres, with half-hour and 45-minute offsets, without DST, and UTC.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from shared.localtime import LocalSchedule, first_missed, host_schedule_for, load_zone, parse_local
from shared.ncrontab import parse, validate

UTC = timezone.utc
START = datetime(2027, 1, 1, tzinfo=UTC)
END = datetime(2028, 12, 31, 23, 59, 59, tzinfo=UTC)
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "America/Santiago", "Asia/Kolkata",
         "Asia/Kathmandu", "Pacific/Chatham", "Australia/Lord_Howe", "Asia/Tokyo", "UTC"]
SCHEDULES = ["0 30 8 * * 1-5", "0 30 2 * * *", "0 0,30 1-3 * * *", "0 0 0 * * *", "0 15 23 * * 0", "0 45 6 1 * *"]


def reference(expression: str, zone_name: str, start: datetime = START, end: datetime = END) -> list[datetime]:
    """Every local occurrence in [start, end]: each matching wall time, day by day, read with fold=0."""
    schedule, zone = parse(expression), ZoneInfo(zone_name)
    found = set()
    day = (start - timedelta(days=2)).date()
    while day <= (end + timedelta(days=2)).date():
        if schedule.date_matches(day):
            for seconds in schedule.seconds_of_day():
                wall = datetime.combine(day, time()) + timedelta(seconds=seconds)
                instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
                if start <= instant <= end:
                    found.add(instant)
        day += timedelta(days=1)
    return sorted(found)


@pytest.fixture(scope="module", params=[(e, z) for z in ZONES for e in SCHEDULES], ids=lambda p: f"{p[1]}|{p[0]}")
def case(request):
    expression, zone_name = request.param
    return LocalSchedule(validate(expression), zone_name), reference(expression, zone_name)


def test_between_lists_exactly_the_reference_occurrences(case):
    local, expected = case
    assert local.between(START, END) == expected


def test_every_reference_occurrence_is_recognised_and_nothing_near_it_is(case):
    local, expected = case
    known = set(expected)
    for instant in expected[::7]:
        assert local.occurrence_at(instant) is not None, instant
        for near in (instant - timedelta(hours=1), instant + timedelta(minutes=30), instant + timedelta(seconds=1)):
            assert (local.occurrence_at(near) is not None) == (near in known), near


def test_the_previous_occurrence_is_the_latest_instant_before(case):
    local, expected = case
    for earlier, later in list(zip(expected, expected[1:], strict=False))[::11]:
        assert local.previous(later) == earlier
        assert local.next_after(earlier) == later


def test_the_host_schedule_from_local_covers_every_reference_occurrence(case):
    local, expected = case
    plan = host_schedule_for(local, START)

    assert all(plan.schedule.matches(instant) for instant in expected), plan.schedule
    assert first_missed(plan.schedule, local, START, days=730) is None


@pytest.mark.parametrize(
    ("expression", "zone", "host", "firings"),
    [
        ("0 30 8 * * 1-5", "Europe/Berlin", "0 30 6,7 * * MON-FRI", 2),
        ("0 30 8 * * 1-5", "America/New_York", "0 30 12,13 * * MON-FRI", 2),
        ("0 25 21 * * *", "Asia/Tokyo", "0 25 12 * * *", 1),
        ("0 0 8 * * 1-5", "Asia/Tokyo", "0 0 23 * * SUN-THU", 1),  # the UTC day is the day before
        ("0 30 9 * * *", "Asia/Kolkata", "0 0 4 * * *", 1),
        ("0 0 9 * * *", "Asia/Kathmandu", "0 15 3 * * *", 1),
        ("0 0 9 * * *", "Pacific/Chatham", "0 15 19,20 * * *", 2),
        ("0 30 1 * * 6", "Europe/Berlin", "0 30 0,23 * * FRI,SAT", 4),  # DESIGN.md: {0,23} x {FRI,SAT}
        ("0 0 12 * * *", "UTC", "0 0 12 * * *", 1),
        ("0 30 8 * * *", "Australia/Lord_Howe", "0 0,30 21,22 * * *", 4),
    ],
)
def test_from_local_gives_the_tightest_cross_product(expression, zone, host, firings):
    plan = host_schedule_for(parse_local(expression, zone), START)

    assert plan.schedule.expression == host
    assert plan.firings_per_occurrence == pytest.approx(firings, rel=0.02)


def test_fixed_times_without_a_day_of_month_take_at_most_two_firings_per_occurrence():
    # Lord Howe's clocks move by 30 minutes: 08:30 is 21:30Z or 22:00Z, and the cross product of {0,30} and {21,22}
    # is four firings. Every zone whose offsets differ by whole hours keeps to one firing per offset.
    for zone in (zone for zone in ZONES if zone != "Australia/Lord_Howe"):
        for expression in ("0 30 8 * * *", "0 0 21 * * 1-5", "0 15 6 * * *"):
            assert host_schedule_for(parse_local(expression, zone), START).firings_per_occurrence <= 2.0 + 1e-9


# --------------------------------------------------------------------------- the gap and overlap days of 2027


@pytest.mark.parametrize(
    ("zone", "expression", "wall", "instant"),
    [
        # spring forward: a time in the gap is the instant one gap later
        ("America/New_York", "0 30 2 * * *", "2027-03-14T02:30", "2027-03-14T07:30:00Z"),
        ("Europe/Berlin", "0 30 2 * * *", "2027-03-28T02:30", "2027-03-28T01:30:00Z"),
        # fall back: a repeated time means its first occurrence
        ("America/New_York", "0 30 1 * * *", "2027-11-07T01:30", "2027-11-07T05:30:00Z"),
        ("Europe/Berlin", "0 30 2 * * *", "2027-10-31T02:30", "2027-10-31T00:30:00Z"),
    ],
)
def test_gap_and_overlap_days(zone, expression, wall, instant):
    local = parse_local(expression, zone)
    moment = datetime.fromisoformat(instant.replace("Z", "+00:00"))

    assert local.instant(datetime.fromisoformat(wall)) == moment
    assert local.occurrence_at(moment) == datetime.fromisoformat(wall)
    assert local.occurrence_at(moment + timedelta(hours=1)) is None, "the second 01:30 (02:30) is not one"
    day = moment.replace(hour=0, minute=0)
    assert local.between(day, day + timedelta(days=1) - timedelta(seconds=1)) == [moment]


def test_a_gap_time_and_the_time_one_gap_later_are_one_tick():
    local = parse_local("0 30 2,3 * * *", "America/New_York")

    day = datetime(2027, 3, 14, tzinfo=UTC)
    assert local.between(day, day + timedelta(days=1)) == [datetime(2027, 3, 14, 7, 30, tzinfo=UTC)]


def test_the_previous_occurrence_across_a_gap_is_the_latest_instant_not_the_previous_wall_time():
    # 02:30 (gap) and 03:15 on the spring-forward day: walls in order 02:30, 03:15; instants 07:30Z, 07:15Z.
    local = parse_local("0 30 2 * * *", "America/New_York")
    both = LocalSchedule(validate("0 15,30 2,3 14 3 *"), "America/New_York")

    assert local.previous(datetime(2027, 3, 15, 6, 30, tzinfo=UTC)) == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)
    instants = both.between(datetime(2027, 3, 14, tzinfo=UTC), datetime(2027, 3, 15, tzinfo=UTC))
    assert instants == [datetime(2027, 3, 14, 7, 15, tzinfo=UTC), datetime(2027, 3, 14, 7, 30, tzinfo=UTC)]
    assert both.previous(instants[1]) == instants[0]


# --------------------------------------------------------------------------- properties over random schedules


def random_schedule(rng: random.Random) -> str:
    minutes = sorted(rng.sample(range(0, 60, 5), rng.randint(1, 3)))
    hours = sorted(rng.sample(range(24), rng.randint(1, 4)))
    days = "*" if rng.random() < 0.8 else ",".join(map(str, sorted(rng.sample(range(1, 29), rng.randint(1, 3)))))
    weekdays = "*" if rng.random() < 0.5 else ",".join(map(str, sorted(rng.sample(range(7), rng.randint(1, 5)))))
    return f"0 {','.join(map(str, minutes))} {','.join(map(str, hours))} {days} * {weekdays}"


@pytest.mark.parametrize("seed", range(12))
def test_the_host_schedule_always_covers_a_random_local_schedule(seed):
    rng = random.Random(seed)
    expression, zone = random_schedule(rng), rng.choice(ZONES)
    local = parse_local(expression, zone)
    plan = host_schedule_for(local, START)

    misses = [instant for instant in reference(expression, zone) if not plan.schedule.matches(instant)]
    assert misses == [], f"{expression} in {zone} -> {plan.schedule}: misses {misses[:3]}"
    assert first_missed(plan.schedule, local, START, days=730) is None


@pytest.mark.parametrize("seed", range(8))
def test_first_missed_finds_the_first_reference_occurrence_a_plain_host_schedule_misses(seed):
    rng = random.Random(100 + seed)
    expression, zone = random_schedule(rng), rng.choice([z for z in ZONES if z != "UTC"])
    local = parse_local(expression, zone)
    host = parse(expression)  # the local fields read as UTC: the classic mistake

    expected = next((i for i in reference(expression, zone, START, START + timedelta(days=366))
                     if not host.matches(i)), None)
    missed = first_missed(host, local, START)
    assert (missed and missed.astimezone(UTC)) == expected


def test_zone_data_comes_with_the_requirements():
    from importlib.resources import files

    assert files("tzdata").joinpath("zoneinfo", "Europe", "Berlin").is_file(), "tzdata is a runtime requirement"
    assert load_zone("Europe/Berlin").key == "Europe/Berlin"
