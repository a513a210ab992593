"""Workspace lookup through the SDK v1 (for its pipelines service), reused across warm invocations of one process.

Reuse is safe because the SDK's auth object takes its tokens from the identity's token source, which refreshes them,
and a `Workspace` holds only the workspace's coordinates; the cache key covers every setting that changes who signs
in or which workspace is meant, so a changed app setting (which restarts the host anyway) never gets a stale object.
A tick that fails forgets its entry, so the next tick signs in afresh.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from azureml.core import Workspace
from azureml.core.authentication import AbstractAuthentication

from shared import warm
from shared.arm import workspace_error
from shared.armids import WorkspaceRef
from shared.auth import sdk_auth
from shared.identity import AzureSettings
from shared.logfmt import kv
from shared.retry import Allowance, not_an_answer, with_retries
from shared.tokens import identity_key, signed_in

log = logging.getLogger(__name__)

_ARM_CODE = re.compile(r"\b(AuthorizationFailed|ResourceNotFound|ResourceGroupNotFound|SubscriptionNotFound|"
                       r"InvalidAuthenticationToken\w*|LinkedAuthorizationFailed)\b")


@dataclass(frozen=True)
class Connection:
    """A signed-in workspace: the SDK objects plus what the REST calls need."""

    workspace: Workspace
    auth: AbstractAuthentication
    arm_url: str

    @property
    def ref(self) -> WorkspaceRef:
        ws = self.workspace
        return WorkspaceRef.of(ws.subscription_id, ws.resource_group, ws.name)

    @property
    def arm_id(self) -> str:
        return self.ref.id

    @property
    def history_url(self) -> str:
        """The workspace's run-history service, from its discovery, as the SDK's own run-history client finds it.

        It can differ from the pipelines service's host (a private-link workspace), so it is never derived from a
        pipeline's URL. `ServiceContext._get_run_history_url` reads the discovery the SDK already fetched.
        """
        return self.workspace.service_context._get_run_history_url().rstrip("/")


_connections: dict[tuple, Connection] = warm.cache()


def _cache_key(settings: AzureSettings) -> tuple:
    return (*identity_key(settings), settings.subscription_id.lower(), settings.resource_group.lower(),
            settings.workspace_name.lower())


def _lookup(settings: AzureSettings, auth: AbstractAuthentication, allowance: Allowance) -> Connection:
    try:
        workspace = with_retries(allowance, "get_workspace", lambda: Workspace(
            subscription_id=settings.subscription_id,
            resource_group=settings.resource_group,
            workspace_name=settings.workspace_name,
            auth=auth,
        ))
    except Exception as error:  # the SDK raises several types for "not found" and "forbidden"
        if not_an_answer(error):
            raise  # a transient failure that outlasted the retry budget, or no network: the last error, as it is
        text = str(error)
        found = _ARM_CODE.search(text)
        # The SDK turns ARM's 404 into "Workspace not found." without the ARM error code.
        code = found.group(0) if found else "WorkspaceNotFound" if "not found" in text.lower() else type(error).__name__
        # Not chained: ARM's message names the client id (see shared.redact).
        raise workspace_error(settings.workspace, code) from None
    log.info(kv("workspace", name=workspace.name, resource_group=workspace.resource_group,
                location=workspace.location, reused=False))
    return Connection(workspace=workspace, auth=auth, arm_url=settings.endpoints.resource_manager)


@contextmanager
def connect(settings: AzureSettings, allowance: Allowance) -> Iterator[Connection]:
    """Yield the workspace connection for one tick; forget it if the tick fails."""
    key = _cache_key(settings)
    with signed_in(settings, allowance.deadline, settings.endpoints.sdk_arm_audience) as tokens:
        connection = _connections.get(key)
        if connection is None:
            connection = _connections[key] = _lookup(settings, sdk_auth(tokens, settings.cloud), allowance)
        else:
            log.info(kv("workspace", name=connection.workspace.name,
                        resource_group=connection.workspace.resource_group, reused=True))
        try:
            yield connection
        except BaseException:
            _connections.pop(key, None)
            raise
