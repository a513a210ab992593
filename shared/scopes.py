"""AML_COMPUTE_SCOPES: the ARM scopes a fleet's compute functions act on, as users copy them from the portal.

`/subscriptions/{id}` (every workspace in the subscription), `/subscriptions/{id}/resourceGroups/{rg}` (every
workspace in the group), or a workspace's resource id. Case-insensitive (ARM ids are), a trailing `/` and spaces
tolerated; duplicates and scopes inside another one are merged, so each workspace is handled once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GUID = r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"
_GROUP = r"[-\w.()]{0,89}[-\w()]"
_SCOPE = re.compile(
    rf"^/subscriptions/(?P<sub>{_GUID})"
    rf"(?:/resourceGroups/(?P<rg>{_GROUP})"
    r"(?:/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[A-Za-z0-9][A-Za-z0-9_-]{1,32}))?)?$",
    re.IGNORECASE,
)
EXAMPLE = ("/subscriptions/<id>, /subscriptions/<id>/resourceGroups/<group>, or a workspace's resource id "
           "/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.MachineLearningServices/workspaces/<name>")


@dataclass(frozen=True)
class Scope:
    """One ARM scope: a subscription, a resource group, or a workspace."""

    subscription: str
    resource_group: str | None = None
    workspace: str | None = None

    @property
    def path(self) -> str:
        path = f"/subscriptions/{self.subscription}"
        if self.resource_group:
            path += f"/resourceGroups/{self.resource_group}"
        if self.workspace:
            path += f"/providers/Microsoft.MachineLearningServices/workspaces/{self.workspace}"
        return path

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(part.lower() for part in (self.subscription, self.resource_group, self.workspace) if part)

    def contains(self, other: Scope) -> bool:
        return other.key[:len(self.key)] == self.key


def parse_scopes(text: str) -> tuple[tuple[Scope, ...], list[str]]:
    """The merged scopes, and the items that are not scopes (for the configuration error)."""
    found: list[Scope] = []
    bad: list[str] = []
    for item in text.split(","):
        cleaned = item.strip().rstrip("/")
        match = _SCOPE.match(cleaned)
        if match is None:
            bad.append(item.strip())
            continue
        found.append(Scope(match.group("sub"), match.group("rg"), match.group("ws")))
    merged = [scope for scope in found if not any(other.contains(scope) and other.key != scope.key for other in found)]
    unique: dict[tuple[str, ...], Scope] = {}
    for scope in merged:
        unique.setdefault(scope.key, scope)
    return tuple(unique.values()), bad
