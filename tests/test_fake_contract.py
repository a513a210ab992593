"""The fake Azure refuses what Azure refuses: it is the contract the app is tested against, so it is tested too."""

from __future__ import annotations

import pytest
import requests
from azureml._restclient.models import QueryParamsDto
from azureml.pipeline.core._restclients.aeva.models import PipelineSubmissionInfo

from fakeazure import RUN_STATUSES, SUBSCRIPTION, UnexpectedRequest
from fakeazure.batch_models import BatchJobResource
from fakeazure.contract import BindError, bind
from fakeazure.odata import QueryError, parse_filter
from fakeazure.wire import jwt

WS_ID = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ml/providers/Microsoft.MachineLearningServices"
         "/workspaces/ws-demo")
QUERY = f"https://westeurope.api.azureml.ms/history/v1.0{WS_ID}/experiments/exp/runs:query"
# A token of the fake for ARM's audience (the fake checks `aud`).
AUTH = {"Authorization": f"Bearer {jwt({'aud': 'https://management.azure.com'})}"}


@pytest.fixture
def experiment(fake):
    fake.add_run("exp", fake.add_published_pipeline(), ["Running"])
    return fake


def test_the_old_list_typed_order_by_answers_400_like_aspnet_model_binding(experiment):
    response = requests.post(QUERY, json={"filter": "(ParentRunId eq null)", "orderBy": ["CreatedUtc desc"],
                                          "top": 1}, headers=AUTH)

    assert response.status_code == 400
    assert response.json()["title"] == "One or more validation errors occurred."
    assert response.json()["errors"] == {"$.orderBy": [
        "The JSON value could not be converted to System.String. Path: $.orderBy"]}


def test_keys_bind_case_insensitively_and_unknown_keys_are_ignored():
    assert bind('{"OrderBy": "CreatedUtc desc", "TOP": 3, "colour": [1]}', QueryParamsDto) == {
        "orderby": "CreatedUtc desc", "top": 3}


@pytest.mark.parametrize(
    ("body", "path"),
    [('{"top": "1"}', "$.top"), ('{"top": 1.5}', "$.top"), ('{"top": true}', "$.top"), ('{"filter": 3}', "$.filter"),
     ('[1]', "$")],
)
def test_a_value_of_the_wrong_json_type_does_not_bind(body, path):
    with pytest.raises(BindError) as error:
        bind(body, QueryParamsDto)
    assert error.value.path == path


def test_submit_parameters_must_be_strings_as_the_sdk_sends_them():
    with pytest.raises(BindError, match=r"Dictionary`2\[System.String,System.String\]|System.String"):
        bind('{"ExperimentName": "e", "ParameterAssignments": {"epochs": 3}}', PipelineSubmissionInfo)
    assert bind('{"experimentname": "e", "ParameterAssignments": {"epochs": "3"}}', PipelineSubmissionInfo) == {
        "experiment_name": "e", "parameter_assignments": {"epochs": "3"}}


def test_an_invoke_binds_to_azure_ai_mls_batch_job_model_case_insensitively():
    body = ('{"Properties": {"NAME": "j", "inputData": {"a": {"jobInputType": "literal", "Value": "1"}, '
            '"b": {"JobInputType": "UriFolder", "uri": "https://x/y/"}}, "properties": {"experimentName": "e"}}}')

    assert bind(body, BatchJobResource) == {"properties": {
        "name": "j", "input_data": {"a": {"job_input_type": "literal", "value": "1"},
                                    "b": {"job_input_type": "UriFolder", "uri": "https://x/y/"}},
        "properties": {"experimentName": "e"}}}


@pytest.mark.parametrize(("body", "path", "fragment"), [
    ('{"properties": {"inputData": {"a": {"jobInputType": "Literal", "value": 3}}}}', "$.properties.inputData.a.value",
     "could not be converted to System.String"),
    ('{"properties": {"inputData": {"a": {"jobInputType": "Literal"}}}}', "$.properties.inputData.a.value",
     "The value field is required"),
    ('{"properties": {"inputData": {"a": {"value": "1"}}}}', "$.properties.inputData.a.jobInputType",
     "must be one of CustomModel, Literal"),
    ('{"properties": {"inputData": {"a": {"jobInputType": "Number", "value": "1"}}}}',
     "$.properties.inputData.a.jobInputType", "must be one of"),
    ('{"name": "j"}', "$.properties", "The properties field is required"),
    ('{"properties": {"properties": {"experimentName": 1}}}', "$.properties.properties.experimentName",
     "System.String"),
])
def test_an_invoke_the_model_refuses_does_not_bind(body, path, fragment):
    with pytest.raises(BindError, match=fragment) as error:
        bind(body, BatchJobResource)
    assert error.value.path == path


def test_the_scoring_host_takes_only_azure_ml_tokens_and_answers_a_bad_body_400(fake):
    fake.add_batch_endpoint("score")
    url = "https://score.westeurope.inference.ml.azure.com/jobs"
    ml = {"Authorization": f"Bearer {jwt({'aud': 'https://ml.azure.com'})}"}

    assert requests.post(url, json={"properties": {}}, headers=AUTH).status_code == 401  # ARM's token
    bad = requests.post(url, json={"properties": {"inputData": {"a": {"jobInputType": "Literal", "value": 1}}}},
                        headers=ml)
    assert bad.status_code == 400 and "$.properties.inputData.a.value" in bad.json()["errors"]
    assert requests.post(url, json={"properties": {"name": "j1"}}, headers=ml).status_code == 200
    assert requests.post(url, json={"properties": {"name": "j1"}}, headers=ml).status_code == 409  # a name it has
    assert list(fake.batch_jobs) == ["j1"]


def test_a_repeated_invoke_with_its_repeatability_id_answers_the_first_job(fake):
    fake.add_batch_endpoint("score")
    url = "https://score.westeurope.inference.ml.azure.com/jobs"
    headers = {"Authorization": f"Bearer {jwt({'aud': 'https://ml.azure.com'})}", "repeatability_request-id": "r1"}

    first = requests.post(url, json={"properties": {"name": "j1"}}, headers=headers)
    again = requests.post(url, json={"properties": {"name": "j1"}}, headers=headers)

    assert (first.status_code, again.status_code) == (200, 200) and again.headers["Repeatability-Result"] == "accepted"
    assert list(fake.batch_jobs) == ["j1"]


def test_every_arm_call_needs_an_api_version(fake):
    response = requests.get(f"https://management.azure.com{WS_ID}/computes", headers=AUTH)

    assert response.status_code == 400 and response.json()["error"]["code"] == "MissingApiVersionParameter"


def test_a_request_no_route_knows_fails_at_once_naming_it(fake):
    with pytest.raises(UnexpectedRequest, match="no route for GET https://example.invalid/x"):
        requests.get("https://example.invalid/x")
    assert [call.url for call in fake.unexpected] == ["https://example.invalid/x"]
    fake.unexpected.clear()  # seen: the fixture would otherwise fail this test


def test_run_history_answers_only_on_the_host_discovery_names(fake):
    fake.history_host = "https://ws-demo.privatelink.api.azureml.ms"
    with pytest.raises(UnexpectedRequest):
        requests.post(QUERY, json={}, headers=AUTH)
    fake.unexpected.clear()


def test_a_missing_experiment_is_run_historys_own_404(fake):
    response = requests.post(QUERY, json={"top": 1}, headers=AUTH)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "UserError" and response.json()["componentName"] == "run-history"


def test_runs_come_in_pages_with_a_continuation_token(experiment):
    for _ in range(59):
        experiment.add_run("exp", "p", ["Completed"])

    first = requests.post(QUERY, json={"top": 100}, headers=AUTH).json()
    second = requests.post(QUERY, json={"top": 100, "continuationToken": first["continuationToken"]},
                           headers=AUTH).json()

    assert (len(first["value"]), len(second["value"]), second["continuationToken"]) == (50, 10, None)


@pytest.mark.parametrize("text", ['(Tags/a eq "x"', "Tags/a equals 1", "(Colour eq red)", '(Tags/a eq "x") xor (b)'])
def test_a_filter_outside_the_sdks_grammar_is_refused(text):
    with pytest.raises(QueryError):
        parse_filter(text)


def test_filters_match_like_the_sdk_writes_them():
    run = {"tags": {"a": "1"}, "properties": {"azureml.pipelineid": "p"}, "parentRunId": None, "status": "Queued"}
    predicate = parse_filter('(((Tags/a eq "1") and (Properties/azureml.pipelineid eq "p")) and (ParentRunId eq null))')

    assert predicate(run) and not predicate({**run, "parentRunId": "x"})
    assert parse_filter("(Status eq Queued)")(run) and not parse_filter('(Tags/a eq "2")')(run)


def test_the_fake_knows_every_run_status_of_the_sdk():
    from azureml._restclient.constants import RunStatus

    assert set(RUN_STATUSES) == set(RunStatus.list())


@pytest.mark.parametrize("mode", ["400", "lro"])
def test_a_power_action_in_a_wrong_state_is_refused(fake, mode):
    fake.wrong_state_answer = mode
    fake.add_instance("ci-a", "Stopped")

    response = requests.post(f"https://management.azure.com{WS_ID}/computes/ci-a/stop?api-version=2024-04-01",
                             headers=AUTH)

    if mode == "400":
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "StopComputeInstanceOnlyAllowedInRunningState"
    else:
        assert response.status_code == 202
        operation = requests.get(response.headers["Azure-AsyncOperation"], headers=AUTH).json()
        assert operation["status"] == "Failed"
    assert fake.instances["ci-a"].state == "Stopped"


def test_arm_limits_answer_429_with_retry_after_and_the_remaining_count(fake):
    """ARM's throttling contract ("Understand how Azure Resource Manager throttles requests"): every answer says what
    is left; past the bucket, 429 `TooManyRequests` with an integer Retry-After."""
    fake.limit_arm(reads=(2, 0.5))
    url = f"https://management.azure.com{WS_ID}/computes?api-version=2024-04-01"

    answers = [requests.get(url, headers=AUTH) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert [answer.headers["x-ms-ratelimit-remaining-subscription-reads"] for answer in answers] == ["1", "0", "0"]
    assert answers[2].headers["Retry-After"] == "2"
    assert answers[2].json()["error"]["code"] == "TooManyRequests"
    assert fake.limits.throttled == {SUBSCRIPTION.lower(): 1}


def test_arm_limits_are_per_subscription_and_kind(fake):
    fake.limit_arm(reads=(1, 0.1), writes=(1, 0.1))
    fake.add_instance("ci-a", "Running")
    base = f"https://management.azure.com{WS_ID}/computes"

    first_read = requests.get(f"{base}?api-version=2024-04-01", headers=AUTH)
    write = requests.post(f"{base}/ci-a/stop?api-version=2024-04-01", headers=AUTH)
    other = requests.get("https://management.azure.com/subscriptions/44444444-4444-4444-4444-444444444444/providers/"
                         "Microsoft.MachineLearningServices/workspaces?api-version=2024-04-01", headers=AUTH)
    second_read = requests.get(f"{base}?api-version=2024-04-01", headers=AUTH)

    assert (first_read.status_code, write.status_code, other.status_code, second_read.status_code) == \
           (200, 202, 404, 429), "the other subscription's read and this one's write have buckets of their own"
    assert write.headers["x-ms-ratelimit-remaining-subscription-writes"] == "0"


def test_an_expired_token_of_the_fake_answers_401(fake):
    fake.token_seconds = 60
    token = fake.services[0].token_for("https://management.azure.com", "22222222-2222-2222-2222-222222222222")
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    url = f"https://management.azure.com{WS_ID}/computes?api-version=2024-04-01"

    assert requests.get(url, headers=headers).status_code == 200
    fake.clock = lambda: 10**9
    answer = requests.get(url, headers=headers)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "ExpiredAuthenticationToken"


PRICES = "https://prices.azure.com/api/retail/prices"
VM_FILTER = "serviceName eq 'Virtual Machines' and armRegionName eq 'westeurope'"


def test_the_price_list_needs_no_token_and_filters_with_eq_and_or_parentheses(fake):
    answer = requests.get(PRICES, params={"$filter": f"{VM_FILTER} and (armSkuName eq 'Standard_DS3_v2' or "
                                                     "armSkuName eq 'Standard_D4s_v3')"}).json()

    assert {item["armSkuName"] for item in answer["Items"]} == {"Standard_DS3_v2", "Standard_D4s_v3"}
    assert {item["type"] for item in answer["Items"]} == {"Consumption", "DevTestConsumption", "Reservation"}
    assert {item["productName"] for item in answer["Items"]} >= {"Virtual Machines DSv2 Series",
                                                                 "Virtual Machines DSv2 Series Windows"}
    assert answer["NextPageLink"] is None and answer["Count"] == len(answer["Items"]) == 14


def test_price_filter_values_are_case_sensitive_from_2023_01_01_preview(fake):
    upper = f"{VM_FILTER} and armSkuName eq 'STANDARD_DS3_V2'"

    before = requests.get(PRICES, params={"$filter": upper}).json()
    after = requests.get(PRICES, params={"$filter": upper, "api-version": "2023-01-01-preview"}).json()

    assert before["Count"] == 7 and after["Count"] == 0


def test_the_price_list_pages_by_100_with_next_page_link_and_converts_currencies(fake):
    for n in range(20):
        fake.add_vm_price("westeurope", f"Standard_Test{n}", 1.0)
    first = requests.get(PRICES, params={"$filter": VM_FILTER, "currencyCode": "'EUR'"}).json()
    second = requests.get(first["NextPageLink"]).json()

    assert first["Count"] == 100 and second["NextPageLink"] is None and second["Count"] == 35 + 140 - 100
    assert "$skip=100" in first["NextPageLink"] and "currencyCode='EUR'" in first["NextPageLink"]
    assert {item["currencyCode"] for item in first["Items"] + second["Items"]} == {"EUR"}


@pytest.mark.parametrize("bad", ["armSkuName ne 'x'", "armSkuName eq x", "(armSkuName eq 'x'", "nosuch eq 'x'"])
def test_a_price_filter_outside_the_subset_answers_400(fake, bad):
    assert requests.get(PRICES, params={"$filter": bad}).status_code == 400


def test_an_unsupported_currency_answers_400(fake):
    assert requests.get(PRICES, params={"currencyCode": "'XYZ'"}).status_code == 400
