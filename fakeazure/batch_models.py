"""The invoke body's models, transcribed from azure-ai-ml (not a dependency of the project): their `_attribute_map`s
(JSON key and type per attribute), `_validation` (required attributes) and `_subtype_map` (the polymorphic inputs),
as `azure/ai/ml/_restclient/v2020_09_01_dataplanepreview/models/_models_py3.py` declares them, so fakeazure.contract
binds a batch endpoint invoke to what the SDK itself would send. Only the models an invoke can reach are here; a
nested model not transcribed fails the test loudly.
"""

# ruff: noqa: RUF012 - the SDK's models declare these maps as class attributes

from __future__ import annotations


class SystemData:
    _attribute_map = {
        "created_by": {"key": "createdBy", "type": "str"},
        "created_by_type": {"key": "createdByType", "type": "str"},
        "created_at": {"key": "createdAt", "type": "iso-8601"},
        "last_modified_by": {"key": "lastModifiedBy", "type": "str"},
        "last_modified_by_type": {"key": "lastModifiedByType", "type": "str"},
        "last_modified_at": {"key": "lastModifiedAt", "type": "iso-8601"},
    }


class ComputeConfiguration:
    _attribute_map = {
        "instance_count": {"key": "instanceCount", "type": "int"},
        "instance_type": {"key": "instanceType", "type": "str"},
        "is_local": {"key": "isLocal", "type": "bool"},
        "location": {"key": "location", "type": "str"},
        "properties": {"key": "properties", "type": "{str}"},
        "target": {"key": "target", "type": "str"},
    }


class DataVersion:
    _validation = {"path": {"required": True}}
    _attribute_map = {
        "dataset_type": {"key": "datasetType", "type": "str"},
        "datastore_id": {"key": "datastoreId", "type": "str"},
        "description": {"key": "description", "type": "str"},
        "is_anonymous": {"key": "isAnonymous", "type": "bool"},
        "path": {"key": "path", "type": "str"},
        "properties": {"key": "properties", "type": "{str}"},
        "tags": {"key": "tags", "type": "{str}"},
    }


class JobEndpoint:
    _attribute_map = {
        "endpoint": {"key": "endpoint", "type": "str"},
        "job_endpoint_type": {"key": "jobEndpointType", "type": "str"},
        "port": {"key": "port", "type": "int"},
        "properties": {"key": "properties", "type": "{str}"},
    }


class JobOutputArtifacts:
    _attribute_map = {
        "datastore_id": {"key": "datastoreId", "type": "str"},
        "path": {"key": "path", "type": "str"},
    }


class JobInput:
    _validation = {"job_input_type": {"required": True}}
    _attribute_map = {
        "description": {"key": "description", "type": "str"},
        "job_input_type": {"key": "jobInputType", "type": "str"},
    }
    _subtype_map = {"job_input_type": {
        "CustomModel": "CustomModelJobInput", "Literal": "LiteralJobInput", "MLFlowModel": "MLFlowModelJobInput",
        "MLTable": "MLTableJobInput", "TritonModel": "TritonModelJobInput", "UriFile": "UriFileJobInput",
        "UriFolder": "UriFolderJobInput",
    }}


class LiteralJobInput(JobInput):
    _validation = {"job_input_type": {"required": True}, "value": {"required": True}}
    _attribute_map = {
        "description": {"key": "description", "type": "str"},
        "job_input_type": {"key": "jobInputType", "type": "str"},
        "value": {"key": "value", "type": "str"},
    }


class _AssetJobInput(JobInput):
    """The asset inputs (CustomModel, MLFlowModel, MLTable, TritonModel, UriFile, UriFolder): AssetJobInput's map."""

    _validation = {"uri": {"required": True}, "job_input_type": {"required": True}}
    _attribute_map = {
        "mode": {"key": "mode", "type": "str"},
        "uri": {"key": "uri", "type": "str"},
        "description": {"key": "description", "type": "str"},
        "job_input_type": {"key": "jobInputType", "type": "str"},
    }


class CustomModelJobInput(_AssetJobInput):
    pass


class MLFlowModelJobInput(_AssetJobInput):
    pass


class MLTableJobInput(_AssetJobInput):
    pass


class TritonModelJobInput(_AssetJobInput):
    pass


class UriFileJobInput(_AssetJobInput):
    pass


class UriFolderJobInput(_AssetJobInput):
    pass


class BatchJob:
    _attribute_map = {
        "compute": {"key": "compute", "type": "ComputeConfiguration"},
        "dataset": {"key": "dataset", "type": "InferenceDataInputBase"},
        "description": {"key": "description", "type": "str"},
        "error_threshold": {"key": "errorThreshold", "type": "int"},
        "input_data": {"key": "inputData", "type": "{JobInput}"},
        "interaction_endpoints": {"key": "interactionEndpoints", "type": "{JobEndpoint}"},
        "logging_level": {"key": "loggingLevel", "type": "str"},
        "max_concurrency_per_instance": {"key": "maxConcurrencyPerInstance", "type": "int"},
        "mini_batch_size": {"key": "miniBatchSize", "type": "long"},
        "name": {"key": "name", "type": "str"},
        "output": {"key": "output", "type": "JobOutputArtifacts"},
        "output_data": {"key": "outputData", "type": "{JobOutputV2}"},
        "output_dataset": {"key": "outputDataset", "type": "DataVersion"},
        "output_file_name": {"key": "outputFileName", "type": "str"},
        "partition_keys": {"key": "partitionKeys", "type": "[str]"},
        "properties": {"key": "properties", "type": "{str}"},
        "provisioning_state": {"key": "provisioningState", "type": "str"},
        "retry_settings": {"key": "retrySettings", "type": "BatchRetrySettings"},
        "status": {"key": "status", "type": "str"},
        "tags": {"key": "tags", "type": "{str}"},
    }


class BatchJobResource:
    _validation = {"properties": {"required": True}}
    _attribute_map = {
        "id": {"key": "id", "type": "str"},
        "name": {"key": "name", "type": "str"},
        "type": {"key": "type", "type": "str"},
        "properties": {"key": "properties", "type": "BatchJob"},
        "system_data": {"key": "systemData", "type": "SystemData"},
    }
