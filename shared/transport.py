"""Every REST call the app makes is sent here: ARM, run history, the pipelines service's submit, batch scoring, the
public price list and the token endpoints. One way to send, one way to read an answer and one way to read a failure.

- One `requests.Session` per process, its connection pool sized to the tick's threads: a kept-alive connection
  saves a TLS handshake and the CA bundle's reload on every request (docs/reliability.md has the figures).
- Each attempt's (connect, read) timeouts fit the time left before the invocation's deadline; with no time left the
  request is not sent (`OutOfTime`), and a request the deadline cut short is `OutOfTime` too, not a fault.
- A status of 400 or more is an `HttpError` carrying the call (method, host, path; never the query, which may hold a
  token), the status, the service's error code and message (read here from whichever error format the service
  writes: ARM's and run history's `{"error": {"code", "message"}}`, Entra's `{"error", "error_description"}`,
  ASP.NET's `ValidationProblemDetails`, or plain text), the content type and `Retry-After`. No caller parses an error
  body or a `Retry-After`; failures are told apart by type and status, never by their text.
- An answer is decoded here too: `Answer.json()` / `Answer.object()` fail with `BadAnswer` naming the call, the status
  and the content type (a proxy's HTML page, an empty body), and `Answer.bad(...)` does the same for a JSON answer
  whose shape the caller cannot use (a `value` that is null, an entry without a name).
- No answer at all (a dropped connection, a timeout) is `NoAnswer`; a host name that does not resolve is its kind
  `UnresolvedHostError`.

Imports no settings: the callers hand it what it needs (headers, the deadline).
"""

from __future__ import annotations

import json as jsonlib
import socket
import threading
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from shared import clock
from shared.errors import AppError
from shared.hostconfig import Deadline
from shared.logfmt import shorten
from shared.redact import scrub
from shared.strictjson import json_type

DEFAULT_TIMEOUT = (10.0, 30.0)  # (connect, read) seconds of one attempt; an Azure answer takes well under a second
# Statuses a retry may cure: a request timeout, a throttle, the service's own trouble (azure-core's RetryPolicy
# retries the same ones). Every other 4xx is the service's answer to this request and final.
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
THROTTLE_STATUS = 429
DEFAULT_POOL = 16

_session_lock = threading.Lock()
_session: requests.Session | None = None
_pool = 0


@dataclass(frozen=True)
class Request:
    """One call, as messages and log lines name it: what it is for, the method, the host and the path (no query)."""

    what: str
    method: str
    url: str

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    def __str__(self) -> str:
        return scrub(f"{self.what} ({self.method} {self.host}{self.path})")  # a token URL's path names the tenant


class HttpError(AppError):
    """The service answered with a status of 400 or more: what it said, read once, here."""

    def __init__(self, request: Request, status: int, code: str, message: str, content_type: str,
                 headers: dict[str, str], structured: bool = False):
        self.request = request
        self.status = status
        self.structured = structured  # the body was the service's own error document, with a code
        self.code = code
        self.message = message
        self.content_type = content_type
        self.headers = headers
        self.retry_after = retry_after(headers)
        super().__init__(f"{request}: status={status} {code}: {message}".rstrip(": "))

    @property
    def retryable(self) -> bool:
        return self.status in RETRYABLE_STATUS

    @property
    def said(self) -> str:
        """`Code: message`, the service's own words in one short line."""
        return shorten(f"{self.code}: {self.message}".rstrip(": "), 240)


class BadAnswer(AppError):
    """An answer the app cannot read (not JSON, or not of the shape the service documents): nothing was done with it."""

    def __init__(self, request: Request, status: int, content_type: str, problem: str):
        self.request = request
        self.status = status
        self.content_type = content_type
        super().__init__(f"{request}: status={status} content_type={content_type or 'none'}: {problem}")


class NoAnswer(AppError):
    """The request got no answer: the connection dropped or an attempt timed out. The service may have acted."""

    def __init__(self, request: Request, cause: BaseException, text: str | None = None):
        self.request = request
        self.cause = cause
        super().__init__(text or f"{request}: no answer ({type(cause).__name__}: {shorten(cause, 200)})")


class UnresolvedHostError(NoAnswer):
    """The host name did not resolve: the Function App cannot reach that service by name."""

    def __init__(self, request: Request, cause: BaseException):
        self.host = request.host
        root = next((item for item in chain(cause) if isinstance(item, socket.gaierror)), cause)
        super().__init__(request, cause, (
            f"cannot resolve host {self.host} ({shorten(root, 160)}): the Function App cannot reach it by name. Check "
            "the app's outbound network, a proxy (HTTPS_PROXY), and, for a workspace behind a private endpoint, the "
            "private DNS zones (privatelink.api.azureml.ms, privatelink.notebooks.azure.net) linked to the app's "
            "network"))


class OutOfTime(AppError):
    """The invocation's deadline leaves no time for this request (or cut it short): the next tick does it."""

    def __init__(self, request: Request, deadline: Deadline):
        self.request = request
        super().__init__(f"{request}: not done: the tick reached its deadline ({deadline.describe()})")


class Answer:
    """A successful answer (status below 400), decoded on demand."""

    def __init__(self, request: Request, response: requests.Response):
        self.request = request
        self.status = response.status_code
        self.headers = response.headers
        self.content = response.content
        self.content_type = response.headers.get("Content-Type", "")
        self._decoded: list[object] = []  # the body, once decoded

    def bad(self, problem: str) -> BadAnswer:
        """The error for an answer whose content the caller cannot use; `problem` says what is wrong with it."""
        return BadAnswer(self.request, self.status, self.content_type, problem)

    def json(self) -> object:
        if self._decoded:
            return self._decoded[0]
        if not self.content.strip():
            raise self.bad("the body is empty, where JSON was expected")
        try:
            self._decoded.append(jsonlib.loads(self.content))
        except (ValueError, UnicodeDecodeError):
            raise self.bad(f"the body is not JSON: {shorten(self.content[:120].decode('utf-8', 'replace'), 80)!r}") \
                from None
        return self._decoded[0]

    def object(self) -> dict:
        """The body as a JSON object."""
        body = self.json()
        if not isinstance(body, dict):
            raise self.bad(f"the body is a JSON {json_type(body)}, where an object was expected")
        return body

    def field(self, body: dict, key: str, kind: type) -> object:
        """`body[key]`, which must be of `kind` (BadAnswer naming the key otherwise)."""
        value = body.get(key)
        if not isinstance(value, kind):
            raise self.bad(f"{key} is {'missing' if key not in body else 'a JSON ' + json_type(value)}")
        return value


def use_pool(size: int) -> None:
    """Keep at least `size` connections per host (one per thread of the tick's pool)."""
    global _session, _pool
    with _session_lock:
        if size > _pool:
            _session, _pool = None, size


def session() -> requests.Session:
    global _session, _pool
    with _session_lock:
        if _session is None:
            _pool = _pool or DEFAULT_POOL
            _session = requests.Session()
            adapter = HTTPAdapter(pool_connections=_pool, pool_maxsize=_pool, max_retries=0)
            _session.mount("https://", adapter)
            _session.mount("http://", adapter)
        return _session


def send(what: str, method: str, url: str, headers: dict[str, str] | None = None, json: object = None,
         data: dict | None = None, deadline: Deadline | None = None,
         timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> Answer:
    """One attempt. Returns the answer of a status below 400; raises HttpError, NoAnswer (UnresolvedHostError) or
    OutOfTime."""
    request = Request(what, method, url)
    connect, read = timeout
    cut = False
    if deadline is not None and deadline.at is not None:
        left = deadline.at - clock.monotonic()
        if left <= 0:
            raise OutOfTime(request, deadline)
        cut = left < connect + read
        connect, read = min(connect, left), min(read, left)
    try:
        response = session().request(method, url, headers=headers, json=json, data=data, timeout=(connect, read))
    except (requests.ConnectionError, requests.Timeout) as error:
        if unresolved(error):
            raise UnresolvedHostError(request, error) from None
        if cut and isinstance(error, requests.Timeout):
            raise OutOfTime(request, deadline) from None
        raise NoAnswer(request, error) from None
    if response.status_code >= 400:
        code, message = service_error(response)
        raise HttpError(request, response.status_code, code or f"HTTP{response.status_code}", message,
                        response.headers.get("Content-Type", ""), dict(response.headers), bool(code))
    return Answer(request, response)


def service_error(response: requests.Response) -> tuple[str, str]:
    """(code, message) of an error answer, whichever service wrote it ('' for a code it does not name); identity
    values scrubbed."""
    try:
        body = jsonlib.loads(response.content) if response.content.strip() else None
    except (ValueError, UnicodeDecodeError):
        body = None
    code = message = ""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):  # ARM, the AML services and run history
            code, message = str(error.get("code") or ""), str(error.get("message") or "")
        elif isinstance(error, str):  # Entra ID and the identity endpoint (OAuth 2.0 error answers)
            code, message = error, str(body.get("error_description") or body.get("message") or "")
        elif "title" in body:  # ASP.NET ValidationProblemDetails
            code = "ValidationError"
            message = f"{body['title']} {jsonlib.dumps(body.get('errors') or {}, separators=(',', ':'))}"
        else:
            code, message = str(body.get("code") or ""), str(body.get("message") or "")
    if not message:
        kind = response.headers.get("Content-Type", "") or "no content type"
        message = f"({kind}) {response.text}" if response.content.strip() else f"({kind}, empty body)"
    return code, shorten(message, 400)


def retry_after(headers) -> float | None:
    """`Retry-After` in seconds from now: a number of seconds or an HTTP date (RFC 9110); None when absent or
    unreadable."""
    value = headers.get("Retry-After") if headers is not None else None
    if value is None:
        return None
    try:
        return max(0.0, float(str(value).strip()))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return max(0.0, (clock.as_utc(when) - clock.now()).total_seconds())


def chain(error: BaseException):
    """`error` and every exception behind it (cause, context, the SDK's `inner_exception`), each once."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue  # the SDK's `inner_exception` is sometimes a response model, not an exception
        seen.add(id(current))
        yield current
        pending += [current.__cause__, current.__context__, getattr(current, "inner_exception", None)]


def unresolved(error: BaseException) -> bool:
    """Whether `error` is a host name that did not resolve (socket.gaierror, or urllib3's NameResolutionError)."""
    return any(isinstance(item, socket.gaierror) or type(item).__name__ == "NameResolutionError"
               for item in chain(error))
