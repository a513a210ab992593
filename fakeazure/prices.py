"""The Azure Retail Prices API as the fake answers it (Microsoft Learn, "Azure Retail Prices REST API overview").

`GET https://prices.azure.com/api/retail/prices` needs no token. Its `$filter` is the OData subset the API documents
(`field eq 'value'`, `and`, `or`, parentheses; anything else answers 400), compared without regard to case before
api-version 2023-01-01-preview and case-sensitively from it on; `currencyCode='EUR'` converts (one of the supported
currencies, else 400); 100 items a page, `NextPageLink` to the next (the same query with `$skip`) until it is null.
Every size has the rows a real region has beside the one a running Linux VM pays: Windows, Spot and Low Priority,
DevTest and a one-year reservation, and a non-primary meter. The prices are illustrative, not today's.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, urlparse

from fakeazure.wire import Route, json_answer

PAGE_SIZE = 100
CASE_SENSITIVE_FROM = "2023-01-01-preview"
# Rough conversions from USD, for the currencies the API documents.
RATES = {"USD": 1.0, "AUD": 1.52, "BRL": 5.0, "CAD": 1.36, "CHF": 0.88, "CNY": 7.2, "DKK": 6.9, "EUR": 0.92,
         "GBP": 0.79, "INR": 83.0, "JPY": 150.0, "KRW": 1330.0, "NOK": 10.6, "NZD": 1.65, "RUB": 92.0, "SEK": 10.5,
         "TWD": 31.5}
# armSkuName, series, meter, Linux pay-as-you-go USD per hour in westeurope (eastus 10% less).
SIZES = (
    ("Standard_NC6s_v3", "NCSv3", "NC6s v3", 3.366),
    ("Standard_DS3_v2", "DSv2", "DS3 v2", 0.293),
    ("Standard_D4s_v3", "DSv3", "D4s v3", 0.23),
    ("Standard_E4ds_v4", "Edsv4", "E4ds v4", 0.317),
    ("Standard_NC24ads_A100_v4", "NCadsA100v4", "NC24ads A100 v4", 4.041),
)
_TOKEN = re.compile(r"\s*(\(|\)|'(?:[^']|'')*'|[A-Za-z_][A-Za-z0-9_]*)")
FIELDS = ("serviceName", "serviceFamily", "armRegionName", "location", "armSkuName", "skuName", "productName",
          "meterName", "priceType", "currencyCode", "unitOfMeasure")
# A filter names a row's `type` priceType, as the API's documentation lists its filters.
ROW_FIELD = {"priceType": "type"}


class FilterError(ValueError):
    pass


def rows_for(region: str, arm_sku: str, series: str, meter: str, usd: float) -> list[dict]:
    """The price list's rows for one size in one region."""
    def row(product: str, sku: str, price: float, kind: str = "Consumption", primary: bool = True,
            unit: str = "1 Hour", **extra) -> dict:
        return {"currencyCode": "USD", "tierMinimumUnits": 0.0, "retailPrice": round(price, 6),
                "unitPrice": round(price, 6), "armRegionName": region, "location": region,
                "effectiveStartDate": "2026-01-01T00:00:00Z", "meterId": f"{region}-{sku}-{kind}-{primary}",
                "meterName": sku, "productId": f"DZH318Z0{series}", "skuId": f"DZH318Z0{series}/{sku}",
                "productName": product, "skuName": sku, "serviceName": "Virtual Machines", "serviceId": "DZH313Z7MMC8",
                "serviceFamily": "Compute", "unitOfMeasure": unit, "type": kind, "isPrimaryMeterRegion": primary,
                "armSkuName": arm_sku, **extra}

    linux = f"Virtual Machines {series} Series"
    return [
        row(linux, meter, usd),
        row(f"{linux} Windows", meter, usd * 1.6),
        row(linux, f"{meter} Spot", usd * 0.2),
        row(linux, f"{meter} Low Priority", usd * 0.2),
        row(linux, meter, usd * 0.8, kind="DevTestConsumption"),
        row(linux, meter, usd * 8760 * 0.6, kind="Reservation", unit="1 Hour", reservationTerm="1 Year"),
        row(linux, meter, usd * 1.05, primary=False),
    ]


def default_rows() -> list[dict]:
    return [item for region, factor in (("westeurope", 1.0), ("eastus", 0.9))
            for arm_sku, series, meter, usd in SIZES for item in rows_for(region, arm_sku, series, meter, usd * factor)]


def parse_filter(text: str, case_sensitive: bool):
    """A predicate over rows for the API's OData subset; FilterError for anything outside it."""
    tokens = [match.group(1) for match in _TOKEN.finditer(text)]
    if "".join(tokens).replace(" ", "") != re.sub(r"\s+", "", text):
        raise FilterError(f"cannot read filter {text!r}")
    position = 0

    def take() -> str:
        nonlocal position
        if position >= len(tokens):
            raise FilterError(f"filter {text!r} ends too soon")
        position += 1
        return tokens[position - 1]

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def expression():
        parts = [term()]
        while peek() == "or":
            take()
            parts.append(term())
        return lambda row: any(part(row) for part in parts)

    def term():
        parts = [factor()]
        while peek() == "and":
            take()
            parts.append(factor())
        return lambda row: all(part(row) for part in parts)

    def factor():
        token = take()
        if token == "(":
            inner = expression()
            if take() != ")":
                raise FilterError(f"a '(' is not closed in {text!r}")
            return inner
        if token not in FIELDS or take() != "eq":
            raise FilterError(f"expected field eq 'value' at {token!r} in {text!r}")
        literal = take()
        if not literal.startswith("'"):
            raise FilterError(f"expected a quoted value after {token} eq in {text!r}")
        value = literal[1:-1].replace("''", "'")
        field = ROW_FIELD.get(token, token)
        if case_sensitive:
            return lambda row: str(row.get(field)) == value
        return lambda row: str(row.get(field)).lower() == value.lower()

    predicate = expression()
    if position != len(tokens):
        raise FilterError(f"unexpected {' '.join(tokens[position:])!r} in {text!r}")
    return predicate


class RetailPrices:
    """The public price list, seeded with `default_rows()` (add more with `FakeAzure.add_vm_price`)."""

    def __init__(self, fake):
        self.fake = fake

    def routes(self) -> list[Route]:
        # NextPageLink names the port (https://prices.azure.com:443/...), as the API writes it.
        return [Route("GET", r"https://prices\.azure\.com(:443)?/api/retail/prices(\?|$)", self._prices, None)]

    def _prices(self, request, match):
        params = {key: values[0] for key, values in parse_qs(urlparse(request.url).query).items()}
        currency = params.get("currencyCode", "'USD'").strip("'")
        if currency not in RATES:
            return json_answer(400, {"Error": {"Code": "InvalidCurrencyCode",
                                               "Message": f"Invalid currency code {currency}"}})
        case_sensitive = params.get("api-version", "") >= CASE_SENSITIVE_FROM
        try:
            predicate = parse_filter(params.get("$filter", ""), case_sensitive) if params.get("$filter") else None
        except FilterError as error:
            return json_answer(400, {"Error": {"Code": "InvalidFilter", "Message": str(error)}})
        found = [row for row in self.fake.price_rows if predicate is None or predicate(row)]
        skip = int(params.get("$skip", "0"))
        page = [{**row, "currencyCode": currency, "retailPrice": round(row["retailPrice"] * RATES[currency], 6),
                 "unitPrice": round(row["unitPrice"] * RATES[currency], 6)} for row in found[skip:skip + PAGE_SIZE]]
        following = None
        if skip + PAGE_SIZE < len(found):
            kept = "&".join(f"{key}={quote(value, safe=chr(39) + '=()')}" for key, value in params.items()
                            if key != "$skip")
            following = f"https://prices.azure.com:443/api/retail/prices?{kept}&$skip={skip + PAGE_SIZE}"
        return json_answer(200, {"BillingCurrency": currency, "CustomerEntityId": "Default",
                                 "CustomerEntityType": "Retail", "Items": page, "NextPageLink": following,
                                 "Count": len(page)})
