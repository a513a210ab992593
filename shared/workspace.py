"""Workspace lookup, reused across warm invocations of one process.

Reuse is safe because the SDK's auth objects refresh their own tokens and a `Workspace` holds only the
workspace's coordinates; the cache key covers every setting that changes who signs in or which workspace is
meant, so a changed app setting (which restarts the host anyway) never gets a stale object. A tick that fails
forgets its entry, so the next tick signs in afresh.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from azureml.core import Workspace
from azureml.core.authentication import AbstractAuthentication

from shared.auth import build_auth, sign_in
from shared.errors import AppError
from shared.logfmt import kv
from shared.retry import RetryBudget, not_an_answer, with_retries
from shared.settings import AzureSettings

log = logging.getLogger(__name__)

_ARM_CODE = re.compile(r"\b(AuthorizationFailed|ResourceNotFound|ResourceGroupNotFound|SubscriptionNotFound|"
                       r"InvalidAuthenticationToken\w*|LinkedAuthorizationFailed)\b")


class WorkspaceError(AppError):
    """The workspace does not exist or the identity cannot read it; the message names it."""


@dataclass(frozen=True)
class Connection:
    """A signed-in workspace: the SDK objects plus what the REST calls need."""

    workspace: Workspace
    auth: AbstractAuthentication
    arm_url: str

    @property
    def arm_id(self) -> str:
        ws = self.workspace
        return (f"/subscriptions/{ws.subscription_id}/resourceGroups/{ws.resource_group}"
                f"/providers/Microsoft.MachineLearningServices/workspaces/{ws.name}")

    @property
    def history_url(self) -> str:
        """The workspace's run-history service, from its discovery, as the SDK's own run-history client finds it.

        It can differ from the pipelines service's host (a private-link workspace), so it is never derived from a
        pipeline's URL. `ServiceContext._get_run_history_url` reads the discovery the SDK already fetched.
        """
        return self.workspace.service_context._get_run_history_url().rstrip("/")


@dataclass(frozen=True)
class Identity:
    """A signed-in identity without a workspace: what a fleet's ARM calls need."""

    auth: AbstractAuthentication
    arm_url: str


_connections: dict[tuple, Connection | Identity] = {}


def _identity_key(settings: AzureSettings) -> tuple:
    secret_digest = hashlib.sha256((settings.client_secret or "").encode()).hexdigest()
    return settings.cloud, settings.tenant_id, settings.client_id, secret_digest


def _cache_key(settings: AzureSettings) -> tuple:
    return (*_identity_key(settings), settings.subscription_id.lower(), settings.resource_group.lower(),
            settings.workspace_name.lower())


def forget_cached_workspaces() -> None:
    """Drop every cached connection and identity (a fresh process starts like this)."""
    _connections.clear()


def _describe(settings: AzureSettings) -> str:
    return (f"workspace={settings.workspace_name} resource_group={settings.resource_group} "
            f"subscription={settings.subscription_id}")


def _lookup(settings: AzureSettings, budget: RetryBudget) -> Connection:
    auth = build_auth(settings)
    sign_in(settings, auth, budget)
    try:
        workspace = with_retries(budget, "get_workspace", lambda: Workspace(
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
        if code.endswith("AuthorizationFailed"):
            reason = "the identity may not read it: grant it a role on the workspace (see docs/least-privilege.md)"
        else:
            reason = ("it does not exist or the identity cannot see it: check AML_SUBSCRIPTION_ID, "
                      "AML_RESOURCE_GROUP and AML_WORKSPACE_NAME, and the identity's role assignment")
        # Not chained: ARM's message names the client id (see shared.redact).
        raise WorkspaceError(f"workspace lookup failed: {_describe(settings)} error={code}: {reason}") from None
    log.info(kv("workspace", name=workspace.name, resource_group=workspace.resource_group,
                location=workspace.location, reused=False))
    return Connection(workspace=workspace, auth=auth, arm_url=settings.endpoints.resource_manager)


@contextmanager
def signed_in(settings: AzureSettings, budget: RetryBudget) -> Iterator[Identity]:
    """Yield the signed-in identity for one tick (reused while warm); forget it if the tick fails."""
    key = _identity_key(settings)
    identity = _connections.get(key)
    if identity is None:
        auth = build_auth(settings)
        sign_in(settings, auth, budget)
        identity = _connections[key] = Identity(auth, settings.endpoints.resource_manager)
    try:
        yield identity
    except BaseException:
        _connections.pop(key, None)
        raise


@contextmanager
def connect(settings: AzureSettings, budget: RetryBudget) -> Iterator[Connection]:
    """Yield the workspace connection for one tick; forget it if the tick fails."""
    key = _cache_key(settings)
    connection = _connections.get(key)
    if connection is None:
        connection = _connections[key] = _lookup(settings, budget)
    else:
        log.info(kv("workspace", name=connection.workspace.name, resource_group=connection.workspace.resource_group,
                    reused=True))
    try:
        yield connection
    except BaseException:
        _connections.pop(key, None)
        raise
