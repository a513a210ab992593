"""A demo in the fake Azure, for `python -m localrun FUNCTION --emulator` and its tests.

One workspace (ws-demo) holds a published pipeline, a two-version pipeline endpoint, a batch endpoint with two
deployments and computes in every state a tick has to tell apart; a second workspace and a second subscription make
the fleet that `AML_COMPUTE_SCOPES=<DEMO_FLEET_SCOPES> python -m localrun StopComputeTimer --emulator` acts on. Never
deployed (fakeazure/ is in .funcignore).
"""

from __future__ import annotations

from datetime import timedelta

from fakeazure.core import FakeAzure, app_settings
from fakeazure.state import SUBSCRIPTION
from shared.clock import now, stamp

DEMO_PIPELINE = "train"
DEMO_ENDPOINT = "nightly-train"
DEMO_BATCH_ENDPOINT = "nightly-score"  # Azure ML v2: a batch endpoint with two pipeline component deployments
DEMO_DEPLOYMENTS = ("pipeline", "pipeline-v2")
SECOND_SUBSCRIPTION = "44444444-4444-4444-4444-444444444444"
DEMO_FLEET_SCOPES = f"/subscriptions/{SUBSCRIPTION},/subscriptions/{SECOND_SUBSCRIPTION}"
DEMO_INSTANCES = (
    # name, state, tags, compute type, VM size (as ARM writes it)
    ("ci-alice", "Running", {}, "ComputeInstance", "STANDARD_DS3_V2"),
    ("ci-bob", "Running", {"owner": "bob"}, "ComputeInstance", "STANDARD_E4DS_V4"),
    ("gpu-carol", "JobRunning", {}, "ComputeInstance", "STANDARD_NC6S_V3"),
    ("ci-dan", "Stopped", {"autostart": "true"}, "ComputeInstance", "STANDARD_D4S_V3"),
    ("ci-erin", "Starting", {}, "ComputeInstance", "STANDARD_DS3_V2"),
    ("ci-frank", "Stopped", {}, "ComputeInstance", "STANDARD_DS3_V2"),
    ("gpu-shared", "Running", {"autostop": "false"}, "ComputeInstance", "STANDARD_NC24ADS_A100_V4"),
    ("cpu-cluster", "Running", {}, "AmlCompute", "STANDARD_DS3_V2"),
)
# subscription, resource group, workspace, kind, its instances
DEMO_FLEET = (
    (SUBSCRIPTION, "rg-research", "ws-research", "Default",
     (("ci-ravi", "Running", {}), ("gpu-research", "Running", {"autostop": "false"}),
      ("ci-sara", "Stopped", {"autostart": "true"}))),
    (SECOND_SUBSCRIPTION, "rg-prod", "ws-prod", "Default",
     (("ci-ops", "Running", {}), ("ci-night", "JobRunning", {}))),
    (SECOND_SUBSCRIPTION, "rg-prod", "ws-hub", "Hub", ()),
)


def demo_azure(named: dict[str, set[str]] | None = None) -> FakeAzure:
    """The demo: ws-demo with pipelines and mixed computes, and the rest of a two-subscription fleet; plus a
    published pipeline, pipeline endpoint or batch endpoint (with every deployment named) for every one `named`
    names (by its pipelines.json key)."""
    fake = FakeAzure()
    named = named or {}
    for pipeline_id in sorted(named.get("pipeline_id", ())):
        fake.add_published_pipeline(f"demo-{pipeline_id[:8]}", pipeline_id=pipeline_id)
    for name in sorted(named.get("pipeline_endpoint", set()) - {DEMO_ENDPOINT}):
        fake.add_pipeline_endpoint(name, {"0": fake.add_published_pipeline(f"{name}-v0")})
    for name in sorted(named.get("batch_endpoint", set()) | {DEMO_BATCH_ENDPOINT}):
        fake.add_batch_endpoint(name, (*DEMO_DEPLOYMENTS, *sorted(named.get("deployment", set()) -
                                                                  set(DEMO_DEPLOYMENTS))))
    fake.add_published_pipeline(DEMO_PIPELINE)
    first = fake.add_published_pipeline(f"{DEMO_ENDPOINT}-v1")
    second = fake.add_published_pipeline(f"{DEMO_ENDPOINT}-v2")
    fake.add_pipeline_endpoint(DEMO_ENDPOINT, {"0": first, "1": second}, default_version="1")
    for name, state, tags, compute_type, size in DEMO_INSTANCES:
        fake.add_instance(name, state, tags, compute_type).vm_size = size
    for subscription, group, name, kind, instances in DEMO_FLEET:
        workspace = fake.add_workspace(subscription, group, name, kind=kind)
        for instance, state, tags in instances:
            workspace.add_instance(instance, state, tags)
    # The app ran the nightly pipeline five and four days ago, then was down: a backfill has something to find.
    latest = now().replace(hour=3, minute=0, second=0, microsecond=0)
    if latest > now():
        latest -= timedelta(days=1)
    for days in (5, 4):
        tick = stamp(latest - timedelta(days=days))
        fake.add_run("scheduled-pipeline-runs", second, ["Completed"],
                     {"started_by": "aml-timer-functions", "schedule_tick": tick, "function": "RunPipelineTimer"})
    return fake


def demo_identity(fake: FakeAzure) -> dict[str, str]:
    """Who signs in and which workspace, in the demo: its service principal and ws-demo."""
    keep = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AML_SUBSCRIPTION_ID", "AML_RESOURCE_GROUP", "AML_WORKSPACE_NAME")
    return {**{name: app_settings()[name] for name in keep}, "AZURE_CLIENT_SECRET": fake.secret,
            "AML_CLOUD": "AzureCloud"}


def demo_defaults(named_target: bool) -> dict[str, str]:
    """The demo's behaviour settings, for what a configuration leaves unset: the functions' schedules, and the demo
    endpoint unless the configuration names a target of its own (or has pipelines.json)."""
    from shared import jobs

    schedules = {name: value for name, value in app_settings().items() if name.endswith("_SCHEDULE")}
    if named_target or jobs.JOBS_FILE.exists():
        return schedules
    return {**schedules, "RUN_PIPELINE_ENDPOINT_NAME": DEMO_ENDPOINT}


def demo_settings(fake: FakeAzure) -> dict[str, str]:
    """App settings that point the app at `fake`: its service principal, workspace and pipeline endpoint."""
    if DEMO_ENDPOINT not in fake.endpoints:
        raise ValueError(f"the fake has no pipeline endpoint {DEMO_ENDPOINT!r}: build it with demo_azure()")
    return {**app_settings(), **demo_identity(fake), "RUN_PIPELINE_ENDPOINT_NAME": DEMO_ENDPOINT}
