"""What RunPipelineTimer can submit, one row per kind of target: the key a pipelines.json job names it with, the
app setting that names it in single-pipeline mode, and what a good value looks like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_ENDPOINT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")


@dataclass(frozen=True)
class TargetKind:
    key: str  # in a pipelines.json job
    setting: str  # the RUN_PIPELINE_* setting of single-pipeline mode
    pattern: re.Pattern
    hint: str  # what a good value looks like
    what: str  # for the message that asks for exactly one target


PIPELINE_ID = TargetKind("pipeline_id", "RUN_PIPELINE_ID", _GUID, "a published pipeline id (a GUID)",
                         "a published pipeline id")
PIPELINE_ENDPOINT = TargetKind("pipeline_endpoint", "RUN_PIPELINE_ENDPOINT_NAME", _ENDPOINT, "a pipeline endpoint name",
                               "a pipeline endpoint name whose default version is submitted")
KINDS = (PIPELINE_ID, PIPELINE_ENDPOINT)


@dataclass(frozen=True)
class Target:
    """One job's target: its kind and the name or id that names it."""

    kind: TargetKind
    value: str
