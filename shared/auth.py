"""Sign-in: a service principal when a secret is configured, else the Function App's managed identity.

The chosen mode is logged; no identity value is (the settings are named instead, see shared.redact). A failed
sign-in becomes one `SignInError` with the mode, the service's error code (AADSTS...) and which setting to check,
raised before any workspace call.
"""

from __future__ import annotations

import logging
import os
import re
import time
from urllib.parse import urlencode

from azureml.core.authentication import (
    AbstractAuthentication,
    ServicePrincipalAuthentication,
    TokenAuthentication,
)

from shared.errors import AppError
from shared.logfmt import kv, shorten
from shared.retry import RetryBudget, UnresolvedHostError, send, with_retries
from shared.settings import AzureSettings

log = logging.getLogger(__name__)

# App Service / Functions managed identity endpoint (the 2019-08-01 protocol; the SDK's own MsiAuthentication
# speaks the older MSI_ENDPOINT protocol, which Linux Consumption plans do not offer).
IDENTITY_API_VERSION = "2019-08-01"
_AADSTS = re.compile(r"AADSTS\d+")
# What the common Entra error codes mean in terms of this app's settings.
_AADSTS_HINTS = {
    "AADSTS7000215": "AZURE_CLIENT_SECRET is not a valid secret of AZURE_CLIENT_ID "
                     "(use the secret's value, not its id)",
    "AADSTS7000222": "the secret in AZURE_CLIENT_SECRET has expired: create a new one",
    "AADSTS700016": "AZURE_CLIENT_ID is not an application in the tenant AZURE_TENANT_ID",
    "AADSTS90002": "AZURE_TENANT_ID is not a tenant",
}
_TOKEN_MARGIN_SECONDS = 300
# The identity endpoint is local to the host: its own short retry budget, whatever the tick's.
IDENTITY_RETRY_SECONDS = 30.0


class SignInError(AppError):
    """The identity could not get a token: the message says which identity and why."""


class ManagedIdentityTokens:
    """Fetches tokens from the Functions managed identity endpoint, one cached token per audience."""

    def __init__(self, client_id: str | None):
        self.client_id = client_id
        self._tokens: dict[str, tuple[str, float]] = {}

    def __call__(self, resource: str) -> str:
        cached = self._tokens.get(resource)
        if cached and cached[1] - time.time() > _TOKEN_MARGIN_SECONDS:
            return cached[0]
        endpoint = os.environ.get("IDENTITY_ENDPOINT")
        header = os.environ.get("IDENTITY_HEADER")
        if not endpoint or not header:
            raise SignInError(
                "sign-in failed: mode=managed_identity: IDENTITY_ENDPOINT/IDENTITY_HEADER are not set, so this "
                "host offers no managed identity. Turn on the Function App's identity, or set AZURE_TENANT_ID, "
                "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal"
            )
        params = {"resource": resource, "api-version": IDENTITY_API_VERSION}
        if self.client_id:
            params["client_id"] = self.client_id
        url = f"{endpoint}?{urlencode(params)}"
        headers = {"X-IDENTITY-HEADER": header}
        response = send(RetryBudget(IDENTITY_RETRY_SECONDS), "identity_token", "GET", url, headers)
        if response.status_code != 200:
            identity = "user-assigned (AZURE_CLIENT_ID)" if self.client_id else "system-assigned"
            raise SignInError(
                f"sign-in failed: mode=managed_identity identity={identity} status={response.status_code}: "
                f"{shorten(response.text)}"
            )
        body = response.json()
        self._tokens[resource] = (body["access_token"], float(body.get("expires_on", 0)))
        return body["access_token"]


def build_auth(settings: AzureSettings) -> AbstractAuthentication:
    """The SDK auth object for the configured identity; no network call yet."""
    if settings.uses_service_principal:
        log.info(kv("auth", mode="service_principal", cloud=settings.cloud))
        return ServicePrincipalAuthentication(
            tenant_id=settings.tenant_id,
            service_principal_id=settings.client_id,
            service_principal_password=settings.client_secret,
            cloud=settings.cloud,
        )
    identity = "user_assigned" if settings.client_id else "system_assigned"
    log.info(kv("auth", mode="managed_identity", identity=identity, cloud=settings.cloud))
    return TokenAuthentication(ManagedIdentityTokens(settings.client_id), cloud=settings.cloud)


def sign_in(settings: AzureSettings, auth: AbstractAuthentication, budget: RetryBudget) -> dict[str, str]:
    """Get the ARM token now, so a bad identity fails with one clear message; returns the auth header."""
    try:
        return with_retries(budget, "sign_in", auth.get_authentication_header)
    except (SignInError, UnresolvedHostError):
        raise
    except Exception as error:  # noqa: BLE001 - the SDK wraps msal errors in several types; re-raised below
        # The cause is not chained: msal's text repeats the tenant and the client id.
        raise SignInError(describe_sign_in_failure(settings, error)) from None


def describe_sign_in_failure(settings: AzureSettings, error: BaseException) -> str:
    """One line with the mode, the service's error code and what to check; identity values scrubbed out."""
    text = str(error)
    found = _AADSTS.search(text)
    code = found.group(0) if found else type(error).__name__
    mode = "service_principal" if settings.uses_service_principal else "managed_identity"
    lines = [line.strip() for line in text.splitlines() if line.strip()] or [type(error).__name__]
    said = next((line for line in lines if found and code in line), lines[0]).removeprefix("Message:").strip()
    check = (_AADSTS_HINTS.get(code) or ("check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET"
                                         if settings.uses_service_principal else
                                         "check the Function App's identity and AZURE_CLIENT_ID"))
    return f"sign-in failed: mode={mode} error={code}: {check}. The service said: {shorten(said)}"
