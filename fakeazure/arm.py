"""Azure Resource Manager as the fake answers it: subscriptions, workspaces and their list calls, computes and their
power actions (azure-rest-api-specs, Microsoft.MachineLearningServices stable/2024-04-01, and its examples).

A power action in a wrong state answers 400 (or, with `wrong_state_answer = "lro"`, 202 and an operation that fails),
as users report the service doing; a refusal (`FakeInstance.refusal`) answers 400 in any state.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlparse

from fakeazure.state import TENANT, FakeWorkspace
from fakeazure.wire import API, ARM, WS, WS_LIST, Route, arm_error, forbidden, json_answer, page

COMPUTE_PAGE_SIZE = 100
WORKSPACE_PAGE_SIZE = 100
# The power actions of compute instances: the state each needs, the state it moves to.
POWER = {"stop": ("Running", "Stopping"), "start": ("Stopped", "Starting")}
WRONG_STATE = {
    "stop": "StopComputeInstanceOnlyAllowedInRunningState",
    "start": "StartComputeInstanceOnlyAllowedInStoppedState",  # as reported by users (vscode-tools-for-ai #2096)
}


class Arm:
    """ARM's answers for the fake's subscriptions and workspaces."""

    def __init__(self, fake):
        self.fake = fake

    def routes(self) -> list[Route]:
        return [
            Route("GET", rf"{ARM}/subscriptions(\?|$)", self._subscriptions),
            Route("GET", rf"{ARM}{WS_LIST}(\?|$)", self._list_workspaces),
            Route("GET", rf"{ARM}{WS}(\?|$)", self._workspace),
            Route("GET", rf"{ARM}{WS}/computes(\?|$)", self._computes),
            Route("GET", rf"{ARM}{WS}/computes/(?P<name>[^/?]+)(\?|$)", self._compute),
            Route("POST", rf"{ARM}{WS}/computes/(?P<name>[^/?]+)/(?P<action>stop|start)(\?|$)", self._power),
            Route("GET", rf"{ARM}/subscriptions/[^/]+/providers/Microsoft\.MachineLearningServices/locations/[^/]+"
                         r"/computeOperationsStatus/(?P<op>[^/?]+)(\?|$)", self._operation),
            # The SDK v1 reads computes through the workspace's regional host too.
            Route("GET", rf"{API}/rp/workspaces{WS}/computes(\?|$)", self._computes),
            Route("GET", rf"{API}/rp/workspaces{WS}/computes/(?P<name>[^/?]+)(\?|$)", self._compute),
        ]

    def find_workspace(self, match) -> FakeWorkspace | None:
        return self.fake.workspaces.get((match.group("sub").lower(), match.group("rg").lower(),
                                         match.group("ws").lower()))

    # ----- subscriptions and workspaces ---------------------------------------------------------------------
    def _subscriptions(self, request, match):
        return json_answer(200, {"value": [{
            "id": f"/subscriptions/{sub}", "subscriptionId": sub, "tenantId": TENANT,
            "displayName": "ML subscription", "state": "Enabled",
            "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01",
                                     "spendingLimit": "Off"},
            "authorizationSource": "RoleBased",
        } for sub in self.fake.subscriptions]})

    def _list_workspaces(self, request, match):
        """`Workspaces_ListBySubscription` / `Workspaces_ListByResourceGroup`, paged with `nextLink`."""
        sub, group = match.group("sub").lower(), (match.group("rg") or "").lower()
        scope = urlparse(request.url).path.split("/providers/")[0]
        known = {key.lower(): value for key, value in self.fake.subscriptions.items()}
        if sub not in known:
            return arm_error(404, "SubscriptionNotFound", f"The subscription '{match.group('sub')}' could not be "
                             "found.")
        if not known[sub]["readable"]:
            return forbidden("Microsoft.MachineLearningServices/workspaces/read", scope)
        found = sorted((ws for ws in self.fake.workspaces.values()
                        if ws.key[0] == sub and (not group or ws.key[1] == group)), key=lambda ws: ws.key)
        if group and not found:  # the fake knows a resource group only by the workspaces in it
            return arm_error(404, "ResourceGroupNotFound", f"Resource group '{match.group('rg')}' could not be "
                             "found.")
        return json_answer(200, page(request, [ws.list_entry() for ws in found], self.fake.workspace_page_size))

    def _workspace(self, request, match):
        workspace = self.find_workspace(match)
        if workspace is None:
            return arm_error(404, "ResourceNotFound", f"The Resource 'Microsoft.MachineLearningServices/workspaces/"
                             f"{match.group('ws')}' under resource group '{match.group('rg')}' was not found.")
        if not workspace.readable:
            return forbidden("Microsoft.MachineLearningServices/workspaces/read", workspace.id)
        storage = f"/subscriptions/{workspace.subscription}/resourceGroups/{workspace.resource_group}/providers"
        return json_answer(200, {
            "id": workspace.id, "name": workspace.name, "type": "Microsoft.MachineLearningServices/workspaces",
            "location": workspace.location, "tags": {}, "identity": {"type": "SystemAssigned"},
            "sku": {"name": "Basic", "tier": "Basic"}, "kind": workspace.kind,
            "properties": {
                "friendlyName": workspace.name, "description": "",
                "workspaceId": "66666666-6666-6666-6666-666666666666",
                "discoveryUrl": f"{API}/discovery", "provisioningState": "Succeeded",
                "storageAccount": f"{storage}/Microsoft.Storage/storageAccounts/stml",
                "keyVault": f"{storage}/Microsoft.KeyVault/vaults/kvml",
                "applicationInsights": f"{storage}/Microsoft.Insights/components/aiml",
                "containerRegistry": None, "hbiWorkspace": False, "publicNetworkAccess": "Enabled",
                "creationTime": "2026-01-01T00:00:00Z", "mlFlowTrackingUri": "",
            },
        })

    # ----- computes -----------------------------------------------------------------------------------------
    def _computes(self, request, match):
        """`Compute_List`, paged with `nextLink`; each entry carries the instance's state and tags."""
        workspace = self.find_workspace(match)
        if workspace is None:
            return arm_error(404, "ResourceNotFound", f"workspace {match.group('ws')} not found")
        if not workspace.readable:
            return forbidden("Microsoft.MachineLearningServices/workspaces/computes/read", workspace.id)
        names = sorted(workspace.instances)
        body = page(request, names, self.fake.compute_page_size)
        if workspace.next_link_loops:  # a broken service: every page says the next one is itself
            body["nextLink"] = request.url
        listed = [workspace.instances[name] for name in body["value"]]
        body["value"] = [instance.payload(workspace.id, workspace.location) for instance in listed]
        for instance in listed:
            instance.settle()
            if instance.changes_after_listing:
                instance.state, instance.changes_after_listing = instance.changes_after_listing, None
        return json_answer(200, body)

    def _compute(self, request, match):
        """`Compute_Get`: one compute, as the list entry."""
        workspace = self.find_workspace(match)
        instance = workspace.instances.get(match.group("name")) if workspace else None
        if instance is None:
            return arm_error(404, "NotFound", f"compute {match.group('name')} not found")
        payload = instance.payload(workspace.id, workspace.location)
        instance.settle()
        return json_answer(200, payload)

    def _power(self, request, match):
        """`Compute_Stop` / `Compute_Start`: the spec documents 202 only; wrong states answer as users report."""
        workspace = self.find_workspace(match)
        action = match.group("action")
        instance = workspace.instances.get(match.group("name")) if workspace else None
        if instance is not None and instance.deleted_before_action:
            del workspace.instances[instance.name]
            instance = None
        if instance is None or instance.compute_type != "ComputeInstance":
            return arm_error(404, "NotFound", "compute instance not found")
        setattr(instance, f"{action}s", getattr(instance, f"{action}s") + 1)
        if instance.power_status == 403:
            return forbidden(f"Microsoft.MachineLearningServices/workspaces/computes/{action}/action",
                             f"{workspace.id}/computes/{instance.name}")
        if instance.power_status is not None:
            return arm_error(instance.power_status, "InternalServerError" if instance.power_status >= 500
                             else "BadRequest", f"the {action} operation failed")
        if instance.refusal is not None:
            return arm_error(400, *instance.refusal)
        needed, moving = POWER[action]
        operation = str(uuid.uuid4())
        location = (f"{ARM}/subscriptions/{workspace.subscription}/providers/Microsoft.MachineLearningServices/"
                    f"locations/{workspace.location}/computeOperationsStatus/{operation}?api-version=2024-04-01")
        if instance.state != needed:
            error = {"code": WRONG_STATE[action], "message": f"{action.capitalize()} Azure ML Compute Instance is "
                     f"only allowed when the instance {instance.name} is in '{needed.lower()}' state"}
            if self.fake.wrong_state_answer == "400":
                return json_answer(400, {"error": error})
            self.fake.operations[operation] = {"status": "Failed", "error": error}
            return 202, {"Azure-AsyncOperation": location, "Location": location}, ""
        instance.state = moving
        self.fake.operations[operation] = {"status": "InProgress"}
        self.fake.accepted.append((self.fake.clock(), workspace.subscription, instance.name, action))
        polling = {"Retry-After": self.fake.accepted_retry_after} if self.fake.accepted_retry_after else {}
        return 202, {"Azure-AsyncOperation": location, "Location": location, **polling}, ""

    def _operation(self, request, match):
        operation = self.fake.operations.get(match.group("op"))
        if operation is None:
            return arm_error(404, "NotFound", "operation not found")
        return json_answer(200, {"name": match.group("op"), **operation})
