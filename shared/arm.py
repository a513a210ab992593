"""ARM as the app calls it over REST: a client paced under ARM's limits, and what its list calls return.

`Workspaces_ListBySubscription` / `Workspaces_ListByResourceGroup` (azure-rest-api-specs,
Microsoft.MachineLearningServices stable/2024-04-01: `GET {scope}/providers/Microsoft.MachineLearningServices/
workspaces`, paged with `nextLink`) return every workspace of a scope, whatever its kind (default, hub, project),
with its id, name and location: all the compute calls need, so no workspace is looked up one by one. Every ARM list
is paged the same way (`value`, `nextLink`): `Paging` follows the links and ends a list that never ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared import clock
from shared.armids import WorkspaceRef
from shared.errors import AppError
from shared.hostconfig import Deadline
from shared.pacing import Pacing, Throttled, lane_of
from shared.retry import Allowance, with_retries
from shared.tokens import TokenSource
from shared.transport import Answer, HttpError, OutOfTime, Request, send

API_VERSION = "2024-04-01"
# Each attempt's (connect, read) timeout: an ARM answer takes well under a second; a stalled one must end in time for
# the tick's deadline margin.
TIMEOUT = (10.0, 20.0)
# No ARM list the app reads comes near this many pages (a subscription's workspaces or a workspace's computes, 100
# a page at least): more means a list that does not end.
MAX_PAGES = 500


class WorkspaceError(AppError):
    """The workspace does not exist or the identity cannot read it; the message names it."""


def workspace_error(workspace: WorkspaceRef, code: str) -> WorkspaceError:
    """What to check for a workspace ARM does not show the identity (AuthorizationFailed, or not found)."""
    if code.endswith("AuthorizationFailed"):
        reason = "the identity may not read it: grant it a role on the workspace (see docs/least-privilege.md)"
    else:
        reason = ("it does not exist or the identity cannot see it: check AML_SUBSCRIPTION_ID, AML_RESOURCE_GROUP and "
                  "AML_WORKSPACE_NAME, and the identity's role assignment")
    return WorkspaceError(f"workspace lookup failed: workspace={workspace.name} resource_group="
                          f"{workspace.resource_group} subscription={workspace.subscription} error={code}: {reason}")


class ArmClient:
    """ARM requests of one tick: a fresh token each (cached by the identity), its lane's pacing, the deadline.

    A throttle (429, shared.pacing) raises `Throttled` at once, charged to nothing; a fault is retried within the
    work item's allowance (shared.retry); any other status is an HttpError for the caller to judge.
    """

    def __init__(self, base_url: str, tokens: TokenSource, deadline: Deadline | None = None,
                 pacing: Pacing | None = None):
        self.base_url = base_url
        self.tokens = tokens
        self.deadline = deadline or Deadline(None)
        self.pacing = pacing or Pacing()

    def once(self, what: str, method: str, url: str, json: dict | None = None) -> Answer:
        """One attempt: Throttled if its lane is not open or ARM answers 429; HttpError, NoAnswer, OutOfTime."""
        lane = lane_of(method, url)
        headers = self.tokens.header(self.base_url, self.deadline)
        self.pacing.acquire(lane)
        try:
            answer = send(what, method, url, headers, json=json, deadline=self.deadline, timeout=TIMEOUT)
        except HttpError as error:
            self.pacing.release(lane, error.status, error.headers, error.retry_after)
            raise
        except BaseException:
            self.pacing.release(lane, None, {}, None)
            raise
        self.pacing.release(lane, answer.status, answer.headers, None)
        return answer

    def send(self, what: str, method: str, url: str, allowance: Allowance, json: dict | None = None) -> Answer:
        """One request with its fault retries; a throttle raises Throttled (the pool runs other work meanwhile)."""
        return with_retries(allowance, what, lambda: self.once(what, method, url, json))

    def call(self, what: str, method: str, url: str, allowance: Allowance, json: dict | None = None) -> Answer:
        """`send`, waiting out throttles (for calls made one at a time, outside a pool), never past the deadline."""
        while True:
            try:
                return self.send(what, method, url, allowance, json)
            except Throttled as throttled:
                if not self.deadline.allows(throttled.until):
                    raise OutOfTime(Request(what, method, url), self.deadline) from None
                clock.sleep(max(0.0, throttled.until - clock.monotonic()))


@dataclass
class Paging:
    """Where a paged ARM list is: the links it followed, so a list that repeats a link or never ends fails."""

    seen: set[str] = field(default_factory=set)

    def page(self, answer: Answer) -> tuple[list, str | None]:
        """The items of one page and the next page's link (None: the last page); BadAnswer for a page that is not a
        list page, repeats a link or goes past MAX_PAGES."""
        body = answer.object()
        items = answer.field(body, "value", list)
        link = body.get("nextLink")
        if link in (None, ""):
            return items, None
        if not isinstance(link, str):
            raise answer.bad("nextLink is not a string")
        self.seen.add(answer.request.url)
        if link in self.seen:
            raise answer.bad(f"nextLink repeats a page already read ({len(self.seen)} page(s) in): the list does not "
                             "end")
        if len(self.seen) >= MAX_PAGES:
            raise answer.bad(f"the list goes on past {MAX_PAGES} pages: more than any real list has")
        return items, link


def workspaces_of(answer: Answer, items: list) -> list[WorkspaceRef]:
    """The workspaces of one page of ARM's workspace list."""
    found = []
    for index, entry in enumerate(items):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise answer.bad(f"value[{index}] has no id")
        try:
            workspace = WorkspaceRef.from_id(entry["id"], str(entry.get("location") or ""))
        except ValueError as error:
            raise answer.bad(f"value[{index}]: {error}") from None
        found.append(workspace)
    return found
