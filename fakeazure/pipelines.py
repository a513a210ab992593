"""The AML pipelines service (SDK v1) as the fake answers it: discovery, data types, published pipelines, pipeline
endpoints and their submits, on the workspace's regional host.

A submit body binds to the SDK's own `PipelineSubmissionInfo` (fakeazure.contract); the run it creates appears in
run history. Its tags are kept only while `stores_submit_tags` is true (the service does not promise to keep them).
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlparse

from fakeazure.contract import bind
from fakeazure.state import new_run
from fakeazure.wire import API, WS, Route, arm_error, json_answer

DATA_TYPES = ("AnyFile", "AzureBlobReference", "AzureDataLakeReference", "AzureFilesReference",
              "AzureSqlDatabaseReference", "AzurePostgresDatabaseReference", "AzureDataLakeGen2Reference",
              "AzureMLDataset", "AzureMySqlDatabaseReference", "DBFSReference", "AnyDirectory")


class Pipelines:
    """Published pipelines and pipeline endpoints of the fake's default workspace."""

    def __init__(self, fake):
        self.fake = fake

    def routes(self) -> list[Route]:
        pipes = rf"{API}/pipelines/v1\.0{WS}"
        return [
            Route("GET", rf"{API}/discovery(\?|$)", self._discovery, None),
            Route("GET", rf"{pipes}/DataTypes(\?|$)", self._data_types),
            Route("GET", rf"{pipes}/Pipelines/(?P<id>[^/?]+)(\?|$)", self._pipeline),
            Route("GET", rf"{pipes}/PipelineEndpoints/Name(\?|$)", self._endpoint_by_name),
            Route("POST", rf"{pipes}/PipelineRuns/PipelineSubmit/(?P<id>[^/?]+)(\?|$)", self._submit),
            Route("POST", rf"{pipes}/PipelineRuns/PipelineEndpointSubmit/Id/(?P<id>[^/?]+)(\?|$)",
                  self._submit_endpoint),
        ]

    def _discovery(self, request, match):
        services = ("api", "catalog", "experimentation", "gallery", "hyperdrive", "labeling", "modelmanagement",
                    "pipelines")
        return json_answer(200, {**{name: API for name in services}, "history": self.fake.history_host,
                                 "studio": "https://ml.azure.com"})

    def _submit_url(self, kind: str, entity_id: str) -> str:
        return f"{API}/pipelines/v1.0{self.fake.workspace.id}/PipelineRuns/{kind}/{entity_id}"

    def _data_types(self, request, match):
        # A real workspace already holds the default data types; the SDK would POST any that were missing.
        return json_answer(200, [{"Id": name, "Name": name, "Description": name, "IsDirectory": name == "AnyDirectory",
                                  "ParentDataTypeIds": []} for name in DATA_TYPES])

    def _pipeline_entity(self, pipeline_id: str) -> dict:
        pipeline = self.fake.published[pipeline_id]
        return {"Id": pipeline_id, "Name": pipeline["name"], "Description": pipeline["name"], "Version": "1",
                "GraphId": str(uuid.uuid5(uuid.NAMESPACE_URL, pipeline_id)), "TotalRunSteps": 2,
                "EntityStatus": pipeline["status"], "Url": self._submit_url("PipelineSubmit", pipeline_id),
                "ContinueRunOnStepFailure": False, "EnableNotification": pipeline["notify"],
                "CreatedDate": "2026-01-02T00:00:00Z", "LastModifiedDate": "2026-01-02T00:00:00Z"}

    def _pipeline(self, request, match):
        if match.group("id") not in self.fake.published:
            return arm_error(404, "EntityNotFound", f"Pipeline {match.group('id')} not found")
        return json_answer(200, self._pipeline_entity(match.group("id")))

    def _endpoint_by_name(self, request, match):
        name = parse_qs(urlparse(request.url).query).get("Name", [""])[0]
        endpoint = self.fake.endpoints.get(name)
        if endpoint is None:
            return arm_error(404, "EntityNotFound", f"PipelineEndpoint {name} not found")
        return json_answer(200, {
            "Id": endpoint["id"], "Name": name, "Description": "", "DefaultVersion": endpoint["default"],
            "PipelineVersionList": [{"Version": v, "PipelineId": p} for v, p in endpoint["versions"].items()],
            "Url": self._submit_url("PipelineEndpointSubmit/Id", endpoint["id"]),
            "EntityStatus": endpoint["status"], "SwaggerUrl": "", "tags": {},
        })

    def _create_run(self, request, pipeline_id: str):
        # The SDK's own model (imported when a submit arrives: a tick that submits nothing never loads the SDK).
        from azureml.pipeline.core._restclients.aeva.models import PipelineSubmissionInfo

        submission = bind(request.body, PipelineSubmissionInfo)
        if not submission.get("experiment_name"):
            return arm_error(400, "BadRequest", "ExperimentName is required")
        tags = submission.get("tags") or {} if self.fake.stores_submit_tags else {}
        run = new_run(submission["experiment_name"], pipeline_id, self.fake.run_statuses, tags,
                      submission.get("parameter_assignments"))
        run.submission = submission
        self.fake.runs[run.run_id] = run
        self.fake.experiments.add(run.experiment)
        # PipelineRunEntity (the SDK's model of this answer)
        return json_answer(200, {"Id": run.run_id, "RunHistoryExperimentName": run.experiment,
                                 "PipelineId": pipeline_id, "Status": {"StatusCode": 0}, "tags": dict(run.tags),
                                 "ParameterAssignments": run.parameters})

    def _submit(self, request, match):
        pipeline_id = match.group("id")
        if pipeline_id not in self.fake.published:
            return arm_error(404, "EntityNotFound", "Pipeline not found")
        return self._create_run(request, pipeline_id)

    def _submit_endpoint(self, request, match):
        endpoint = next((e for e in self.fake.endpoints.values() if e["id"] == match.group("id")), None)
        if endpoint is None:
            return arm_error(404, "EntityNotFound", "PipelineEndpoint not found")
        return self._create_run(request, endpoint["versions"][endpoint["default"]])
