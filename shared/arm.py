"""ARM, as the compute functions use it: workspaces by their resource id, found through ARM's list calls.

`Workspaces_ListBySubscription` / `Workspaces_ListByResourceGroup` (azure-rest-api-specs,
Microsoft.MachineLearningServices stable/2024-04-01: `GET {scope}/providers/Microsoft.MachineLearningServices/
workspaces`, paged with `nextLink`) return every workspace of a scope, whatever its kind (default, hub, project),
with its id, name and location: all the compute calls need, so no workspace is looked up one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from shared.errors import AppError
from shared.logfmt import shorten
from shared.retry import RetryBudget, send
from shared.scopes import Scope

API_VERSION = "2024-04-01"


class ScopeListError(AppError):
    """The workspaces of a scope could not be listed."""


@dataclass(frozen=True)
class WorkspaceRef:
    """A workspace as ARM names it: its resource id is all the compute calls need."""

    id: str
    name: str
    subscription: str

    @classmethod
    def from_id(cls, resource_id: str) -> WorkspaceRef:
        parts = resource_id.strip("/").split("/")
        return cls(resource_id, parts[-1], parts[1])

    @property
    def key(self) -> str:
        return self.id.lower()  # ARM ids are case-insensitive


def service_error(response: requests.Response) -> str:
    """`Code: message` from an ARM error body, else the status and the text; one short line."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if isinstance(error, dict) and error.get("code"):
        return shorten(f"{error['code']}: {error.get('message', '')}".rstrip(": "), 240)
    return shorten(f"status={response.status_code}: {response.text}", 240)


def list_workspaces(arm_url: str, scope: Scope, headers: dict[str, str], budget: RetryBudget) -> list[WorkspaceRef]:
    """Every workspace in a subscription or resource group scope (a workspace scope is itself)."""
    if scope.workspace:
        return [WorkspaceRef.from_id(scope.path)]
    url: str | None = f"{arm_url}{scope.path}/providers/Microsoft.MachineLearningServices/workspaces" \
                      f"?api-version={API_VERSION}"
    found: list[WorkspaceRef] = []
    while url:
        response = send(budget, "list_workspaces", "GET", url, headers)
        if response.status_code >= 400:
            raise ScopeListError(service_error(response))
        page = response.json()
        found += [WorkspaceRef(entry["id"], entry["name"], WorkspaceRef.from_id(entry["id"]).subscription)
                  for entry in page.get("value", [])]
        url = page.get("nextLink")
    return found
