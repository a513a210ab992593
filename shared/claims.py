"""Tick claims in the app's own Storage (table `amltimerclaims`): exactly once across invocations, instances and
crashes, where one invocation's memory cannot reach.

A claim is one entity per piece of work of a tick (PartitionKey: the function; RowKey: the tick and the job or the
subscription), inserted before the work starts: an insert only one invocation can win (Table service: Insert Entity
answers 409 EntityAlreadyExists to every other). It records its state (`claimed`, then `done` with the run id or
job name), who holds it and when it was made. Another invocation that finds it:
- `done`: the work is done (`already_submitted`, with the run);
- `claimed`, and younger than the claim's lifetime (the holder may still be working): `claimed_elsewhere`;
- `claimed`, and older (its holder crashed, or was killed at its timeout): takes it over with a conditional update
  (If-Match on the entity's ETag: of two that try, one wins) and looks for what the holder may have done first.
A holder that fails before the work is done gives its claim back (a conditional delete), so the host's retry of the
invocation starts clean.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared import clock
from shared.errors import AppError
from shared.logfmt import kv

log = logging.getLogger(__name__)

TABLE = "amltimerclaims"
CLAIMED, DONE = "claimed", "done"
MINE, TAKEN_OVER, ELSEWHERE, FINISHED = "mine", "taken_over", "elsewhere", "finished"


NO_TIMEOUT_LIFETIME = timedelta(minutes=30)  # a claim's lifetime when the host sets no functionTimeout (-1)


def open_claims(storage, azure) -> Claims:
    """The invocation's claims on the app's storage (shared.storage), or off (a line says so) without one. A claim
    lives as long as the invocation that made it can: host.json's functionTimeout."""
    from shared.hostconfig import function_timeout

    lifetime = function_timeout() or NO_TIMEOUT_LIFETIME
    if storage is None:
        log.info(kv("claims", action="off", reason="no_storage"))
        return Claims(None, lifetime)
    from shared.storage import table_client

    return Claims(table_client(storage, azure, TABLE), lifetime)


class ClaimError(AppError):
    """The claims table could not be read or written: exactly once cannot be promised, so nothing is done."""


@dataclass
class Claim:
    """The outcome of claiming: MINE (a fresh claim), TAKEN_OVER (a stale one, `since` its first claim), ELSEWHERE
    (another invocation holds it), FINISHED (done: `result` names what was done)."""

    outcome: str
    key: tuple[str, str]
    since: datetime
    etag: str | None = None
    result: str = ""


class Claims:
    """The claims of one invocation (`holder`): on a table client, or off (no storage configured)."""

    def __init__(self, table, lifetime: timedelta):
        self.table = table  # azure.data.tables.TableClient, or None: claims are off
        self.lifetime = lifetime
        self.holder = str(uuid.uuid4())
        self._ready = False

    @property
    def on(self) -> bool:
        return self.table is not None

    def _call(self, what: str, call):
        """The table's answer; a conflict (409, 412, 404) as the SDK raises it, anything else a ClaimError."""
        from azure.core.exceptions import AzureError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError

        try:
            return call()
        except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError):
            raise
        except AzureError as error:
            raise ClaimError(f"the tick claims ({TABLE}) could not be {what}: {type(error).__name__}: "
                             f"{(str(error).splitlines() or [''])[0][:200]}") from None

    def claim(self, partition: str, row: str) -> Claim:
        """Claim one piece of work of a tick."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError
        from azure.data.tables import UpdateMode

        now = clock.now()
        if not self.on:
            return Claim(MINE, (partition, row), now)
        self._ensure_table()
        entity = {"PartitionKey": partition, "RowKey": row, "state": CLAIMED, "holder": self.holder,
                  "claimed_at": clock.stamp(now)}
        try:
            created = self._call("written", lambda: self.table.create_entity(entity))
            return Claim(MINE, (partition, row), now, created.get("etag"))
        except ResourceExistsError:
            pass
        found = self._call("read", lambda: self.table.get_entity(partition, row))
        since = clock.parse_instant(str(found.get("claimed_at") or clock.stamp(now)))
        etag = found.metadata.get("etag")
        if found.get("state") == DONE:
            return Claim(FINISHED, (partition, row), since, etag, str(found.get("result") or ""))
        if now - since < self.lifetime:
            return Claim(ELSEWHERE, (partition, row), since, etag)
        taken = {**entity, "claimed_at": found.get("claimed_at"), "taken_over_at": clock.stamp(now)}
        try:
            updated = self._call("taken over", lambda: self.table.update_entity(
                taken, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified))
        except ResourceModifiedError:  # another invocation took it over first
            return Claim(ELSEWHERE, (partition, row), since, etag)
        log.warning(kv("claim", key=f"{partition}/{row}", action="taken_over", reason="stale_claim",
                       claimed_at=clock.stamp(since)))
        return Claim(TAKEN_OVER, (partition, row), since, updated.get("etag"))

    def _ensure_table(self) -> None:
        from azure.core.exceptions import ResourceExistsError

        if not self._ready:
            try:
                self._call("created", self.table.create_table)
            except ResourceExistsError:
                pass
            self._ready = True

    def finish(self, claim: Claim, result: str) -> None:
        """The work of the claim is done: `result` (a run id, a job name) for whoever finds it later."""
        from azure.core import MatchConditions
        from azure.data.tables import UpdateMode

        if not self.on:
            return
        entity = {"PartitionKey": claim.key[0], "RowKey": claim.key[1], "state": DONE, "holder": self.holder,
                  "claimed_at": clock.stamp(claim.since), "done_at": clock.stamp(clock.now()), "result": result}
        self._call("written", lambda: self.table.update_entity(
            entity, mode=UpdateMode.REPLACE, etag=claim.etag, match_condition=MatchConditions.IfNotModified))

    def done(self, partition: str, row: str) -> str | None:
        """What the work of `row` gave, if it is done (None: not done, or claims are off)."""
        from azure.core.exceptions import ResourceNotFoundError

        if not self.on:
            return None
        try:
            found = self._call("read", lambda: self.table.get_entity(partition, row))
        except ResourceNotFoundError:
            return None
        return str(found.get("result") or "") if found.get("state") == DONE else None

    def mark_done(self, partition: str, row: str, result: str) -> None:
        """Record idempotent work as done (whoever did it: a redelivered message finds it and does nothing)."""
        from azure.core.exceptions import ResourceNotFoundError
        from azure.data.tables import UpdateMode

        if not self.on:
            return
        entity = {"PartitionKey": partition, "RowKey": row, "state": DONE, "holder": self.holder,
                  "claimed_at": clock.stamp(clock.now()), "done_at": clock.stamp(clock.now()), "result": result}
        try:
            self._call("written", lambda: self.table.upsert_entity(entity, mode=UpdateMode.REPLACE))
        except ResourceNotFoundError:  # the table is not there yet
            self._ensure_table()
            self._call("written", lambda: self.table.upsert_entity(entity, mode=UpdateMode.REPLACE))

    def release(self, claim: Claim) -> None:
        """Give the claim back (the work failed before it was done): the host's retry starts clean."""
        from azure.core import MatchConditions
        from azure.core.exceptions import AzureError

        if not self.on or claim.outcome not in (MINE, TAKEN_OVER):
            return
        try:
            self.table.delete_entity(claim.key[0], claim.key[1], etag=claim.etag,
                                     match_condition=MatchConditions.IfNotModified)
        except AzureError as error:  # the claim goes stale instead, and a later invocation takes it over
            log.warning(kv("claim", key="/".join(claim.key), action="kept", reason="release_failed",
                           error=type(error).__name__))
