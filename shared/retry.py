"""Retries of transient failures: each work item its own allowance, throttles paced, all bounded by the deadline.

A work item is one piece of a tick that can fail alone: listing a workspace, one instance's power action, one
pipelines.json job, signing in. Each gets an `Allowance` of AML_RETRY_BUDGET_SECONDS for its waits and failed
attempts, and each of its calls MAX_ATTEMPTS attempts, so an instance that fails forever never spends the retries of
another.

Failures are told apart by type and status (shared.transport), never by their text:
- a fault (408, 500, 502, 503, 504, no answer): retried after the service's `Retry-After`, else exponential backoff
  with full jitter, while the item's attempts and seconds last;
- a throttle (429): the service asks for time, it is not a fault; the wait is charged to no allowance and bounded
  only by the invocation's deadline (ARM's calls are paced per subscription instead, shared.pacing);
- a host name that does not resolve: not transient within one tick; one more try, then `UnresolvedHostError`;
- anything else (every other 4xx is the service's answer): raised at once.
The SDK v1's exceptions are read the same way: the HTTP status on their chain, or a connection error's type.
No wait may pass the deadline; past it the item gives up (`reason=deadline`), and what the log says is what happened.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import TypeVar

import requests

from shared import clock
from shared.errors import AppError
from shared.hostconfig import Deadline
from shared.logfmt import kv, shorten
from shared.pacing import Throttled
from shared.transport import (
    RETRYABLE_STATUS,
    THROTTLE_STATUS,
    HttpError,
    NoAnswer,
    OutOfTime,
    Request,
    UnresolvedHostError,
    chain,
    retry_after,
    unresolved,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_ATTEMPTS = 6  # per work item: the first and five retries
MAX_THROTTLE_WAITS = 20  # per call, without a deadline (functionTimeout -1) to bound them
BASE_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 30.0
DNS_RETRY_SECONDS = 2.0
# What a call to Azure raises once its retries are over: one of the app's own errors (the service's answer, a fault
# that outlasted its allowance, an unresolvable host), or what the SDK v1 raised.
CALL_FAILURES = (AppError, requests.RequestException)
FAULT, THROTTLE, UNRESOLVED = "fault", "throttle", "unresolved"
# azure-core's own "no answer" exceptions (the SDK v1's ARM calls go through azure-core), known by their type.
_NO_ANSWER_TYPES = frozenset({"ServiceRequestError", "ServiceResponseError"})


class Allowance:
    """What one work item may still spend on faults: seconds, and attempts per call; the deadline no wait may pass."""

    def __init__(self, seconds: float, deadline: Deadline | None = None, attempts: int = MAX_ATTEMPTS):
        self.seconds = seconds
        self.remaining = seconds
        self.attempts = attempts
        self.deadline = deadline or Deadline(None)

    def fits(self, delay: float) -> bool:
        return self.deadline.allows(clock.monotonic() + delay)


class RetryPolicy:
    """A tick's rules for its work items: AML_RETRY_BUDGET_SECONDS each, and the invocation's deadline."""

    def __init__(self, seconds: float, deadline: Deadline | None = None):
        self.seconds = seconds
        self.deadline = deadline or Deadline(None)

    def allowance(self) -> Allowance:
        return Allowance(self.seconds, self.deadline)


def classify(error: BaseException) -> tuple[str | None, float | None]:
    """(FAULT, THROTTLE, UNRESOLVED or None for a final error, the service's Retry-After) by type and status."""
    if unresolved(error):
        return UNRESOLVED, None
    for item in chain(error):
        if isinstance(item, HttpError):
            if not item.retryable:
                return None, None
            return (THROTTLE if item.status == THROTTLE_STATUS else FAULT), item.retry_after
        # requests' RetryError: the SDK's own HTTP client ran out of its retries of transient statuses.
        if isinstance(item, (NoAnswer, requests.ConnectionError, requests.Timeout, requests.exceptions.RetryError)) or \
                _NO_ANSWER_TYPES & {cls.__name__ for cls in type(item).__mro__}:
            return FAULT, None
        response = getattr(item, "response", None)  # the SDK v1's msrest and azure-core errors keep the answer
        status = getattr(response, "status_code", None)
        if isinstance(status, int):
            if status not in RETRYABLE_STATUS:
                return None, None
            return (THROTTLE if status == THROTTLE_STATUS else FAULT), retry_after(getattr(response, "headers", None))
    return None, None


def not_an_answer(error: BaseException) -> bool:
    """True when `error` is not the service's answer (a fault, a throttle, no network): never report it as one."""
    return classify(error)[0] is not None or isinstance(error, OutOfTime)


def backoff(attempt: int) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**(attempt - 1))]."""
    return random.uniform(0, min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2 ** (attempt - 1)))


def with_retries(allowance: Allowance, what: str, call: Callable[[], T]) -> T:
    """Run `call`, retrying faults within the item's allowance and throttles within the deadline; other errors
    propagate at once."""
    faults = throttles = unresolved_tries = 0
    while True:
        started = clock.monotonic()
        try:
            return call()
        except (Throttled, OutOfTime):
            raise  # pacing (the pool runs other work meanwhile), or the deadline: not this loop's to wait out
        except Exception as error:  # classified below: anything not transient is re-raised unchanged
            kind, retry_after = classify(error)
            if kind is None:
                raise
            if kind == THROTTLE:
                throttles += 1
                delay = retry_after if retry_after is not None else backoff(throttles)
                reason = "deadline" if not allowance.fits(delay) else \
                    "throttled" if allowance.deadline.at is None and throttles > MAX_THROTTLE_WAITS else None
            else:
                faults += 1
                allowance.remaining -= clock.monotonic() - started
                if kind == UNRESOLVED:
                    unresolved_tries += 1
                    delay = DNS_RETRY_SECONDS
                else:
                    delay = retry_after if retry_after is not None else backoff(faults)
                reason = ("unresolved_host" if unresolved_tries > 1 else
                          "attempts_spent" if faults >= allowance.attempts else
                          "budget_spent" if delay > allowance.remaining else
                          "deadline" if not allowance.fits(delay) else None)
            attempt = faults + throttles
            if reason is not None:
                fields = {"host": _host(error)} if kind == UNRESOLVED else {}
                log.warning(kv("retry", call=what, attempt=attempt, action="gave_up", reason=reason, **fields,
                               budget_s=allowance.seconds, error=shorten(error, 200)))
                if kind == UNRESOLVED and not isinstance(error, UnresolvedHostError):
                    raise UnresolvedHostError(_request_of(error, what), error) from None
                raise
            log.warning(kv("retry", call=what, attempt=attempt, action="wait",
                           reason="throttled" if kind == THROTTLE else "transient", delay_s=round(delay, 2),
                           error=shorten(error, 200)))
            clock.sleep(delay)
            if kind != THROTTLE:
                allowance.remaining -= delay


def _request_of(error: BaseException, what: str) -> Request:
    """The call an SDK's connection error was for (its request's URL), for UnresolvedHostError's message."""
    for item in chain(error):
        request = getattr(item, "request", None)
        if isinstance(request, Request):
            return request
        url = getattr(request, "url", None)
        if isinstance(url, str):
            return Request(what, getattr(request, "method", "") or "", url)
    return Request(what, "", "https://unknown")


def _host(error: BaseException) -> str:
    request = getattr(error, "request", None)
    return getattr(request, "host", "") or _request_of(error, "").host


def bound_sdk_backoff(budget_seconds: float) -> None:
    """Scale the SDK REST client's own retry waits so its worst case fits in one allowance.

    Its discovery and history calls retry 3 times with waits of base x 1, 2, 4 (7 x base in all), where the base is
    a fixed 32 s on a 429 and on 502/504/dropped connections, and 2-10 s on a 503. Those waits happen inside one SDK
    call, out of this module's reach; the base is the SDK's module setting (its AZUREML_DEFAULT_BACKOFF knob).
    """
    from azureml._restclient import clientbase

    base = max(1, int(budget_seconds // 8))
    for name in ("DEFAULT_BACKOFF", "DEFAULT_500_BACKOFF", "DEFAULT_503_BACKOFF"):
        setattr(clientbase, name, min(getattr(clientbase, name), base))
