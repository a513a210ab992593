"""The tick's identity and its tokens, without the retired SDK: a service principal when a secret is configured,
else the Function App's managed identity.

- Service principal: the client-credentials grant (Microsoft identity platform, "OAuth 2.0 client credentials
  flow", shared secret: `POST {login}/{tenant}/oauth2/v2.0/token`, form `client_id`, `client_secret`,
  `grant_type=client_credentials`, `scope={resource}/.default`; the answer's `access_token` and `expires_in`).
- Managed identity: the App Service / Functions identity endpoint, 2019-08-01 protocol (`GET {IDENTITY_ENDPOINT}
  ?resource=...&api-version=2019-08-01[&client_id=...]`, header `X-IDENTITY-HEADER`; the answer's `access_token` and
  `expires_on`, seconds since the epoch). The SDK's own MsiAuthentication speaks the older MSI_ENDPOINT protocol,
  which Linux plans lack.

One cached token per audience (ARM's, Azure ML's data plane), kept by the process across ticks and holding nothing of
any tick. It is taken again a margin before it expires: a quarter of its lifetime, at most five minutes, so a
short-lived token is still used for most of its life. A refresh that fails while the token in hand is still valid
keeps that token (one attempt, tried again later) until it really expires; only with no valid token left does a
failed sign-in fail the work that needs it. Signing in is a work item of its own (its own retry allowance), and its
waits and timeouts fit the caller's deadline. The chosen mode is logged; no identity value is (the settings are
named instead, see shared.redact). A failed sign-in is one `SignInError` with the mode, the service's error code
(AADSTS...) and the setting to check.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlencode

from shared import clock, warm
from shared.errors import AppError
from shared.hostconfig import Deadline
from shared.identity import AzureSettings
from shared.logfmt import kv, shorten
from shared.retry import CALL_FAILURES, Allowance, with_retries
from shared.transport import Answer, BadAnswer, HttpError, OutOfTime, Request, send

log = logging.getLogger(__name__)

IDENTITY_API_VERSION = "2019-08-01"
SIGN_IN_RETRY_SECONDS = 30.0  # sign-in's own allowance (at most AML_RETRY_BUDGET_SECONDS)
REFRESH_MARGIN_SECONDS = 300.0  # at most; a quarter of the token's lifetime when that is less
SKEW_SECONDS = 10.0  # a token this close to its expiry is no longer used (clocks differ a little)
RETRY_REFRESH_SECONDS = 30.0  # after a failed early refresh, the next try comes this much later (or sooner)
_AADSTS = re.compile(r"AADSTS\d+")
# What the common Entra error codes mean in terms of this app's settings.
_AADSTS_HINTS = {
    "AADSTS7000215": "AZURE_CLIENT_SECRET is not a valid secret of AZURE_CLIENT_ID "
                     "(use the secret's value, not its id)",
    "AADSTS7000222": "the secret in AZURE_CLIENT_SECRET has expired: create a new one",
    "AADSTS700016": "AZURE_CLIENT_ID is not an application in the tenant AZURE_TENANT_ID",
    "AADSTS90002": "AZURE_TENANT_ID is not a tenant",
}


class SignInError(AppError):
    """The identity could not get a token: the message says which identity and why."""


@dataclass
class _Token:
    value: str
    refresh_at: float  # on clock.monotonic: from here on, take a new one
    valid_until: float  # ... and up to here, this one is still good
    next_try: float = 0.0  # after a failed early refresh, when to try again


class TokenSource:
    """Tokens of one identity, one per audience, cached until a margin before they expire."""

    mode = ""

    def __init__(self, settings: AzureSettings):
        self.settings = settings
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()

    def token(self, resource: str, deadline: Deadline | None = None) -> str:
        """A valid token for `resource` (an audience such as https://management.azure.com)."""
        deadline = deadline or Deadline(None)
        wait = -1 if deadline.at is None else max(0.0, deadline.at - clock.monotonic())
        if not self._lock.acquire(timeout=wait):  # one refresh at a time, even with a pool of threads asking
            raise OutOfTime(Request("token", "GET", resource), deadline)
        try:
            now = clock.monotonic()
            held = self._tokens.get(resource)
            valid = held is not None and now < held.valid_until
            if valid and (now < held.refresh_at or now < held.next_try):
                return held.value
            attempts = 1 if valid else None  # with a valid token in hand, one quick try
            try:
                value, lifetime = self._fetch(resource, Allowance(
                    min(SIGN_IN_RETRY_SECONDS, self.settings.retry_budget_seconds), deadline,
                    **({"attempts": attempts} if attempts else {})))
            except (*CALL_FAILURES, OutOfTime) as error:
                if not valid:
                    raise
                held.next_try = now + min(RETRY_REFRESH_SECONDS, (held.valid_until - now) / 2)
                log.warning(kv("auth", mode=self.mode, action="kept_token", reason="refresh_failed",
                               valid_s=round(held.valid_until - now), error=shorten(error, 200)))
                return held.value
            now = clock.monotonic()
            self._tokens[resource] = _Token(value, now + lifetime - min(REFRESH_MARGIN_SECONDS, lifetime / 4),
                                            now + lifetime - min(SKEW_SECONDS, lifetime / 20))
            return value
        finally:
            self._lock.release()

    def header(self, resource: str, deadline: Deadline | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(resource, deadline)}"}

    def _fetch(self, resource: str, allowance: Allowance) -> tuple[str, float]:
        """(token, seconds it stays valid)."""
        raise NotImplementedError


def _read_token(answer: Answer, lifetime_of) -> tuple[str, float]:
    body = answer.object()
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise answer.bad("the answer has no access_token")
    try:
        lifetime = float(lifetime_of(body))
    except (TypeError, ValueError):
        raise answer.bad("the answer says no readable lifetime (expires_in / expires_on)") from None
    return token, max(1.0, lifetime)


class ServicePrincipalTokens(TokenSource):
    mode = "service_principal"

    def _fetch(self, resource: str, allowance: Allowance) -> tuple[str, float]:
        settings = self.settings
        url = f"{settings.endpoints.login}/{settings.tenant_id}/oauth2/v2.0/token"
        form = {"client_id": settings.client_id, "client_secret": settings.client_secret,
                "grant_type": "client_credentials", "scope": f"{resource}/.default"}
        try:
            answer = with_retries(allowance, "sign_in", lambda: send("sign_in", "POST", url, data=form,
                                                                      deadline=allowance.deadline))
            return _read_token(answer, lambda body: body.get("expires_in", 3600))
        except HttpError as error:
            if error.retryable:
                raise
            # Entra's text is scrubbed: it names the tenant and the client id.
            raise SignInError(describe_sign_in_failure(error)) from None
        except BadAnswer as error:
            raise SignInError(f"sign-in failed: mode=service_principal error=BadAnswer: {error}") from None


class ManagedIdentityTokens(TokenSource):
    mode = "managed_identity"

    def _fetch(self, resource: str, allowance: Allowance) -> tuple[str, float]:
        endpoint, header = self.settings.identity_endpoint, self.settings.identity_header
        if not endpoint or not header:
            raise SignInError(
                "sign-in failed: mode=managed_identity: IDENTITY_ENDPOINT/IDENTITY_HEADER are not set, so this "
                "host offers no managed identity. Turn on the Function App's identity, or set AZURE_TENANT_ID, "
                "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal"
            )
        params = {"resource": resource, "api-version": IDENTITY_API_VERSION}
        if self.settings.client_id:
            params["client_id"] = self.settings.client_id
        url = f"{endpoint}?{urlencode(params)}"
        identity = "user-assigned (AZURE_CLIENT_ID)" if self.settings.client_id else "system-assigned"
        try:
            answer = with_retries(allowance, "identity_token", lambda: send(
                "identity_token", "GET", url, {"X-IDENTITY-HEADER": header}, deadline=allowance.deadline))
            return _read_token(answer, lambda body: body["expires_in"] if "expires_in" in body else
                               float(body["expires_on"]) - clock.epoch())
        except HttpError as error:
            if error.retryable:
                raise
            raise SignInError(f"sign-in failed: mode=managed_identity identity={identity} status={error.status}: "
                              f"{error.said}") from None
        except BadAnswer as error:
            raise SignInError(f"sign-in failed: mode=managed_identity identity={identity}: {error}") from None


def describe_sign_in_failure(error: HttpError) -> str:
    """One line with the mode, the service's error code and what to check; identity values scrubbed out."""
    text = error.message
    found = _AADSTS.search(text)
    code = found.group(0) if found else error.code or "SignInFailed"
    check = _AADSTS_HINTS.get(code) or "check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET"
    said = next((line.strip() for line in text.splitlines() if code in line), text)
    return f"sign-in failed: mode=service_principal error={code}: {check}. The service said: {shorten(said)}"


_sources: dict[tuple, TokenSource] = warm.cache()


def identity_key(settings: AzureSettings) -> tuple:
    secret_digest = hashlib.sha256((settings.client_secret or "").encode()).hexdigest()
    return settings.cloud, settings.tenant_id, settings.client_id, secret_digest


@contextmanager
def signed_in(settings: AzureSettings, deadline: Deadline | None = None,
              audience: str | None = None) -> Iterator[TokenSource]:
    """The tick's identity, signed in for `audience` (default ARM's; reused while warm, with its tokens); forgotten
    if the tick fails."""
    key = identity_key(settings)
    source = _sources.get(key)
    if source is None:
        source = ServicePrincipalTokens(settings) if settings.uses_service_principal else \
            ManagedIdentityTokens(settings)
        fields = {"mode": source.mode}
        if not settings.uses_service_principal:
            fields["identity"] = "user_assigned" if settings.client_id else "system_assigned"
        log.info(kv("auth", **fields, cloud=settings.cloud))
    try:
        source.token(audience or settings.endpoints.resource_manager, deadline)  # a bad identity fails here, once
        _sources[key] = source
        yield source
    except BaseException:
        _sources.pop(key, None)
        raise
