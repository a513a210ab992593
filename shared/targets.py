"""What RunPipelineTimer can submit, one row per kind of target: the key a pipelines.json job names it with, the
app setting that names it in single-pipeline mode, and what a good value looks like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_ENDPOINT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
# Batch endpoint and deployment names: 3-32 letters, digits and '-', starting with a letter and not ending with '-'
# (azure-ai-ml `EndpointConfigurations`: NAME_REGEX_PATTERN, MIN_NAME_LENGTH, MAX_NAME_LENGTH).
_BATCH_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,30}[A-Za-z0-9]$")
_BATCH_HINT = "3-32 letters, digits and '-', starting with a letter and ending with a letter or digit"


@dataclass(frozen=True)
class TargetKind:
    key: str  # in a pipelines.json job
    setting: str  # the RUN_PIPELINE_* setting of single-pipeline mode
    pattern: re.Pattern
    hint: str  # what a good value looks like
    what: str  # for the message that asks for exactly one target
    sdk_v1: bool = True  # resolved and submitted through the SDK v1 (else over REST alone)


PIPELINE_ID = TargetKind("pipeline_id", "RUN_PIPELINE_ID", _GUID, "a published pipeline id (a GUID)",
                         "a published pipeline id")
PIPELINE_ENDPOINT = TargetKind("pipeline_endpoint", "RUN_PIPELINE_ENDPOINT_NAME", _ENDPOINT, "a pipeline endpoint name",
                               "a pipeline endpoint name, whose default version is submitted")
# Azure ML v2: a batch endpoint's pipeline component deployment (its default one, or the one named).
BATCH_ENDPOINT = TargetKind("batch_endpoint", "RUN_PIPELINE_BATCH_ENDPOINT", _BATCH_NAME,
                            f"a batch endpoint name ({_BATCH_HINT})",
                            "a batch endpoint name of Azure ML v2, whose default deployment is invoked", sdk_v1=False)
KINDS = (PIPELINE_ID, PIPELINE_ENDPOINT, BATCH_ENDPOINT)
# The deployment of a batch endpoint to invoke instead of its default one.
DEPLOYMENT_SETTING, DEPLOYMENT_KEY = "RUN_PIPELINE_BATCH_DEPLOYMENT", "deployment"
DEPLOYMENT_PATTERN = _BATCH_NAME
DEPLOYMENT_HINT = f"a deployment name of the batch endpoint ({_BATCH_HINT})"


@dataclass(frozen=True)
class Target:
    """One job's target: its kind and the name or id that names it (and, for a batch endpoint, the deployment to
    invoke; None: the endpoint's default)."""

    kind: TargetKind
    value: str
    deployment: str | None = None
