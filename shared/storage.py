"""The Function App's own Storage account, as the host finds it: where the app keeps its tick claims (a table) and,
with AML_FANOUT=queue, its work queues. No setting of the app's own, and no new secret.

The host's settings (Microsoft Learn, "App settings reference for Azure Functions", AzureWebJobsStorage, and "Connect
to host storage with an identity"):
- `AzureWebJobsStorage`: a connection string (`UseDevelopmentStorage=true` for Azurite);
- or identity-based: `AzureWebJobsStorage__accountName` (the service URIs follow from it and the cloud), or
  `AzureWebJobsStorage__tableServiceUri` / `__queueServiceUri`, with `__credential=managedidentity` and `__clientId`
  (a user-assigned identity; without it, the system-assigned one). The token is the Function App's managed identity's
  for `https://storage.azure.com/`, from the same identity endpoint the app signs in with (shared.tokens).
The clients are azure-data-tables and azure-storage-queue, with short timeouts and few retries: a claim or a message
is one small request, and a tick that cannot reach its storage says so rather than waiting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shared.clouds import Cloud

if TYPE_CHECKING:  # the Storage SDKs load when a tick first uses its storage
    from azure.data.tables import TableClient
    from azure.storage.queue import QueueClient

PREFIX = "AzureWebJobsStorage"
STORAGE_AUDIENCE = "https://storage.azure.com/"
# Azurite 3.35 (the emulator the tests pin) accepts up to this queue service version; Azure accepts it too (a GA one).
QUEUE_API_VERSION = "2025-11-05"
CLIENT_OPTIONS = {"retry_total": 3, "connection_timeout": 10, "read_timeout": 20}
# Storage endpoint suffixes per cloud (azure-cli's cloud definitions: storage_endpoint).
_SUFFIXES = {"AzureCloud": "core.windows.net", "AzureChinaCloud": "core.chinacloudapi.cn",
             "AzureUSGovernment": "core.usgovcloudapi.net"}
_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")


@dataclass(frozen=True)
class StorageSettings:
    """Where the app's storage is and how it signs in (a connection string, or the managed identity)."""

    connection_string: str | None = field(default=None, repr=False)
    table_uri: str | None = None
    queue_uri: str | None = None
    client_id: str | None = None  # the user-assigned identity of `__clientId`; None: system-assigned


def read_storage(env, cloud: Cloud) -> tuple[StorageSettings | None, list[str]]:
    """The host's storage settings (None when there are none), and what is wrong with them (never a value: a
    connection string holds the account's key)."""
    text = (env.get(PREFIX) or "").strip()
    if text:
        if text != "UseDevelopmentStorage=true" and not ("AccountName=" in text or "Endpoint=" in text):
            return None, [f"{PREFIX} is not a storage connection string: expected AccountName=...;AccountKey=... "
                          "(or identity-based settings, AzureWebJobsStorage__accountName)"]
        return StorageSettings(connection_string=text), []
    account = (env.get(f"{PREFIX}__accountName") or "").strip()
    table = (env.get(f"{PREFIX}__tableServiceUri") or "").strip() or None
    queue = (env.get(f"{PREFIX}__queueServiceUri") or "").strip() or None
    if not (account or table or queue):
        return None, []
    problems = []
    credential = (env.get(f"{PREFIX}__credential") or "managedidentity").strip().lower()
    if credential != "managedidentity":
        problems.append(f"{PREFIX}__credential is not valid: the app signs in to its storage with the Function App's "
                        "managed identity: set it to managedidentity (or leave it out)")
    if account and not _ACCOUNT.match(account):
        problems.append(f"{PREFIX}__accountName is not a storage account name (3-24 lower-case letters and digits)")
    suffix = _SUFFIXES.get(cloud.name, _SUFFIXES["AzureCloud"])
    if account:
        table = table or f"https://{account}.table.{suffix}"
        queue = queue or f"https://{account}.queue.{suffix}"
    return StorageSettings(table_uri=table, queue_uri=queue,
                           client_id=(env.get(f"{PREFIX}__clientId") or "").strip() or None), problems


class _IdentityCredential:
    """azure-core's TokenCredential over the app's own managed identity tokens (no azure-identity dependency)."""

    def __init__(self, tokens) -> None:
        self.tokens = tokens

    def get_token(self, *scopes, **kwargs):
        from azure.core.credentials import AccessToken

        from shared import clock

        resource = scopes[0].removesuffix(".default") if scopes else STORAGE_AUDIENCE
        value = self.tokens.token(resource)
        return AccessToken(value, int(clock.epoch()) + 300)  # the source refreshes it; the SDK asks again soon


def _credential(settings: StorageSettings, azure):
    from dataclasses import replace

    from shared.tokens import ManagedIdentityTokens

    return _IdentityCredential(ManagedIdentityTokens(replace(azure, client_id=settings.client_id,
                                                             client_secret=None)))


def table_client(settings: StorageSettings, azure, name: str) -> TableClient:
    from azure.data.tables import TableClient

    if settings.connection_string:
        return TableClient.from_connection_string(settings.connection_string, name, **CLIENT_OPTIONS)
    if not settings.table_uri:
        raise ValueError(f"{PREFIX}: no table service (set __accountName or __tableServiceUri)")
    return TableClient(settings.table_uri, name, credential=_credential(settings, azure), **CLIENT_OPTIONS)


def queue_client(settings: StorageSettings, azure, name: str) -> QueueClient:
    """A queue as the host's queue trigger reads it: messages in base64 (the extension's default encoding)."""
    from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

    options = {**CLIENT_OPTIONS, "api_version": QUEUE_API_VERSION, "message_encode_policy": TextBase64EncodePolicy(),
               "message_decode_policy": TextBase64DecodePolicy()}
    if settings.connection_string:
        return QueueClient.from_connection_string(settings.connection_string, name, **options)
    if not settings.queue_uri:
        raise ValueError(f"{PREFIX}: no queue service (set __accountName or __queueServiceUri)")
    return QueueClient(settings.queue_uri, name, credential=_credential(settings, azure), **options)
