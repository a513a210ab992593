"""A fake Azure at the HTTP layer: the tests, bench/ and `python -m localrun --emulator` run the real SDK on it.

It is part of the project ("try it without Azure") but never deployed (.funcignore lists it).
"""

from fakeazure.service import (
    IDENTITY_ENDPOINT,
    IDENTITY_HEADER,
    Call,
    FakeAzure,
    UnexpectedRequest,
    app_settings,
)
from fakeazure.state import (
    CLIENT_ID,
    CLIENT_SECRET,
    RESOURCE_GROUP,
    RUN_STATUSES,
    SUBSCRIPTION,
    TENANT,
    WORKSPACE,
    FakeInstance,
    FakeRun,
    FakeWorkspace,
)

__all__ = [
    "CLIENT_ID", "CLIENT_SECRET", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "RESOURCE_GROUP", "RUN_STATUSES",
    "SUBSCRIPTION", "TENANT", "WORKSPACE", "Call", "FakeAzure", "FakeInstance", "FakeRun", "FakeWorkspace",
    "UnexpectedRequest", "app_settings",
]
