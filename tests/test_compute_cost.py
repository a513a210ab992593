"""What a tick stopped (or started) is worth: the hourly price of each instance's VM size from the public Azure
Retail Prices API, on the fake wire (which holds, for every size, the decoy rows a real region has)."""

from __future__ import annotations

import pytest

from fakeazure import SUBSCRIPTION
from shared import prices
from shared.settings import ConfigError, load_compute_settings
from tests.conftest import BASE_SETTINGS, entry_point
from tests.logs import fields, instances, only

stop_compute_timer = entry_point("StopComputeTimer")
start_compute_timer = entry_point("StartComputeTimer")
PRICES = "prices.azure.com"
NC6S_V3, DS3_V2 = 3.366, 0.293  # the fake's Linux pay-as-you-go prices in westeurope


def total(logs) -> dict[str, str]:
    return only(logs, "compute_total")


def test_the_stopped_cost_sums_the_linux_pay_as_you_go_price_of_each_size(fake, settings, timer, logs):
    fake.add_instance("ci-gpu", "Running").vm_size = "STANDARD_NC6S_V3"
    fake.add_instance("ci-cpu", "Running").vm_size = "STANDARD_DS3_V2"  # ARM's upper case; the list's Standard_DS3_v2
    fake.add_instance("ci-off", "Stopped").vm_size = "STANDARD_DS3_V2"
    settings()

    stop_compute_timer(timer)

    lines = instances(logs)
    assert (lines["ws-demo/ci-gpu"]["vm_size"], lines["ws-demo/ci-gpu"]["hourly_cost"]) == ("STANDARD_NC6S_V3", "3.366")
    assert lines["ws-demo/ci-cpu"]["hourly_cost"] == "0.293", "not the Windows, Spot, Low Priority or DevTest row"
    assert lines["ws-demo/ci-off"]["hourly_cost"] == "0.293", "every line says what its instance costs"
    assert (total(logs)["stopped_hourly_cost"], total(logs)["currency"]) == (f"{NC6S_V3 + DS3_V2:.2f}", "USD")
    assert "cost" not in total(logs), "every price was known"
    assert only(logs, "compute_summary")["stopped_hourly_cost"] == "3.66"


def test_one_query_per_region_for_the_sizes_the_tick_needs(fake, settings, timer, logs):
    fake.add_instance("ci-a", "Running")
    fake.add_instance("ci-b", "Running").vm_size = "STANDARD_DS3_V2"
    east = fake.add_workspace(SUBSCRIPTION, "rg-us", "ws-us", location="eastus")
    east.add_instance("ci-c", "Running").vm_size = "STANDARD_D4S_V3"
    east.add_instance("ci-d", "Running")
    settings(AML_SUBSCRIPTION_ID=None, AML_RESOURCE_GROUP=None, AML_WORKSPACE_NAME=None,
             AML_COMPUTE_SCOPES=f"/subscriptions/{SUBSCRIPTION}")

    stop_compute_timer(timer)

    queries = fake.requests_to(PRICES, "GET")
    assert len(queries) == 2, "one per region"
    assert {"armRegionName%20eq%20'westeurope'" in call.url for call in queries} == {True, False}
    [west_query] = [call.url for call in queries if "westeurope" in call.url]
    assert "STANDARD_NC6S_V3" in west_query and "STANDARD_DS3_V2" in west_query and "D4S" not in west_query
    summaries = {line["workspace"]: line for line in fields(logs, "compute_summary")}
    assert summaries["ws-us"]["stopped_hourly_cost"] == f"{(0.23 + NC6S_V3) * 0.9:.2f}", "eastus prices"
    assert summaries["ws-demo"]["stopped_hourly_cost"] == f"{NC6S_V3 + DS3_V2:.2f}"


def test_a_warm_process_asks_again_at_most_daily(fake, settings, timer, logs, retry_clock):
    fake.add_instance("ci-a", "Running")
    settings()

    stop_compute_timer(timer)
    fake.instances["ci-a"].state = "Running"
    stop_compute_timer(timer)
    assert len(fake.requests_to(PRICES)) == 1, "the second tick used the process's prices"

    retry_clock.now += prices.CACHE_SECONDS
    fake.instances["ci-a"].state = "Running"
    stop_compute_timer(timer)
    assert len(fake.requests_to(PRICES)) == 2, "a day later it asks again"
    assert all(line["stopped_hourly_cost"] == "3.37" for line in fields(logs, "compute_total"))


def test_prices_in_another_currency(fake, settings, timer, logs):
    fake.add_instance("ci-a", "Running")
    settings(AML_COMPUTE_COST_CURRENCY="eur")

    stop_compute_timer(timer)

    [query] = fake.requests_to(PRICES)
    assert query.url.endswith("&currencyCode='EUR'")
    assert (total(logs)["stopped_hourly_cost"], total(logs)["currency"]) == (f"{NC6S_V3 * 0.92:.2f}", "EUR")


def test_a_dry_run_reports_what_stopping_would_save(fake, settings, timer, logs):
    fake.add_instance("ci-a", "Running")
    settings(STOP_COMPUTE_DRY_RUN="true")

    stop_compute_timer(timer)

    assert total(logs)["would_stop_hourly_cost"] == "3.37" and "stopped_hourly_cost" not in total(logs)
    assert fake.instances["ci-a"].state == "Running"


def test_start_reports_the_hourly_cost_it_turned_on(fake, settings, timer, logs):
    fake.add_instance("ci-a", "Stopped", {"autostart": "true"}).vm_size = "STANDARD_E4DS_V4"
    fake.add_instance("ci-b", "Stopped")
    settings()

    start_compute_timer(timer)

    assert (total(logs)["started_hourly_cost"], total(logs)["currency"]) == ("0.32", "USD")
    assert "hours_to_start" not in total(logs), "a start tick does not estimate a night"


def test_a_size_missing_from_the_list_makes_the_cost_partial(fake, settings, timer, logs):
    fake.add_instance("ci-a", "Running")
    fake.add_instance("ci-new", "Running").vm_size = "STANDARD_NEWSIZE_V9"
    settings()

    stop_compute_timer(timer)

    assert (total(logs)["stopped_hourly_cost"], total(logs)["cost"], total(logs)["unpriced"]) == ("3.37", "partial",
                                                                                                   "1")
    assert "hourly_cost" not in instances(logs)["ws-demo/ci-new"] and instances(logs)["ws-demo/ci-new"]["vm_size"]


@pytest.mark.parametrize("down", ["503", "dns"])
def test_the_price_list_down_never_holds_up_or_fails_the_tick(fake, settings, timer, logs, retry_clock, down):
    for i in range(5):
        fake.add_instance(f"ci-{i}", "Running")
    if down == "dns":
        fake.unresolvable.add(PRICES)
    else:
        fake.fail("GET", PRICES, status=503, times=2)
    settings(AML_RETRY_BUDGET_SECONDS="0")  # the price list's one retry draws on no budget

    stop_compute_timer(timer)

    assert all(instance.state == "Stopping" for instance in fake.instances.values())
    assert (total(logs)["cost"], total(logs)["reason"], total(logs)["currency"]) == ("unknown", "prices_unavailable",
                                                                                     "USD")
    assert "stopped_hourly_cost" not in total(logs) and total(logs)["failed"] == "0"
    [failed] = fields(logs, "compute_prices")
    assert (failed["action"], failed["reason"]) == ("failed", "prices_unavailable")
    assert retry_clock.slept == [prices.RETRY_SECONDS], "one retry, a few seconds later, then it goes on"
    if down == "503":
        assert len(fake.requests_to(PRICES)) == 2


def test_cost_off_makes_no_call_to_the_price_list(fake, settings, timer, logs):
    fake.add_instance("ci-a", "Running")
    settings(AML_COMPUTE_COST="false")

    stop_compute_timer(timer)

    assert not fake.requests_to(PRICES)
    assert not {"stopped_hourly_cost", "currency", "cost", "hours_to_start"} & set(total(logs))
    assert instances(logs)["ws-demo/ci-a"]["vm_size"] == "STANDARD_NC6S_V3"


def test_the_stop_total_says_how_long_until_the_next_start(fake, settings, timer, logs):
    fake.add_instance("ci-a", "Running")
    settings(START_COMPUTE_SCHEDULE="0 30 7 * * 1-5")  # the tick is Saturday 2026-11-21 03:00 UTC

    stop_compute_timer(timer)

    assert total(logs)["hours_to_start"] == "52.5", "until Monday 07:30"


def test_an_unknown_currency_is_a_configuration_error():
    with pytest.raises(ConfigError, match="AML_COMPUTE_COST_CURRENCY is not valid: expected a currency"):
        load_compute_settings({**BASE_SETTINGS, "AML_COMPUTE_COST_CURRENCY": "xyz"})
    with pytest.raises(ConfigError, match="AML_COMPUTE_COST is not a boolean"):
        load_compute_settings({**BASE_SETTINGS, "AML_COMPUTE_COST": "maybe"})


def test_the_price_query_follows_next_page_link(fake, settings, timer, logs):
    for n in range(25):  # 25 sizes x 5 pay-as-you-go rows each: two pages
        fake.add_vm_price("westeurope", f"Standard_Test{n}_v1", 0.1 * (n + 1))
        fake.add_instance(f"ci-{n:02d}", "Running").vm_size = f"STANDARD_TEST{n}_V1"
    settings()

    stop_compute_timer(timer)

    assert len(fake.requests_to(PRICES)) == 2 and "$skip=100" in fake.requests_to(PRICES)[1].url
    assert "cost" not in total(logs)
    assert total(logs)["stopped_hourly_cost"] == f"{sum(0.1 * (n + 1) for n in range(25)):.2f}"
