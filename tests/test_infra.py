"""`azd up`'s files, checked without azd, Bicep's compiler or Azure: infra/*.bicep read by a real Bicep grammar
(tests/bicep.py) and its tree checked for what a deployment relies on, azure.yaml against azd's published schema,
the workbook's shape. What only a real `azd up` shows is listed in docs/deploy.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from shared.functions import FUNCTIONS
from tests.bicep import BicepFile, body, path, properties, string, text, walk
from tests.test_config_files import DESIGN_SETTINGS

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
FILES = {file.relative_to(INFRA).as_posix(): BicepFile(file) for file in sorted(INFRA.rglob("*.bicep"))}
MAIN, APP = FILES["main.bicep"], FILES["app.bicep"]
IDENTITY_SETTINGS = {"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"}
# Settings the host reads, not the app (Microsoft Learn: "App settings reference for Azure Functions", "Connect to
# host storage with an identity", "Microsoft Entra authentication for Application Insights", "How to disable
# functions"); AZURE_CLIENT_ID is the app's own (docs/settings.md).
HOST_SETTINGS = {"AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId",
                 "AzureWebJobsStorage__blobServiceUri", "AzureWebJobsStorage__queueServiceUri",
                 "AzureWebJobsStorage__tableServiceUri", "APPLICATIONINSIGHTS_CONNECTION_STRING",
                 "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"}
# Settings Flex Consumption rejects or ignores (Microsoft Learn, "Flex Consumption plan: deprecated settings").
NOT_ON_FLEX = {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE",
               "WEBSITE_CONTENTSHARE", "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_NODE_DEFAULT_VERSION"}
PYTHONS_TESTED = {"3.10", "3.11", "3.12", "3.13"}  # pyproject.toml requires-python; CI runs the oldest and newest


def resources(kind: str | None = None):
    """(file, declaration) of every resource, or of one type (without the version)."""
    return [(file, declaration) for file in FILES.values() for declaration in file.declarations("resource").values()
            if kind is None or declaration.type_string.split("@")[0] == kind]


def only(kind: str):
    [(file, declaration)] = resources(kind)
    return file, declaration


def callee(file: BicepFile, module) -> BicepFile | None:
    """The file a module declaration deploys (None outside infra/)."""
    return next((other for other in FILES.values()
                 if other.file.resolve() == (file.file.parent / module.type_string).resolve()), None)


def template_settings() -> tuple[set[str], dict]:
    """The settings the template itself sets (the object literal in the appsettings union), and that union's call."""
    _, config = only("Microsoft.Web/sites/config")
    union = properties(body(config.node))["properties"]
    assert text(union.child_by_field_name("function")) == "union"
    literals = [argument for argument in union.child_by_field_name("arguments").named_children
                if argument.type == "object"]
    return {name for literal in literals for name in properties(literal)}, union


def setting_names() -> set[str]:
    [declaration] = MAIN.declarations("type").values()
    return set(properties(next(child for child in declaration.node.children if child.type == "object")))


@pytest.mark.parametrize("name", FILES)
def test_every_bicep_file_parses_without_an_error_node(name):
    assert FILES[name].errors() == []


def test_every_resource_type_and_api_version_is_one_the_rest_specs_define():
    known = json.loads((SCHEMAS / "arm-api-versions.json").read_text(encoding="utf-8"))["versions"]
    declared = {declaration.type_string for _, declaration in resources()}
    assert declared - set(known) == set()
    assert all(not re.search(r"-preview$", version) for version in declared)


def test_no_registry_module_so_it_builds_offline():
    for file in FILES.values():
        for module in file.declarations("module").values():
            assert not module.type_string.startswith(("br:", "br/", "ts:")), module.type_string
            assert callee(file, module) is not None, module.type_string


def test_the_settings_parameter_names_every_setting_a_deployment_chooses_and_nothing_else():
    assert setting_names() == DESIGN_SETTINGS - IDENTITY_SETTINGS
    [declaration] = MAIN.declarations("type").values()
    assert "sealed" in MAIN.decorators(declaration), "a misspelt setting name fails the deployment"


def test_azd_passes_every_setting_from_its_environment_under_its_own_name():
    parameters = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert set(parameters) <= set(MAIN.declarations("param"))
    assert parameters["settings"]["value"] == {name: f"${{{name}}}" for name in setting_names()}


def test_settings_left_empty_are_left_out_and_the_rest_are_set():
    chosen = MAIN.declarations("var")["chosenSettings"].value
    assert text(chosen).replace(" ", "").startswith("toObject(filter(items(settings),item=>!empty(item.value))")
    app = MAIN.declarations("module")["app"]
    assert path(properties(properties(app.value)["params"])["settings"]) == ["chosenSettings"]
    _, union = template_settings()
    assert text(union.child_by_field_name("arguments").named_children[0]) == "settings"


def test_every_setting_the_template_sets_is_one_the_app_or_the_host_reads():
    fixed, _ = template_settings()
    assert fixed - (DESIGN_SETTINGS | HOST_SETTINGS) == set()
    assert "AZURE_CLIENT_ID" in fixed and fixed & {"AZURE_CLIENT_SECRET", "AZURE_TENANT_ID"} == set()
    every_string = {string(node) for file in FILES.values() for node in walk(file.root) if node.type == "string"}
    every_key = {text(node) for file in FILES.values() for node in walk(file.root) if node.type == "identifier"}
    assert NOT_ON_FLEX & (every_string | every_key) == set()


def test_a_timer_whose_schedule_is_not_set_is_switched_off_not_left_in_error():
    schedules = properties(APP.declarations("var")["timerSchedules"].value)
    assert {name: string(value) for name, value in schedules.items()} == \
        {function.name: function.schedule for function in FUNCTIONS}
    timers_off = APP.declarations("var")["timersOff"].value
    assert "AzureWebJobs.${timer.key}.Disabled" in text(timers_off)
    _, union = template_settings()
    assert "timersOff" in [text(argument) for argument in union.child_by_field_name("arguments").named_children]


def test_no_secret_key_or_connection_string_is_made_or_set():
    for file in FILES.values():
        calls = {text(node.child_by_field_name("function")) for node in walk(file.root)
                 if node.type == "call_expression"}
        assert not {call for call in calls if call.lower().startswith("list")}, "listKeys() and the like"
        strings = " ".join(string(node) or "" for node in walk(file.root) if node.type == "string")
        assert not re.search(r"AccountKey=|SharedAccessSignature|SharedAccessKey|DefaultEndpointsProtocol", strings)
        for param in file.declarations("param").values():
            assert "secure" not in file.decorators(param), f"{param.name}: nothing secret goes in"
    fixed, _ = template_settings()
    assert "AzureWebJobsStorage" not in fixed, "the host's storage by identity, not a connection string"
    # The one connection string: Application Insights', which holds no secret; with local auth off, sending
    # telemetry needs the identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
    _, insights = only("Microsoft.Insights/components")
    assert text(properties(properties(body(insights.node))["properties"])["DisableLocalAuth"]) == "true"
    assert "APPLICATIONINSIGHTS_AUTHENTICATION_STRING" in fixed


def test_the_storage_account_takes_no_shared_key_no_public_blob_and_tls_12_at_least():
    _, storage = only("Microsoft.Storage/storageAccounts")
    settings = {name: text(value) for name, value in properties(properties(body(storage.node))["properties"]).items()}
    assert settings["allowSharedKeyAccess"] == "false" and settings["allowBlobPublicAccess"] == "false"
    assert settings["minimumTlsVersion"] == "'TLS1_2'" and settings["supportsHttpsTrafficOnly"] == "true"
    _, logs = only("Microsoft.OperationalInsights/workspaces")
    features = properties(properties(properties(body(logs.node))["properties"])["features"])
    assert text(features["disableLocalAuth"]) == "true"


def identity_reference(file: BicepFile, expression) -> bool:
    """Whether an expression is the user-assigned identity's principal id: directly, through a module's output, or
    through a module parameter every caller passes it to."""
    chain = path(expression)
    if chain is None:
        return False
    resources_here = file.declarations("resource")
    if len(chain) == 3 and chain[1:] == ["properties", "principalId"] and chain[0] in resources_here:
        return resources_here[chain[0]].type_string.startswith("Microsoft.ManagedIdentity/userAssignedIdentities@")
    modules_here = file.declarations("module")
    if len(chain) == 3 and chain[1] == "outputs" and chain[0] in modules_here:
        deployed = callee(file, modules_here[chain[0]])
        return identity_reference(deployed, deployed.declarations("output")[chain[2]].value)
    if len(chain) == 1 and chain[0] in file.declarations("param"):
        callers = [(caller, module) for caller in FILES.values() for module in caller.declarations("module").values()
                   if callee(caller, module) is file]
        return bool(callers) and all(
            identity_reference(caller, properties(properties(module.value)["params"])[chain[0]])
            for caller, module in callers)
    return False


def test_every_role_assignment_goes_to_the_user_assigned_identity_as_a_service_principal():
    assignments = resources("Microsoft.Authorization/roleAssignments")
    assert len(assignments) >= 4
    for file, assignment in assignments:
        settings = properties(properties(body(assignment.node))["properties"])
        assert identity_reference(file, settings["principalId"]), f"{file.file.name}: {assignment.name}"
        assert string(settings["principalType"]) == "ServicePrincipal"


def test_the_identity_holds_the_data_roles_the_host_and_the_app_need_and_no_more():
    roles = properties(APP.declarations("var")["storageRoles"].value)
    assert {name: string(value) for name, value in roles.items()} == {
        "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
        "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    }
    assert string(APP.declarations("var")["monitoringMetricsPublisher"].value) == \
        "3913510d-42f4-4e42-8a64-420c390055eb"


def test_the_custom_role_is_the_docs_role_loaded_not_copied():
    role_file = ROOT / "docs" / "aml-timer-functions-role.json"
    loaded = MAIN.declarations("var")["role"].value
    assert text(loaded.child_by_field_name("function")) == "loadJsonContent"
    [argument] = loaded.child_by_field_name("arguments").named_children
    assert (INFRA / string(argument)).resolve() == role_file.resolve()
    _, definition = only("Microsoft.Authorization/roleDefinitions")
    [permission] = properties(properties(body(definition.node))["properties"])["permissions"].named_children
    assert {name: path(value) for name, value in properties(permission).items()} == {
        "actions": ["role", "Actions"], "notActions": ["role", "NotActions"],
        "dataActions": ["role", "DataActions"], "notDataActions": ["role", "NotDataActions"]}
    assignable = properties(properties(body(definition.node))["properties"])["assignableScopes"]
    assert path(assignable) == ["assignableScopes"]
    assert "join(take(split(scope, '/'), 5), '/')" in text(MAIN.declarations("var")["assignableScopes"].value), \
        "a workspace scope is assignable through its resource group (no resource-level assignable scope)"
    doc = json.loads(role_file.read_text(encoding="utf-8"))
    assert doc["Actions"] and not any("*" in action for action in doc["Actions"])


def test_each_aml_scope_gets_its_assignment_from_a_module_at_its_own_subscription_or_resource_group():
    modules = MAIN.declarations("module")
    at_subscription = modules["amlRoleAtSubscriptions"]
    in_group = modules["amlRoleInResourceGroups"]
    assert FILES["aml-role/subscription.bicep"].target_scope() == "subscription"
    assert FILES["aml-role/resource-group.bicep"].target_scope() == "resourceGroup"
    for module, scope_call in ((at_subscription, "subscription"), (in_group, "resourceGroup")):
        assert any(child.type == "for_statement" for child in module.node.children), "one per scope"
        scope = properties(module.value)["scope"]
        assert text(scope.child_by_field_name("function")) == scope_call
        assert "split(scope, '/')[2]" in text(scope), "the scope's own subscription"
    roles = MAIN.declarations("var")["roleScopes"].value
    assert {text(argument) for argument in roles.child_by_field_name("arguments").named_children} == \
        {"singleWorkspace", "computeScopes", "amlScopes"}


def test_the_function_app_is_flex_consumption_python_with_the_identity_everywhere():
    _, plan = only("Microsoft.Web/serverfarms")
    sku = properties(properties(body(plan.node))["sku"])
    assert (string(sku["tier"]), string(sku["name"])) == ("FlexConsumption", "FC1")
    _, site = only("Microsoft.Web/sites")
    config = properties(properties(body(site.node))["properties"])["functionAppConfig"]
    runtime = properties(properties(config)["runtime"])
    assert string(runtime["name"]) == "python" and path(runtime["version"]) == ["pythonVersion"]
    storage = properties(properties(properties(config)["deployment"])["storage"])
    auth = properties(storage["authentication"])
    assert string(auth["type"]) == "UserAssignedIdentity" and path(auth["userAssignedIdentityResourceId"]) == \
        ["identity", "id"]
    scale = properties(properties(config)["scaleAndConcurrency"])
    assert {name: path(value) for name, value in scale.items()} == {
        "instanceMemoryMB": ["instanceMemoryMB"], "maximumInstanceCount": ["maximumInstanceCount"]}
    tags = properties(body(site.node))["tags"]
    assert "'azd-service-name': 'app'" in text(tags)


def test_the_python_version_is_one_the_tests_run_and_the_pipeline_builds_by_default():
    param = MAIN.declarations("param")["pythonVersion"]
    allowed = MAIN.decorators(param)["allowed"].child_by_field_name("arguments").named_children[0]
    choices = {string(item) for item in allowed.named_children}
    assert choices and choices <= PYTHONS_TESTED
    default = string(param.value)
    pipeline = yaml.safe_load((ROOT / "azure-pipelines.yml").read_text(encoding="utf-8"))["variables"]
    assert default in choices and default == str(pipeline["pythonVersion"])
    parameters = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert parameters["pythonVersion"]["value"] == f"${{AML_TIMER_PYTHON_VERSION={default}}}"


def test_host_json_timeout_holds_on_flex_consumption():
    """Flex Consumption allows any functionTimeout (default 30 minutes); the template leaves it to host.json, which
    the app also reads for its own deadline, so the two cannot disagree."""
    strings = {string(node) for file in FILES.values() for node in walk(file.root) if node.type == "string"}
    assert not any(value and "functionTimeout" in value for value in strings)


def test_the_workbook_is_deployed_against_the_apps_application_insights_and_holds_no_resource_id():
    _, workbook = only("Microsoft.Insights/workbooks")
    settings = properties(properties(body(workbook.node))["properties"])
    assert path(settings["sourceId"]) == ["insights", "id"]
    assert "loadJsonContent('workbook.json')" in text(settings["serializedData"])
    raw = (INFRA / "workbook.json").read_text(encoding="utf-8")
    data = json.loads(raw)
    assert data["version"] == "Notebook/1.0" and "fallbackResourceIds" not in data, "added by the template"
    assert "/subscriptions/" not in raw.lower() and "/resourcegroups/" not in raw.lower()
    guids = set(re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", raw, re.I))
    assert guids <= {p["id"] for item in data["items"] if item["type"] == 9 for p in item["content"]["parameters"]}
    parameters = {p["name"] for item in data["items"] if item["type"] == 9 for p in item["content"]["parameters"]}
    queries = [item["content"] for item in data["items"] if item["type"] == 3]
    assert len(queries) == 5
    for query in queries:
        assert query["resourceType"] == "microsoft.insights/components" and query["queryType"] == 0
        assert query["timeContextFromParameter"] in parameters


def test_azure_yaml_is_valid_for_azd_and_names_the_function_app_it_deploys():
    schema = json.loads((SCHEMAS / "azure.yaml.json").read_text(encoding="utf-8"))
    document = yaml.safe_load((ROOT / "azure.yaml").read_text(encoding="utf-8"))
    jsonschema.Draft201909Validator(schema).validate(document)
    [(name, service)] = document["services"].items()
    assert (service["host"], service["language"], service["project"]) == ("function", "python", ".")
    _, site = only("Microsoft.Web/sites")
    assert f"'azd-service-name': '{name}'" in text(properties(body(site.node))["tags"])
    assert document.get("infra", {}).get("path", "infra") == "infra"


def test_the_azd_schema_refuses_what_azd_refuses():
    """The validation above can fail: a service without a host, a name azd does not accept."""
    schema = json.loads((SCHEMAS / "azure.yaml.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft201909Validator(schema)
    assert not validator.is_valid({"name": "Not Valid", "services": {"app": {"host": "function"}}})
    assert not validator.is_valid({"name": "aml-timer", "services": {"app": {"project": "."}}})


def test_infra_and_azd_files_are_not_deployed():
    ignored = (ROOT / ".funcignore").read_text(encoding="utf-8").split()
    assert {"infra/", "azure.yaml", ".azure", ".kusto"} <= set(ignored)

