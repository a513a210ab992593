"""A fake Azure at the HTTP layer: the tests, bench/ and `python -m localrun --emulator` run the real SDK on it.

One module per service, as shared/ has one per Azure concern: `entra` (sign-in), `arm` (workspaces, computes),
`pipelines` (the SDK v1 pipelines service), `history` (run history); `core` holds the state, seeding, faults and
the dispatcher; `wire` what they share; `contract` and `odata` the services' model binding and query language.

It is part of the project ("try it without Azure") but never deployed (.funcignore lists it).
"""

from fakeazure.core import Call, FakeAzure, UnexpectedRequest, app_settings
from fakeazure.entra import IDENTITY_ENDPOINT, IDENTITY_HEADER
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
