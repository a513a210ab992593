"""Every request the app builds by hand, checked on the wire against the source it follows.

Each test names, in its docstring, the SDK model, SDK call or REST spec the request follows, and asserts the exact
URL and body the app sent. The fake binds those bodies to the same models and answers 400 for a wrong type, so a
request that drifts from its source fails twice: here, and in every test that uses it.
"""

from __future__ import annotations

import json

from fakeazure import IDENTITY_ENDPOINT, IDENTITY_HEADER, SUBSCRIPTION, WORKSPACE
from shared.settings import DEFAULT_EXPERIMENT
from tests.conftest import TICK, entry_point, make_timer

run_pipeline_timer = entry_point("RunPipelineTimer")
stop_compute_timer = entry_point("StopComputeTimer")

WS_ID = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ml/providers/Microsoft.MachineLearningServices"
         f"/workspaces/{WORKSPACE}")
API = "https://westeurope.api.azureml.ms"
HISTORY = f"{API}/history/v1.0{WS_ID}/experiments/{DEFAULT_EXPERIMENT}"
ARM = "https://management.azure.com"
TICK_FILTER = ('(((Tags/started_by eq "aml-timer-functions") and (Tags/schedule_tick eq "2026-11-21T03:00:00Z")) '
               "and (ParentRunId eq null))")


def only(calls):
    assert len(calls) == 1, calls
    return calls[0]


def test_run_history_query_is_the_sdks_query_params_dto(fake, settings, timer):
    """QueryParamsDto (azureml/_restclient/models/query_params_dto.py): filter str, orderby str, top int;
    RunOperations.get_by_query: POST .../experiments/{exp}/runs:query; filter clauses from the SDK's OData helpers
    (azureml/_restclient/_odata/constants.py: TAG_EQ_FORMAT_STR, NO_CHILD_RUNS_QUERY)."""
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline())

    run_pipeline_timer(timer)

    call = only(fake.requests_to("runs:query", "POST"))
    assert call.url == f"{HISTORY}/runs:query"
    assert call.body == {"filter": TICK_FILTER, "orderby": "CreatedUtc desc", "top": 1}


def test_active_run_query_pages_with_the_continuation_token(fake, settings, timer):
    """QueryParamsDto.continuation_token (JSON `continuationToken`) carries PaginatedRunDto.continuationToken back;
    the property filter is PROP_EQ_FORMAT_STR on `azureml.pipelineid`."""
    pipeline_id = fake.add_published_pipeline()
    for _ in range(6):
        fake.add_run(DEFAULT_EXPERIMENT, pipeline_id, ["Completed"])
    fake.runs_page_size = 2
    settings(RUN_PIPELINE_ID=pipeline_id, RUN_PIPELINE_SKIP_IF_ACTIVE="true")

    run_pipeline_timer(timer)

    bodies = [call.body for call in fake.requests_to("runs:query", "POST")]
    active = f'((Properties/azureml.pipelineid eq "{pipeline_id}") and (ParentRunId eq null))'
    assert bodies[0] == {"filter": TICK_FILTER, "orderby": "CreatedUtc desc", "top": 1}, "the tick's own run first"
    assert bodies[1:4] == [{"filter": active, "orderby": "CreatedUtc desc", "top": 5},
                           {"filter": active, "orderby": "CreatedUtc desc", "top": 3, "continuationToken": "2"},
                           {"filter": active, "orderby": "CreatedUtc desc", "top": 1, "continuationToken": "4"}]


def test_submit_of_a_published_pipeline_is_the_sdks_pipeline_submission_info(fake, settings, timer):
    """PipelineSubmissionInfo (azureml/pipeline/core/_restclients/aeva/models): the fields
    `_AevaPublishedPipelineProvider.submit` fills (ExperimentName, Description = the experiment, RunSource and
    RunType `SDK`, ParameterAssignments as strings, EnableNotification from the published pipeline), plus `tags`;
    POST PublishedPipeline.endpoint = .../PipelineRuns/PipelineSubmit/{id}."""
    pipeline_id = fake.add_published_pipeline("train", enable_notification=True)
    settings(RUN_PIPELINE_ID=pipeline_id, RUN_PIPELINE_PARAMETERS='{"epochs": 3, "mode": "full"}')

    run_pipeline_timer(timer)

    call = only(fake.requests_to("PipelineSubmit", "POST"))
    assert call.url == f"{API}/pipelines/v1.0{WS_ID}/PipelineRuns/PipelineSubmit/{pipeline_id}"
    assert call.body == {
        "ExperimentName": DEFAULT_EXPERIMENT, "Description": DEFAULT_EXPERIMENT, "RunSource": "SDK", "RunType": "SDK",
        "ParameterAssignments": {"epochs": "3", "mode": "full"}, "EnableNotification": True,
        "tags": {"started_by": "aml-timer-functions", "schedule_tick": "2026-11-21T03:00:00Z",
                 "function": "RunPipelineTimer", "past_due": "false", "pipeline_id": pipeline_id,
                 "published_pipeline": "train"},
    }


def test_submit_to_a_pipeline_endpoint_sends_no_notification_flag(fake, settings, timer):
    """`_AevaPipelineEndpointProvider.submit` builds PipelineSubmissionInfo without EnableNotification;
    POST PipelineEndpoint.endpoint = .../PipelineRuns/PipelineEndpointSubmit/Id/{endpoint id}."""
    pipeline_id = fake.add_published_pipeline("v1", enable_notification=True)
    endpoint_id = fake.add_pipeline_endpoint("nightly", {"0": pipeline_id})
    settings(RUN_PIPELINE_ENDPOINT_NAME="nightly")

    run_pipeline_timer(timer)

    call = only(fake.requests_to("PipelineEndpointSubmit", "POST"))
    assert call.url == f"{API}/pipelines/v1.0{WS_ID}/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint_id}"
    assert set(call.body) == {"ExperimentName", "Description", "RunSource", "RunType", "ParameterAssignments", "tags"}


def test_setting_tags_is_the_sdks_create_run_dto_patch(fake, settings, timer):
    """Run.set_tags -> RunHistoryFacade.set_tags -> RunOperations.patch: PATCH .../runs/{id} with a CreateRunDto
    holding runId and tags (azureml/_restclient/models/create_run_dto.py)."""
    fake.stores_submit_tags = False
    pipeline_id = fake.add_published_pipeline("train")
    settings(RUN_PIPELINE_ID=pipeline_id)

    run_pipeline_timer(timer)

    [run] = fake.runs.values()
    call = only(fake.requests_to("/runs/", "PATCH"))
    assert call.url == f"{HISTORY}/runs/{run.run_id}"
    assert call.body == {"runId": run.run_id, "tags": {
        "started_by": "aml-timer-functions", "schedule_tick": "2026-11-21T03:00:00Z", "function": "RunPipelineTimer",
        "past_due": "false", "pipeline_id": pipeline_id, "published_pipeline": "train"}}


def test_waiting_reads_the_run_from_run_history(fake, settings, timer, pipeline_clock):
    """RunOperations.get: GET .../experiments/{exp}/runs/{id}, no body; RunDto.status."""
    fake.run_statuses = ["Running", "Completed"]
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline(), RUN_PIPELINE_WAIT_MINUTES="5")

    run_pipeline_timer(timer)

    [run] = fake.runs.values()
    calls = fake.requests_to(r"/runs/[^:]+$", "GET")
    assert {call.url for call in calls} == {f"{HISTORY}/runs/{run.run_id}"} and len(calls) == 2
    assert all(call.body is None for call in calls)


def test_compute_list_and_stop_are_the_arm_operations(fake, settings, timer):
    """azure-rest-api-specs Microsoft.MachineLearningServices stable/2024-04-01: Compute_List
    (GET .../workspaces/{ws}/computes) and Compute_Stop (POST .../computes/{name}/stop, no body, 202)."""
    fake.add_instance("ci-a", "Running")
    settings()

    stop_compute_timer(make_timer(TICK))

    assert only(fake.requests_to("/computes", "GET")).url == f"{ARM}{WS_ID}/computes?api-version=2024-04-01"
    stop = only(fake.requests_to("/stop", "POST"))
    assert (stop.url, stop.body) == (f"{ARM}{WS_ID}/computes/ci-a/stop?api-version=2024-04-01", None)


def test_a_refused_stop_reads_the_instance_with_compute_get(fake, settings, timer):
    """Compute_Get (GET .../computes/{name}, 2024-04-01): after a 4xx the instance's state decides."""
    fake.add_instance("ci-a", "Running").changes_after_listing = "Stopped"
    settings()

    stop_compute_timer(timer)

    get = only(fake.requests_to(r"/computes/ci-a\?", "GET"))
    assert (get.url, get.body) == (f"{ARM}{WS_ID}/computes/ci-a?api-version=2024-04-01", None)


def test_managed_identity_token_request_is_the_2019_08_01_protocol(fake, settings, timer, monkeypatch):
    """App Service / Functions managed identity REST protocol (learn.microsoft.com, "How to use managed identities
    for App Service and Azure Functions", REST endpoint reference): GET IDENTITY_ENDPOINT?resource=...
    &api-version=2019-08-01[&client_id=...] with the X-IDENTITY-HEADER header. The compute functions ask for ARM's
    resource as azure-identity does (its scope `https://management.azure.com/.default` less `/.default`)."""
    monkeypatch.setenv("IDENTITY_ENDPOINT", IDENTITY_ENDPOINT)
    monkeypatch.setenv("IDENTITY_HEADER", IDENTITY_HEADER)
    fake.add_instance("ci-a", "Running")
    settings(AZURE_CLIENT_SECRET=None, AZURE_TENANT_ID=None, AZURE_CLIENT_ID=None)

    stop_compute_timer(timer)

    urls = {call.url for call in fake.requests_to("msi/token")}
    assert urls == {f"{IDENTITY_ENDPOINT}?resource=https%3A%2F%2Fmanagement.azure.com&api-version=2019-08-01"}


def test_bodies_sent_are_json_objects_and_nothing_else(fake, settings, timer):
    """Every POST and PATCH the app builds carries a JSON object (what the services' model binding expects) or
    nothing (ARM's power actions)."""
    fake.stores_submit_tags = False
    fake.add_instance("ci-a", "Running")
    settings(RUN_PIPELINE_ID=fake.add_published_pipeline())

    run_pipeline_timer(timer)
    stop_compute_timer(timer)

    sent = [call for call in fake.requests if call.method in ("POST", "PATCH") and "login." not in call.url]
    assert sent and all(isinstance(call.body, dict) or (call.body is None and call.url.split("?")[0].endswith("/stop"))
                        for call in sent), json.dumps([c._asdict() for c in sent], default=str)[:500]


def test_start_is_the_arm_compute_start_operation(fake, settings, timer):
    """azure-rest-api-specs Microsoft.MachineLearningServices stable/2024-04-01: Compute_Start
    (POST .../computes/{name}/start, no body, 202)."""
    fake.add_instance("ci-a", "Stopped", {"autostart": "true"})
    settings()

    entry_point("StartComputeTimer")(timer)

    start = only(fake.requests_to("/start", "POST"))
    assert (start.url, start.body) == (f"{ARM}{WS_ID}/computes/ci-a/start?api-version=2024-04-01", None)


def test_fleet_discovery_is_the_arm_workspace_list_by_subscription_and_by_resource_group(fake, settings, timer):
    """azure-rest-api-specs Microsoft.MachineLearningServices stable/2024-04-01: Workspaces_ListBySubscription
    (GET /subscriptions/{id}/providers/Microsoft.MachineLearningServices/workspaces) and
    Workspaces_ListByResourceGroup (.../resourceGroups/{rg}/providers/...), no body, paged with nextLink."""
    other = "44444444-4444-4444-4444-444444444444"
    fake.add_workspace(other, "rg-prod", "ws-prod")
    settings(AML_SUBSCRIPTION_ID=None, AML_RESOURCE_GROUP=None, AML_WORKSPACE_NAME=None,
             AML_COMPUTE_SCOPES=f"/subscriptions/{SUBSCRIPTION},/subscriptions/{other}/resourceGroups/rg-prod")

    stop_compute_timer(timer)

    lists = sorted(call.url for call in fake.requests_to(r"/workspaces\?", "GET"))
    assert lists == sorted([
        f"{ARM}/subscriptions/{SUBSCRIPTION}/providers/Microsoft.MachineLearningServices/workspaces"
        "?api-version=2024-04-01",
        f"{ARM}/subscriptions/{other}/resourceGroups/rg-prod/providers/Microsoft.MachineLearningServices/workspaces"
        "?api-version=2024-04-01"])
    assert all(call.body is None for call in fake.requests_to(r"/workspaces\?", "GET"))


def test_the_price_query_is_the_retail_prices_apis_filter(fake, settings, timer):
    """Azure Retail Prices REST API overview (Microsoft Learn): GET https://prices.azure.com/api/retail/prices with
    `$filter` over serviceName, priceType, armRegionName and armSkuName (`eq`, `and`, `or`, parentheses), no sign-in,
    `currencyCode='EUR'` for another currency; no api-version, so the values match whatever their case."""
    fake.add_instance("ci-a", "Running")
    fake.add_instance("ci-b", "Running").vm_size = "STANDARD_DS3_V2"
    settings(AML_COMPUTE_COST_CURRENCY="EUR")

    stop_compute_timer(timer)

    call = only(fake.requests_to("prices.azure.com"))
    assert call.method == "GET" and call.body is None
    assert call.url == ("https://prices.azure.com/api/retail/prices?$filter=serviceName%20eq%20'Virtual%20Machines'"
                        "%20and%20priceType%20eq%20'Consumption'%20and%20armRegionName%20eq%20'westeurope'%20and%20("
                        "armSkuName%20eq%20'STANDARD_DS3_V2'%20or%20armSkuName%20eq%20'STANDARD_NC6S_V3')"
                        "&currencyCode='EUR'")


def test_a_batch_endpoint_tick_makes_the_calls_azure_ai_ml_makes(fake, settings, timer):
    """BatchEndpoints_Get, BatchDeployments_Get and Jobs_Get (azure-rest-api-specs, Microsoft.MachineLearningServices
    stable/2024-04-01: GET .../batchEndpoints/{name}, .../batchEndpoints/{name}/deployments/{deployment},
    .../jobs/{id}); the invoke as azure-ai-ml's BatchEndpointOperations.invoke sends it: POST to the endpoint's
    scoringUri, `BatchJobResource(properties=BatchJob(name, input_data={k: LiteralJobInput(value)},
    properties={"experimentName": ...})).serialize()`, headers of EndpointInvokeFields (constants/_endpoint.py)."""
    endpoint = fake.add_batch_endpoint("score", ("blue", "green"))
    settings(RUN_PIPELINE_ID=None, RUN_PIPELINE_BATCH_ENDPOINT="score", RUN_PIPELINE_BATCH_DEPLOYMENT="green",
             RUN_PIPELINE_PARAMETERS='{"day": "{tick:%Y-%m-%d}"}', RUN_PIPELINE_EXPERIMENT="scores")

    run_pipeline_timer(timer)

    name = "score-20261121T030000Z"
    assert [(call.method, call.url) for call in fake.requests_to(ARM)] == [
        ("GET", f"{ARM}{WS_ID}/batchEndpoints/score?api-version=2024-04-01"),
        ("GET", f"{ARM}{WS_ID}/batchEndpoints/score/deployments/green?api-version=2024-04-01"),
        ("GET", f"{ARM}{WS_ID}/jobs/{name}?api-version=2024-04-01"),
    ]
    invoke = only(fake.requests_to("inference.ml.azure.com"))
    assert (invoke.method, invoke.url) == ("POST", endpoint.scoring_uri)
    assert invoke.body == {"properties": {"name": name,
                                          "inputData": {"day": {"jobInputType": "Literal", "value": "2026-11-21"}},
                                          "properties": {"experimentName": "scores"}}}
    assert invoke.headers["Content-Type"] == "application/json"
    assert invoke.headers["azureml-model-deployment"] == "green"
    assert invoke.headers["Authorization"].startswith("Bearer ")
    assert len(invoke.headers["repeatability_request-id"]) == 36  # a UUID, one per tick's job
