"""ARM resource ids of what the app acts on, built and read in one place.

A workspace is `/subscriptions/{id}/resourceGroups/{group}/providers/Microsoft.MachineLearningServices/workspaces/
{name}` (ARM ids are case-insensitive: the app compares them in lower case, and writes them as it was given them);
its computes, batch endpoints and jobs hang below it. ARM's request limits are per subscription, read off a URL's
path (shared.pacing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

PROVIDER = "providers/Microsoft.MachineLearningServices"
_WORKSPACE_ID = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
                           r"Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)$", re.IGNORECASE)


def scope_path(subscription: str, resource_group: str | None = None, workspace: str | None = None) -> str:
    """A subscription, a resource group in it, or a workspace in that."""
    path = f"/subscriptions/{subscription}"
    if resource_group:
        path += f"/resourceGroups/{resource_group}"
        if workspace:
            path += f"/{PROVIDER}/workspaces/{workspace}"
    return path


def workspaces_path(scope: str) -> str:
    """Where ARM lists a scope's workspaces (Workspaces_ListBySubscription / _ListByResourceGroup)."""
    return f"{scope}/{PROVIDER}/workspaces"


@dataclass(frozen=True)
class WorkspaceRef:
    """A workspace as ARM names it: its resource id is all the compute calls need; its region prices its VMs."""

    id: str
    name: str
    subscription: str
    resource_group: str
    location: str = ""

    @classmethod
    def of(cls, subscription: str, resource_group: str, name: str, location: str = "") -> WorkspaceRef:
        return cls(scope_path(subscription, resource_group, name), name, subscription, resource_group, location)

    @classmethod
    def from_id(cls, resource_id: str, location: str = "") -> WorkspaceRef:
        """The workspace of a resource id; ValueError when it is not a workspace's."""
        match = _WORKSPACE_ID.match(resource_id.strip().rstrip("/")) if isinstance(resource_id, str) else None
        if match is None:
            raise ValueError(f"{resource_id!r} is not a workspace's resource id")
        return cls(match.group(0), match.group("ws"), match.group("sub"), match.group("rg"), location)

    @property
    def key(self) -> str:
        return self.id.lower()  # ARM ids are case-insensitive

    def url(self, arm: str, below: str = "", api_version: str | None = None) -> str:
        """The workspace's (or, with `below`, a child's: `computes/ci-1/stop`) URL on ARM."""
        url = f"{arm}{self.id}{f'/{below}' if below else ''}"
        return f"{url}?api-version={api_version}" if api_version else url


def subscription_of(url: str) -> str:
    """The subscription of an ARM URL, lower case ('' for a URL outside one)."""
    parts = urlsplit(url).path.strip("/").split("/")
    return parts[1].lower() if len(parts) > 1 and parts[0].lower() == "subscriptions" else ""
