"""ARM as the app calls it over REST: a client paced under ARM's limits, and workspaces by their resource id.

`Workspaces_ListBySubscription` / `Workspaces_ListByResourceGroup` (azure-rest-api-specs,
Microsoft.MachineLearningServices stable/2024-04-01: `GET {scope}/providers/Microsoft.MachineLearningServices/
workspaces`, paged with `nextLink`) return every workspace of a scope, whatever its kind (default, hub, project),
with its id, name and location: all the compute calls need, so no workspace is looked up one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from shared import clock
from shared.errors import AppError
from shared.logfmt import shorten
from shared.pacing import Pacing, Throttled, lane_of
from shared.retry import TRANSIENT_STATUS, RetryBudget, TransientHttpError, with_retries
from shared.tokens import TokenSource

API_VERSION = "2024-04-01"
# Each attempt's (connect, read) timeout: an ARM answer takes well under a second; a stalled one must end in time for
# the tick's deadline margin.
TIMEOUT = (10, 20)


class ScopeListError(AppError):
    """The workspaces of a scope could not be listed."""


class WorkspaceError(AppError):
    """The workspace does not exist or the identity cannot read it; the message names it."""


def workspace_error(subscription: str, resource_group: str, name: str, code: str) -> WorkspaceError:
    """What to check for a workspace ARM does not show the identity (AuthorizationFailed, or not found)."""
    if code.endswith("AuthorizationFailed"):
        reason = "the identity may not read it: grant it a role on the workspace (see docs/least-privilege.md)"
    else:
        reason = ("it does not exist or the identity cannot see it: check AML_SUBSCRIPTION_ID, AML_RESOURCE_GROUP and "
                  "AML_WORKSPACE_NAME, and the identity's role assignment")
    return WorkspaceError(f"workspace lookup failed: workspace={name} resource_group={resource_group} "
                          f"subscription={subscription} error={code}: {reason}")


@dataclass(frozen=True)
class WorkspaceRef:
    """A workspace as ARM names it: its resource id is all the compute calls need; its region prices its VMs."""

    id: str
    name: str
    subscription: str
    location: str = ""

    @classmethod
    def from_id(cls, resource_id: str, location: str = "") -> WorkspaceRef:
        parts = resource_id.strip("/").split("/")
        return cls(resource_id, parts[-1], parts[1], location)

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


def error_code(response: requests.Response) -> str:
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    return str(error.get("code") or f"HTTP{response.status_code}") if isinstance(error, dict) else \
        f"HTTP{response.status_code}"


class ArmClient:
    """ARM requests of one tick: a fresh token each (cached by the identity), its lane's pacing, the fault budget.

    A throttle (429, shared.pacing) raises `Throttled` at once, charged to nothing; faults (5xx, dropped
    connections, timeouts) are retried within the tick's budget; any other answer is returned to the caller.
    """

    def __init__(self, base_url: str, tokens: TokenSource, budget: RetryBudget, pacing: Pacing | None = None):
        self.base_url = base_url
        self.tokens = tokens
        self.budget = budget
        self.pacing = pacing or Pacing()

    def once(self, what: str, method: str, url: str, json: dict | None = None) -> requests.Response:
        """One attempt: Throttled if its lane is not open or ARM answers 429, TransientHttpError for a fault."""
        lane = lane_of(method, url)
        headers = self.tokens.header(self.base_url)
        self.pacing.acquire(lane)
        response = None
        try:
            response = requests.request(method, url, headers=headers, json=json, timeout=TIMEOUT)
        finally:
            self.pacing.release(lane, response)
        if response.status_code in TRANSIENT_STATUS:
            raise TransientHttpError(what, response)
        return response

    def send(self, what: str, method: str, url: str, json: dict | None = None) -> requests.Response:
        """One request with its fault retries; a throttle raises Throttled (the pool runs other work meanwhile)."""
        return with_retries(self.budget, what, lambda: self.once(what, method, url, json))

    def call(self, what: str, method: str, url: str, json: dict | None = None) -> requests.Response:
        """`send`, waiting out throttles (for calls made one at a time, outside a pool)."""
        while True:
            try:
                return self.send(what, method, url, json)
            except Throttled as throttled:
                clock.sleep(max(0.0, throttled.until - clock.monotonic()))


def workspaces_of(page: dict) -> list[WorkspaceRef]:
    """The workspaces of one page of ARM's workspace list."""
    return [WorkspaceRef(entry["id"], entry["name"], WorkspaceRef.from_id(entry["id"]).subscription,
                         entry.get("location", "")) for entry in page.get("value", [])]
