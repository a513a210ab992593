"""A fake Azure at the HTTP layer for the tests and the local emulator (never deployed)."""

from tests.fakeazure.service import (
    CLIENT_ID,
    CLIENT_SECRET,
    IDENTITY_ENDPOINT,
    IDENTITY_HEADER,
    RESOURCE_GROUP,
    SUBSCRIPTION,
    TENANT,
    WORKSPACE,
    FakeAzure,
    FakeInstance,
    FakeRun,
    app_settings,
)

__all__ = [
    "CLIENT_ID", "CLIENT_SECRET", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "RESOURCE_GROUP", "SUBSCRIPTION",
    "TENANT", "WORKSPACE", "FakeAzure", "FakeInstance", "FakeRun", "app_settings",
]
