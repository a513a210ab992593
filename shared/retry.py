"""Retries of transient Azure failures within one tick's time budget (AML_RETRY_BUDGET_SECONDS).

Transient: HTTP 429, 500, 502, 503, 504, dropped connections and timeouts. The wait is the service's
`Retry-After` when it sends one, else exponential backoff with full jitter. A host name that does not resolve is
not transient within one tick (no network, a proxy, or a private DNS zone missing): after one more try the tick
fails with `UnresolvedHostError`, naming the host. The budget is charged with every wait
and with the duration of every failed attempt, which includes any retrying the SDK did inside that call, so the
sum of the SDK's retries and ours stays bounded by the budget plus one call. When the next wait would not fit,
the tick ends with the last error.
"""

from __future__ import annotations

import logging
import random
import re
import socket
import threading
from collections.abc import Callable
from typing import TypeVar

import requests

from shared import clock
from shared.errors import AppError
from shared.hostconfig import Deadline
from shared.logfmt import kv, shorten
from shared.pacing import Throttled

log = logging.getLogger(__name__)

T = TypeVar("T")
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
BASE_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 30.0
DNS_RETRY_SECONDS = 2.0
# How the SDK and msal word a transient status when they wrap it into their own exception types.
_TRANSIENT_TEXT = re.compile(
    r"\b(429|500|502|503|504)\b|Too Many Requests|Service Unavailable|Bad Gateway|Gateway Time-?out|"
    r"temporarily[ _]unavailable|Connection aborted|RemoteDisconnected|Read timed out|ConnectTimeout",
    re.IGNORECASE,
)


_UNRESOLVED = re.compile(r"Failed to resolve '([^']+)'|host='([^']+)'")
# What a call to Azure raises once its retries are over: one of the app's own errors (a transient failure that
# outlasted the budget, an unresolvable host, the service's refusal), or the last transport error.
CALL_FAILURES = (AppError, requests.RequestException)


class TransientHttpError(AppError):
    """A response with a transient status, raised so the retry loop sees it like any other failure."""

    def __init__(self, what: str, response: requests.Response):
        self.retry_after = _retry_after(response)
        self.status = response.status_code
        super().__init__(f"{what}: status={response.status_code}: {shorten(response.text)}")


class UnresolvedHostError(AppError, ConnectionError):
    """A host name did not resolve twice in a row: the Function App cannot reach that service by name."""

    def __init__(self, host: str, cause: BaseException):
        root = next((item for item in _chain(cause) if isinstance(item, socket.gaierror)), None)
        reason = shorten(str(root) if root is not None else str(cause), 160)
        super().__init__(
            f"cannot resolve host {host} ({reason}): the Function App cannot reach it by name. Check the app's "
            "outbound network, a proxy (HTTPS_PROXY), and, for a workspace behind a private endpoint, the private "
            "DNS zones (privatelink.api.azureml.ms, privatelink.notebooks.azure.net) linked to the app's network"
        )
        self.host = host


class RetryBudget:
    """Seconds one tick may still spend on waits and failed attempts (summed over concurrent calls: conservative),
    and, when the tick has one, the deadline no wait may pass."""

    def __init__(self, seconds: float, deadline: Deadline | None = None):
        self.seconds = seconds
        self.remaining = seconds
        self.deadline = deadline
        self._lock = threading.Lock()

    def charge(self, seconds: float) -> None:
        with self._lock:
            self.remaining -= seconds

    def can_wait(self, seconds: float) -> bool:
        return seconds <= self.remaining and (self.deadline is None or
                                              self.deadline.allows(clock.monotonic() + seconds))


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP-date: fall back to our own backoff


def _chain(error: BaseException):
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue  # the SDK's `inner_exception` is sometimes a response model, not an exception
        seen.add(id(current))
        yield current
        pending += [current.__cause__, current.__context__, getattr(current, "inner_exception", None)]


def unresolved_host(error: BaseException) -> str | None:
    """The host whose name did not resolve, if that is what `error` is (socket.gaierror anywhere in its chain)."""
    items = list(_chain(error))
    if not any(isinstance(item, socket.gaierror) or type(item).__name__ == "NameResolutionError" for item in items):
        return None
    for item in items:
        found = _UNRESOLVED.search(str(item))
        if found:
            return found.group(1) or found.group(2)
    return "unknown"


def not_an_answer(error: BaseException) -> bool:
    """True when `error` is not the service's answer (transient, or unreachable): never report it as one."""
    return isinstance(error, UnresolvedHostError) or unresolved_host(error) is not None or classify(error)[0]


def classify(error: BaseException) -> tuple[bool, float | None]:
    """(transient?, Retry-After seconds) for an exception, looking through the SDK's wrappers."""
    for item in _chain(error):
        if isinstance(item, TransientHttpError):
            return True, item.retry_after
        if isinstance(item, (requests.ConnectionError, requests.Timeout)):
            return True, None
        response = getattr(item, "response", None)
        status = getattr(response, "status_code", None)
        if isinstance(status, int):
            return status in TRANSIENT_STATUS, _retry_after(response) if status in TRANSIENT_STATUS else None
    # msal and the SDK re-raise with new text; the status survives only in an earlier exception's text
    # (msal's OIDC discovery: "HTTP status: 429" in the ValueError its own ValueError replaced).
    return any(_TRANSIENT_TEXT.search(str(item)) for item in _chain(error)), None


def backoff(attempt: int) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**(attempt - 1))]."""
    return random.uniform(0, min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2 ** (attempt - 1)))


def with_retries(budget: RetryBudget, what: str, call: Callable[[], T]) -> T:
    """Run `call`, retrying transient failures while the budget lasts; other errors propagate at once."""
    attempt = 0
    unresolved = 0
    while True:
        started = clock.monotonic()
        try:
            return call()
        except Throttled:
            raise  # pacing, not a fault: the caller waits for the lane, the budget is not charged
        except Exception as error:  # classified below: anything not transient is re-raised unchanged
            budget.charge(clock.monotonic() - started)
            host = unresolved_host(error)
            if host is not None:
                unresolved += 1
                if unresolved > 1 or not budget.can_wait(DNS_RETRY_SECONDS):
                    log.warning(kv("retry", call=what, attempt=attempt + 1, action="gave_up",
                                   reason="unresolved_host", host=host))
                    raise UnresolvedHostError(host, error) from None
            transient, retry_after = classify(error)
            if host is None and not transient:
                raise
            attempt += 1
            delay = DNS_RETRY_SECONDS if host is not None else retry_after if retry_after is not None \
                else backoff(attempt)
            if not budget.can_wait(delay):
                log.warning(kv("retry", call=what, attempt=attempt, action="gave_up", reason="budget_spent",
                               budget_s=budget.seconds, error=shorten(error, 200)))
                raise
            log.warning(kv("retry", call=what, attempt=attempt, action="wait", delay_s=round(delay, 2),
                           error=shorten(error, 200)))
            clock.sleep(delay)
            budget.charge(delay)


def bound_sdk_backoff(budget_seconds: float) -> None:
    """Scale the SDK REST client's own retry waits so its worst case fits in one budget.

    Its discovery and history calls retry 3 times with waits of base x 1, 2, 4 (7 x base in all), where the base is
    a fixed 32 s on a 429 and on 502/504/dropped connections, and 2-10 s on a 503. Those waits happen inside one SDK
    call, out of this module's reach; the base is the SDK's module setting (its AZUREML_DEFAULT_BACKOFF knob).
    """
    from azureml._restclient import clientbase

    base = max(1, int(budget_seconds // 8))
    for name in ("DEFAULT_BACKOFF", "DEFAULT_500_BACKOFF", "DEFAULT_503_BACKOFF"):
        setattr(clientbase, name, min(getattr(clientbase, name), base))


def request_once(what: str, method: str, url: str, headers: dict[str, str], json: dict | None = None,
                 timeout: float = 60, data: dict | None = None) -> requests.Response:
    """One REST attempt: a transient status raises TransientHttpError, any other response is returned."""
    response = requests.request(method, url, headers=headers, json=json, data=data, timeout=timeout)
    if response.status_code in TRANSIENT_STATUS:
        raise TransientHttpError(what, response)
    return response


def send(budget: RetryBudget, what: str, method: str, url: str, headers: dict[str, str],
         json: dict | None = None) -> requests.Response:
    """One REST call with retries; returns the first non-transient response for the caller to interpret."""
    return with_retries(budget, what, lambda: request_once(what, method, url, headers, json))
