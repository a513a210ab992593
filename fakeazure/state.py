"""What the fake Azure holds: subscriptions, workspaces, compute instances, published pipelines and runs.

Payload shapes follow the ARM REST spec (azure-rest-api-specs, Microsoft.MachineLearningServices 2024-04-01
examples) and the SDK's run-history models (`RunDto`); only the fields the SDK or the app read are filled.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

TENANT = "11111111-1111-1111-1111-111111111111"
CLIENT_ID = "22222222-2222-2222-2222-222222222222"
CLIENT_SECRET = "fake-Secret-value-9f8e7d6c5b4a"  # noqa: S105 - the fake's own secret, asserted never to leak
SUBSCRIPTION = "33333333-3333-3333-3333-333333333333"
RESOURCE_GROUP = "rg-ml"
WORKSPACE = "ws-demo"
REGION = "westeurope"

# Every status the SDK knows for a run (azureml/_restclient/constants.py, RunStatus.list()).
RUN_STATUSES = ("NotStarted", "Queued", "Preparing", "Provisioning", "Starting", "Running", "Unapproved",
                "NotResponding", "Pausing", "Paused", "CancelRequested", "Finalizing", "Completed", "Failed",
                "Canceled")
# Compute instance states (ARM spec, ComputeInstanceState).
INSTANCE_STATES = ("Creating", "CreateFailed", "Deleting", "Running", "Restarting", "JobRunning", "SettingUp",
                   "SetupFailed", "Starting", "Stopped", "Stopping", "UserSettingUp", "UserSetupFailed", "Unknown",
                   "Unusable")


def now_iso() -> str:
    """Now, as run history writes times: seven fractional digits (.NET ticks) and `Z`."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def workspace_id(subscription: str, resource_group: str, name: str) -> str:
    return (f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{name}")


@dataclass
class FakeInstance:
    """A compute (an instance unless `compute_type` says otherwise) and how the service treats power actions."""

    name: str
    state: str = "Running"
    tags: dict = field(default_factory=dict)
    compute_type: str = "ComputeInstance"
    power_status: int | None = None  # answer stop/start with this status instead of acting
    refusal: tuple[str, str] | None = None  # (code, message): refuse power actions with 400 in any state
    changes_after_listing: str | None = None  # someone moves it to this state right after a list reported it
    deleted_before_action: bool = False  # someone deletes it just before a power action reaches it
    vm_size: str = "STANDARD_NC6S_V3"  # as ARM writes it: upper-cased
    stops: int = 0
    starts: int = 0

    def payload(self, ws_id: str, location: str = REGION) -> dict:
        """The compute as ARM's Compute_List and Compute_Get answer it; it is in its workspace's region."""
        properties = {
            "computeType": self.compute_type,
            "computeLocation": location,
            "provisioningState": "Succeeded",
            "description": None,
            "createdOn": "2026-01-05T09:00:00.000Z",
            "modifiedOn": "2026-01-05T09:00:00.000Z",
            "resourceId": None,
            "provisioningErrors": None,
            "isAttachedCompute": False,
            "disableLocalAuth": True,
        }
        if self.compute_type == "ComputeInstance":
            properties["properties"] = {
                "vmSize": self.vm_size,
                "state": self.state,
                "applicationSharingPolicy": "Personal",
                "sshSettings": {"sshPublicAccess": "Disabled", "adminUserName": "azureuser", "sshPort": 50000},
                "subnet": None,
                "connectivityEndpoints": {"publicIpAddress": "20.0.0.1", "privateIpAddress": "10.0.0.4"},
                "applications": [],
                "createdBy": {"userName": "Alice", "userOrgId": TENANT, "userId": "44444444"},
                "errors": None,
                "personalComputeInstanceSettings": None,
                "lastOperation": None,
            }
        else:
            properties["properties"] = {
                "vmSize": "STANDARD_DS3_V2", "vmPriority": "Dedicated",
                "scaleSettings": {"maxNodeCount": 4, "minNodeCount": 0, "nodeIdleTimeBeforeScaleDown": "PT120S"},
                "currentNodeCount": 0, "targetNodeCount": 0, "allocationState": "Steady",
                "nodeStateCounts": {}, "errors": None, "subnet": None, "remoteLoginPortPublicAccess": "Enabled",
                "osType": "Linux", "enableNodePublicIp": True,
            }
        return {
            "id": f"{ws_id}/computes/{self.name}",
            "name": self.name,
            "type": "Microsoft.MachineLearningServices/workspaces/computes",
            "location": location,
            "tags": self.tags or None,
            "properties": properties,
        }

    def settle(self) -> None:
        """A transition the service finishes between two reads."""
        if self.state == "Stopping" and self.stops:
            self.state = "Stopped"
        elif self.state == "Starting" and self.starts:
            self.state = "Running"


@dataclass
class FakeWorkspace:
    """One workspace: its computes, and how ARM answers for it."""

    subscription: str
    resource_group: str
    name: str
    location: str = REGION
    kind: str = "Default"
    readable: bool = True  # False: the identity has no role on it (403 on the workspace GET and compute list)
    next_link_loops: bool = False  # True: its compute list's nextLink points at the page itself, forever
    instances: dict[str, FakeInstance] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return workspace_id(self.subscription, self.resource_group, self.name)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.subscription.lower(), self.resource_group.lower(), self.name.lower()

    def add_instance(self, name: str, state: str = "Running", tags: dict | None = None,
                     compute_type: str = "ComputeInstance") -> FakeInstance:
        if state not in INSTANCE_STATES:
            raise ValueError(f"{state!r} is not a state ARM gives a compute instance: {INSTANCE_STATES}")
        instance = FakeInstance(name, state, dict(tags or {}), compute_type)
        self.instances[name] = instance
        return instance

    def list_entry(self) -> dict:
        """The workspace as ARM's list calls return it (examples/Workspace/listBySubscription.json)."""
        return {"id": self.id, "name": self.name, "type": "Microsoft.MachineLearningServices/workspaces",
                "location": self.location, "kind": self.kind, "tags": {},
                "properties": {"friendlyName": self.name, "discoveryUrl": f"https://{self.location}.api.azureml.ms/"
                               "discovery", "provisioningState": "Succeeded"}}


@dataclass
class FakeRun:
    run_id: str
    experiment: str
    pipeline_id: str
    parameters: dict
    tags: dict
    statuses: list[str]
    created: str = field(default_factory=now_iso)
    properties: dict = field(default_factory=dict)
    submission: dict = field(default_factory=dict)  # the bound submit body (PipelineSubmissionInfo)
    reads: int = 0

    @property
    def status(self) -> str:
        return self.statuses[min(self.reads, len(self.statuses) - 1)]

    def dto(self) -> dict:
        """The run as run history returns it (the SDK's RunDto, camelCase keys)."""
        return {
            "runId": self.run_id, "rootRunId": self.run_id, "runNumber": 1, "experimentId": self.experiment,
            "createdUtc": self.created, "startTimeUtc": self.created, "status": self.status,
            "runType": "azureml.PipelineRun", "tags": dict(self.tags), "properties": dict(self.properties),
            "parentRunId": None, "name": None, "displayName": self.run_id, "hidden": False,
        }


def new_run(experiment: str, pipeline_id: str, statuses: list[str], tags: dict | None = None,
            parameters: dict | None = None) -> FakeRun:
    return FakeRun(str(uuid.uuid4()), experiment, pipeline_id, dict(parameters or {}), dict(tags or {}),
                   list(statuses),
                   properties={"azureml.pipelineid": pipeline_id, "azureml.runsource": "azureml.PipelineRun"})
