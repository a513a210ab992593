"""A demo workspace in the fake Azure, for `python -m localrun FUNCTION --emulator` and its tests.

Never deployed (fakeazure/ is in .funcignore).
"""

from __future__ import annotations

from fakeazure.service import FakeAzure, app_settings

DEMO_PIPELINE = "train"
DEMO_ENDPOINT = "nightly-train"
DEMO_INSTANCES = (
    # name, state, tags, compute type
    ("ci-alice", "Running", {}, "ComputeInstance"),
    ("ci-bob", "Running", {"owner": "bob"}, "ComputeInstance"),
    ("gpu-carol", "JobRunning", {}, "ComputeInstance"),
    ("ci-dan", "Stopped", {}, "ComputeInstance"),
    ("ci-erin", "Starting", {}, "ComputeInstance"),
    ("gpu-shared", "Running", {"autostop": "false"}, "ComputeInstance"),
    ("cpu-cluster", "Running", {}, "AmlCompute"),
)


def demo_azure() -> FakeAzure:
    """A fake Azure holding one workspace: a published pipeline, a two-version endpoint and mixed computes."""
    fake = FakeAzure()
    fake.add_published_pipeline(DEMO_PIPELINE)
    first = fake.add_published_pipeline(f"{DEMO_ENDPOINT}-v1")
    second = fake.add_published_pipeline(f"{DEMO_ENDPOINT}-v2")
    fake.add_pipeline_endpoint(DEMO_ENDPOINT, {"0": first, "1": second}, default_version="1")
    for name, state, tags, compute_type in DEMO_INSTANCES:
        fake.add_instance(name, state, tags, compute_type)
    return fake


def demo_settings(fake: FakeAzure) -> dict[str, str]:
    """App settings that point the app at `fake`: its service principal, workspace and pipeline endpoint."""
    if DEMO_ENDPOINT not in fake.endpoints:
        raise ValueError(f"the fake has no pipeline endpoint {DEMO_ENDPOINT!r}: build it with demo_azure()")
    return {**app_settings(), "AZURE_CLIENT_SECRET": fake.secret, "AML_CLOUD": "AzureCloud",
            "RUN_PIPELINE_ENDPOINT_NAME": DEMO_ENDPOINT}
