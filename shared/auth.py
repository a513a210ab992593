"""Sign-in: a service principal when a secret is configured, else the Function App's managed identity.

The chosen mode is logged, never the secret. A failed sign-in becomes one `SignInError` naming the tenant, the
client id and the service's error code (AADSTS...), raised before any workspace call.
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

from shared.logfmt import kv
from shared.retry import RetryBudget, send, with_retries
from shared.settings import AzureSettings

log = logging.getLogger(__name__)

# App Service / Functions managed identity endpoint (the 2019-08-01 protocol; the SDK's own MsiAuthentication
# speaks the older MSI_ENDPOINT protocol, which Linux Consumption plans do not offer).
IDENTITY_API_VERSION = "2019-08-01"
_AADSTS = re.compile(r"AADSTS\d+")
_TOKEN_MARGIN_SECONDS = 300
# The identity endpoint is local to the host: its own short retry budget, whatever the tick's.
IDENTITY_RETRY_SECONDS = 30.0


class SignInError(RuntimeError):
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
            raise SignInError(
                f"sign-in failed: mode=managed_identity client_id={self.client_id or 'system-assigned'} "
                f"status={response.status_code}: {response.text[:300]}"
            )
        body = response.json()
        self._tokens[resource] = (body["access_token"], float(body.get("expires_on", 0)))
        return body["access_token"]


def build_auth(settings: AzureSettings) -> AbstractAuthentication:
    """The SDK auth object for the configured identity; no network call yet."""
    if settings.uses_service_principal:
        log.info(kv("auth", mode="service_principal", tenant=settings.tenant_id, client_id=settings.client_id,
                    cloud=settings.cloud))
        return ServicePrincipalAuthentication(
            tenant_id=settings.tenant_id,
            service_principal_id=settings.client_id,
            service_principal_password=settings.client_secret,
            cloud=settings.cloud,
        )
    identity = "user_assigned" if settings.client_id else "system_assigned"
    log.info(kv("auth", mode="managed_identity", identity=identity, client_id=settings.client_id or "",
                cloud=settings.cloud))
    return TokenAuthentication(ManagedIdentityTokens(settings.client_id), cloud=settings.cloud)


def sign_in(settings: AzureSettings, auth: AbstractAuthentication, budget: RetryBudget) -> dict[str, str]:
    """Get the ARM token now, so a bad identity fails with one clear message; returns the auth header."""
    try:
        return with_retries(budget, "sign_in", auth.get_authentication_header)
    except SignInError:
        raise
    except Exception as error:  # the SDK wraps msal errors in several exception types
        raise SignInError(describe_sign_in_failure(settings, error)) from error


def describe_sign_in_failure(settings: AzureSettings, error: BaseException) -> str:
    """One line naming the identity and the service's error code, with the secret scrubbed out."""
    text = str(error)
    code = _AADSTS.search(text)
    mode = "service_principal" if settings.uses_service_principal else "managed_identity"
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)
    message = (
        f"sign-in failed: mode={mode} tenant={settings.tenant_id or ''} client_id={settings.client_id or ''} "
        f"error={code.group(0) if code else type(error).__name__}: {first_line[:300]}"
    )
    if settings.client_secret:
        message = message.replace(settings.client_secret, "***")
    return message
