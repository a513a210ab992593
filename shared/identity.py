"""Who signs in and which workspace: the settings every function shares, as one record (read in shared.settings).

A leaf: the token source, the ARM client and the SDK v1's sign-in take this record and nothing else of the settings.
The host's managed identity endpoint (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`, set by App Service and Functions) is
read with the app settings, when the function runs, so nothing below reads the environment itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.armids import WorkspaceRef
from shared.clouds import DEFAULT, Cloud, cloud_named


@dataclass(frozen=True)
class AzureSettings:
    """Who signs in and which workspace: shared by every function."""

    tenant_id: str | None
    client_id: str | None
    client_secret: str | None = field(repr=False)
    subscription_id: str
    resource_group: str
    workspace_name: str
    cloud: str
    retry_budget_seconds: float
    identity_endpoint: str | None = field(default=None, repr=False)
    identity_header: str | None = field(default=None, repr=False)

    @property
    def uses_service_principal(self) -> bool:
        return self.client_secret is not None

    @property
    def endpoints(self) -> Cloud:
        return cloud_named(self.cloud) or DEFAULT

    @property
    def workspace(self) -> WorkspaceRef:
        """The one AML_* workspace."""
        return WorkspaceRef.of(self.subscription_id, self.resource_group, self.workspace_name)
