"""What a compute instance costs per hour while it runs: its VM size's price in the Azure Retail Prices API.

The API is public and needs no sign-in (Microsoft Learn, "Azure Retail Prices REST API overview"): `GET
https://prices.azure.com/api/retail/prices?$filter=...` with an OData filter (`eq`, `and`, `or`, parentheses) over
`serviceName`, `armRegionName`, `armSkuName`, `priceType`; `currencyCode='EUR'` for prices in another currency than
USD; at most 100 items a page, the next one at `NextPageLink` until it is null. Without an api-version a filter's
values match whatever their case (from 2023-01-01-preview on they are case-sensitive): ARM writes an instance's
`vmSize` upper-cased (`STANDARD_DS3_V2`), the price list in its own case (`Standard_DS3_v2`), so the app asks without
one and matches sizes case-insensitively itself, which holds under either rule.

The same size has many rows at very different prices; an instance's is the one with `type` Consumption,
`unitOfMeasure` 1 Hour, `isPrimaryMeterRegion` true, a `productName` not ending in Windows and a `skuName` not ending
in Spot or Low Priority. A compute instance bills as its VM size per running hour (Azure ML adds no surcharge;
Microsoft Learn, "Plan to manage costs for Azure Machine Learning"); a stopped one still pays its disk, which is not
counted. Prices are kept in the process for a day, sizes the list does not have as well.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from urllib.parse import quote

from shared import clock, warm
from shared.hostconfig import Deadline
from shared.retry import classify
from shared.transport import BadAnswer, HttpError, NoAnswer, OutOfTime, send

PRICES_URL = "https://prices.azure.com/api/retail/prices"
# The currencies the Retail Prices API offers ("Supported currencies"); USD is Microsoft's own, the others convert.
CURRENCIES = ("USD", "AUD", "BRL", "CAD", "CHF", "CNY", "DKK", "EUR", "GBP", "INR", "JPY", "KRW", "NOK", "NZD", "RUB",
              "SEK", "TWD")
CACHE_SECONDS = 86400.0
RETRY_SECONDS = 2.0  # one retry, this long after a failure: the price list never holds up a tick for long
TIMEOUT = (5.0, 10.0)
MAX_PAGES = 20
_DECOYS = (" Spot", " Low Priority")


class PricesUnavailable(Exception):  # noqa: N818 - an outcome the tick reports, not an error it raises
    """The price list could not be read (after its one retry); the tick goes on without prices."""


@dataclass(frozen=True)
class Known:
    """A size's hourly price in one currency and region (None: the list has no such row), and when it was read."""

    price: float | None
    read_at: float


_book: dict[tuple[str, str, str], Known] = warm.cache()  # (currency, region, size lower case) -> Known
_lock = threading.Lock()


def known(currency: str, region: str, size: str) -> Known | None:
    """What this process knows of a size's price, if it is less than a day old."""
    with _lock:
        found = _book.get((currency, region.lower(), size.lower()))
    return found if found is not None and clock.monotonic() - found.read_at < CACHE_SECONDS else None


def query_url(region: str, sizes: list[str], currency: str) -> str:
    """The one query for a region's sizes: Linux pay-as-you-go rows of the virtual machines service."""
    choices = " or ".join(f"armSkuName eq '{size}'" for size in sizes)
    odata = (f"serviceName eq 'Virtual Machines' and priceType eq 'Consumption' and armRegionName eq '{region}' "
             f"and ({choices})")
    url = f"{PRICES_URL}?$filter={quote(odata, safe=chr(39) + '=()')}"
    return url if currency == "USD" else f"{url}&currencyCode='{currency}'"


def hourly(row: dict) -> bool:
    """Whether a price-list row is what a running compute instance of its size pays per hour."""
    return (row.get("type") == "Consumption" and row.get("unitOfMeasure") == "1 Hour"
            and row.get("isPrimaryMeterRegion") is True
            and not str(row.get("productName", "")).endswith("Windows")
            and not str(row.get("skuName", "")).endswith(_DECOYS))


def look_up(region: str, sizes: list[str], currency: str, deadline: Deadline | None = None) -> dict[str, float | None]:
    """Each size's hourly price in the region (None: not in the list), read now and kept for a day.

    Raises PricesUnavailable when the list cannot be read: a 5xx, 429, timeout or name that does not resolve gets
    one more try RETRY_SECONDS later, charged to no budget; an answer that is not a price page gets none."""
    rows = _read(query_url(region, sizes, currency), deadline)
    prices: dict[str, float | None] = {size.lower(): None for size in sizes}
    for row in rows:
        size = str(row.get("armSkuName", "")).lower()
        if size in prices and hourly(row):
            prices[size] = float(row.get("retailPrice", row.get("unitPrice", 0.0)))
    now = clock.monotonic()
    with _lock:
        _book.update({(currency, region.lower(), size): Known(price, now) for size, price in prices.items()})
    return prices


def _read(url: str, deadline: Deadline | None) -> list[dict]:
    rows: list[dict] = []
    seen: set[str] = set()
    while len(seen) < MAX_PAGES:
        seen.add(url)
        answer = _get(url, deadline)
        try:
            page = answer.object()
            items = page.get("Items") or []
            if not isinstance(items, list):
                raise answer.bad("Items is not a list")
        except BadAnswer as error:
            raise PricesUnavailable(str(error)) from None
        rows += [row for row in items if isinstance(row, dict)]
        url = page.get("NextPageLink")
        if not url:
            return rows
        if not isinstance(url, str) or url in seen:
            raise PricesUnavailable(f"{answer.request}: NextPageLink repeats a page already read: the list does not "
                                    "end")
    return rows


def _get(url: str, deadline: Deadline | None):
    for attempt in (1, 2):
        try:
            return send("prices", "GET", url, deadline=deadline, timeout=TIMEOUT)
        except OutOfTime as error:
            raise PricesUnavailable(str(error)) from None
        except (HttpError, NoAnswer) as failure:
            error = str(failure)
            if classify(failure)[0] is None:
                break  # an answer, not a failure to retry
        if attempt == 1:
            clock.sleep(RETRY_SECONDS)
    raise PricesUnavailable(error)
