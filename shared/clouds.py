"""The Azure clouds the app runs in (AML_CLOUD), each one record of the endpoints the app talks to.

Endpoints as azure-ai-ml lists them per cloud (`azure/ai/ml/_azure_environments.py`: active_directory,
resource_manager, aml_resource_id), the ARM audience the SDK v1 asks tokens for (its vendored azure-cli cloud's
`active_directory_resource_id`), and the studio each cloud's portal links to.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cloud:
    name: str
    login: str  # Microsoft Entra ID, where tokens come from
    resource_manager: str  # ARM, and the audience of its tokens
    ml_audience: str  # the audience of Azure ML's data-plane tokens (batch endpoint scoring)
    studio: str  # Azure ML studio, for the links in the log lines
    sdk_arm_audience: str  # ARM's older audience, the one the SDK v1 asks for (ARM and AML take both)


CLOUDS = (
    Cloud("AzureCloud", "https://login.microsoftonline.com", "https://management.azure.com", "https://ml.azure.com",
          "https://ml.azure.com", "https://management.core.windows.net/"),
    Cloud("AzureChinaCloud", "https://login.chinacloudapi.cn", "https://management.chinacloudapi.cn",
          "https://ml.azure.cn", "https://studio.ml.azure.cn", "https://management.core.chinacloudapi.cn/"),
    Cloud("AzureUSGovernment", "https://login.microsoftonline.us", "https://management.usgovcloudapi.net",
          "https://ml.azure.us", "https://ml.azure.us", "https://management.core.usgovcloudapi.net/"),
)
DEFAULT = CLOUDS[0]


def cloud_named(name: str) -> Cloud | None:
    """The cloud of an AML_CLOUD value (case-insensitive), or None."""
    return next((cloud for cloud in CLOUDS if cloud.name.lower() == name.lower()), None)
