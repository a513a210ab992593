"""The tick's identity and its tokens, without the retired SDK: a service principal when a secret is configured,
else the Function App's managed identity.

- Service principal: the client-credentials grant (Microsoft identity platform, "OAuth 2.0 client credentials
  flow", shared secret: `POST {login}/{tenant}/oauth2/v2.0/token`, form `client_id`, `client_secret`,
  `grant_type=client_credentials`, `scope={resource}/.default`; the answer's `access_token` and `expires_in`).
- Managed identity: the App Service / Functions identity endpoint, 2019-08-01 protocol (`GET {IDENTITY_ENDPOINT}
  ?resource=...&api-version=2019-08-01[&client_id=...]`, header `X-IDENTITY-HEADER`; the answer's `access_token` and
  `expires_on`). The SDK's own MsiAuthentication speaks the older MSI_ENDPOINT protocol, which Linux plans lack.

One cached token per audience (ARM's, Azure ML's data plane), taken again five minutes before it expires, so a tick
that outlives its token (about an hour; Flex has no timeout) goes on with a fresh one. The chosen mode is logged; no
identity value is (the settings are named instead, see shared.redact). A failed sign-in is one `SignInError` with
the mode, the service's error code (AADSTS...) and the setting to check.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

import requests

from shared import clock, warm
from shared.errors import AppError
from shared.logfmt import kv, shorten
from shared.retry import RetryBudget, request_once, send, with_retries
from shared.settings import AzureSettings

log = logging.getLogger(__name__)

IDENTITY_API_VERSION = "2019-08-01"
# The identity endpoint is local to the host: its own short retry budget, whatever the tick's.
IDENTITY_RETRY_SECONDS = 30.0
REFRESH_MARGIN_SECONDS = 300.0
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


class TokenSource:
    """Tokens of one identity, one per audience, cached until five minutes before they expire."""

    mode = ""

    def __init__(self, settings: AzureSettings):
        self.settings = settings
        self.budget = RetryBudget(settings.retry_budget_seconds)  # the current tick's, set by `signed_in`
        self._tokens: dict[str, tuple[str, float]] = {}  # audience -> (token, valid until on clock.monotonic)
        self._lock = threading.Lock()

    def token(self, resource: str) -> str:
        """A valid token for `resource` (an audience such as https://management.azure.com)."""
        with self._lock:  # one refresh at a time, even with a pool of threads asking
            cached = self._tokens.get(resource)
            if cached and cached[1] - clock.monotonic() > REFRESH_MARGIN_SECONDS:
                return cached[0]
            token, lifetime = self._fetch(resource)
            self._tokens[resource] = (token, clock.monotonic() + lifetime)
            return token

    def header(self, resource: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(resource)}"}

    def _fetch(self, resource: str) -> tuple[str, float]:
        """(token, seconds it stays valid)."""
        raise NotImplementedError


class ServicePrincipalTokens(TokenSource):
    mode = "service_principal"

    def _fetch(self, resource: str) -> tuple[str, float]:
        settings = self.settings
        url = f"{settings.endpoints.login}/{settings.tenant_id}/oauth2/v2.0/token"
        form = {"client_id": settings.client_id, "client_secret": settings.client_secret,
                "grant_type": "client_credentials", "scope": f"{resource}/.default"}

        def attempt() -> requests.Response:
            return request_once("sign_in", "POST", url, {}, data=form)

        response = with_retries(self.budget, "sign_in", attempt)
        if response.status_code != 200:
            # Not chained, and Entra's text is scrubbed: it names the tenant and the client id.
            raise SignInError(describe_sign_in_failure(settings, _entra_error(response))) from None
        body = response.json()
        return body["access_token"], float(body.get("expires_in", 3600))


class ManagedIdentityTokens(TokenSource):
    mode = "managed_identity"

    def _fetch(self, resource: str) -> tuple[str, float]:
        endpoint, header = os.environ.get("IDENTITY_ENDPOINT"), os.environ.get("IDENTITY_HEADER")
        if not endpoint or not header:
            raise SignInError(
                "sign-in failed: mode=managed_identity: IDENTITY_ENDPOINT/IDENTITY_HEADER are not set, so this "
                "host offers no managed identity. Turn on the Function App's identity, or set AZURE_TENANT_ID, "
                "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal"
            )
        params = {"resource": resource, "api-version": IDENTITY_API_VERSION}
        if self.settings.client_id:
            params["client_id"] = self.settings.client_id
        response = send(RetryBudget(IDENTITY_RETRY_SECONDS), "identity_token", "GET",
                        f"{endpoint}?{urlencode(params)}", {"X-IDENTITY-HEADER": header})
        if response.status_code != 200:
            identity = "user-assigned (AZURE_CLIENT_ID)" if self.settings.client_id else "system-assigned"
            raise SignInError(f"sign-in failed: mode=managed_identity identity={identity} "
                              f"status={response.status_code}: {shorten(response.text)}")
        body = response.json()
        return body["access_token"], float(body.get("expires_on", 0)) - time.time()


def _entra_error(response: requests.Response) -> str:
    """Entra's OAuth2 error answer (`error`, `error_description`), or the status and text when it is not one."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("error_description"):
        return str(body["error_description"])
    return f"status={response.status_code}: {response.text}"


def describe_sign_in_failure(settings: AzureSettings, text: str) -> str:
    """One line with the mode, the service's error code and what to check; identity values scrubbed out."""
    found = _AADSTS.search(text)
    code = found.group(0) if found else "SignInFailed"
    lines = [line.strip() for line in text.splitlines() if line.strip()] or [code]
    said = next((line for line in lines if found and code in line), lines[0])
    check = _AADSTS_HINTS.get(code) or "check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET"
    return f"sign-in failed: mode=service_principal error={code}: {check}. The service said: {shorten(said)}"


_sources: dict[tuple, TokenSource] = warm.cache()


def identity_key(settings: AzureSettings) -> tuple:
    secret_digest = hashlib.sha256((settings.client_secret or "").encode()).hexdigest()
    return settings.cloud, settings.tenant_id, settings.client_id, secret_digest


@contextmanager
def signed_in(settings: AzureSettings, budget: RetryBudget, audience: str | None = None) -> Iterator[TokenSource]:
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
    source.budget = budget
    try:
        source.token(audience or settings.endpoints.resource_manager)  # now: a bad identity fails with one message
        _sources[key] = source
        yield source
    except BaseException:
        _sources.pop(key, None)
        raise
