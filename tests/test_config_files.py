"""The files that the Functions host, the deploy tools and Azure read.

Each file is checked against its public schema, where one exists, and against what the code relies on. A mistake
in these files shows up only after a deploy: a function that does not load, a schedule that never fires, a
pipeline that deploys from a branch, or a role that cannot stop an instance.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib
import inspect
import json
import re
import subprocess
import sys
import typing
from datetime import timedelta
from pathlib import Path

import azure.functions as func
import jsonschema
import pytest
import yaml

from shared.functions import FUNCTIONS as FUNCTION_TABLE
from shared.functions import SETTING_PREFIXES

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = Path(__file__).resolve().parent / "schemas"  # SchemaStore copies, see schemas/SOURCES.md

# function folder -> the app setting its timer schedule comes from (the app's table of its functions)
FUNCTIONS = {function.name: function.schedule for function in FUNCTION_TABLE}
TIMER_PARAMETER = "mytimer"

# The app settings contract (DESIGN.md, "App settings"): these names are fixed.
DESIGN_SETTINGS = frozenset({
    "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET",
    "AML_SUBSCRIPTION_ID", "AML_RESOURCE_GROUP", "AML_WORKSPACE_NAME", "AML_CLOUD", "AML_RETRY_BUDGET_SECONDS",
    "AML_COMPUTE_SCOPES", "AML_COMPUTE_COST", "AML_COMPUTE_COST_CURRENCY",
    "RUN_PIPELINE_SCHEDULE", "RUN_PIPELINE_ID", "RUN_PIPELINE_ENDPOINT_NAME", "RUN_PIPELINE_EXPERIMENT",
    "RUN_PIPELINE_BATCH_ENDPOINT", "RUN_PIPELINE_BATCH_DEPLOYMENT",
    "RUN_PIPELINE_PARAMETERS", "RUN_PIPELINE_SKIP_IF_ACTIVE", "RUN_PIPELINE_WAIT_MINUTES",
    "RUN_PIPELINE_TIME_ZONE", "RUN_PIPELINE_LOCAL_SCHEDULE", "RUN_PIPELINE_DISABLED",
    "STOP_COMPUTE_SCHEDULE", "STOP_COMPUTE_INCLUDE", "STOP_COMPUTE_EXCLUDE", "STOP_COMPUTE_EXEMPT_TAG",
    "STOP_COMPUTE_DRY_RUN", "STOP_COMPUTE_TIME_ZONE", "STOP_COMPUTE_LOCAL_SCHEDULE",
    "START_COMPUTE_SCHEDULE", "START_COMPUTE_TAG", "START_COMPUTE_INCLUDE", "START_COMPUTE_EXCLUDE",
    "START_COMPUTE_DRY_RUN", "START_COMPUTE_TIME_ZONE", "START_COMPUTE_LOCAL_SCHEDULE",
    "STOP_COMPUTE_MAX_LATE_MINUTES", "START_COMPUTE_MAX_LATE_MINUTES", "RUN_PIPELINE_MAX_LATE_MINUTES",
    "AML_COMPUTE_CONCURRENCY", "AML_FANOUT",
})
HOST_SETTINGS = frozenset({"FUNCTIONS_WORKER_RUNTIME", "AzureWebJobsStorage"})  # read by the host, not the code
SETTING_NAME = re.compile(rf"^({'|'.join(SETTING_PREFIXES)})[A-Z0-9_]+$")

MLS = "Microsoft.MachineLearningServices/workspaces"
# Every HTTP call the app makes (through the SDK) -> the RBAC actions it needs. docs/least-privilege.md explains it.
APP_CALLS = {
    "ARM GET subscriptions list": set(),
    "ARM GET workspace": {f"{MLS}/read"},
    "ARM GET {scope}/providers/Microsoft.MachineLearningServices/workspaces (AML_COMPUTE_SCOPES)": {f"{MLS}/read"},
    "GET {region}.api.azureml.ms/discovery": set(),
    "ARM GET workspaces/{ws}/computes (compute list, paged)": {f"{MLS}/computes/read"},
    "ARM POST workspaces/{ws}/computes/{name}/stop": {f"{MLS}/computes/stop/action"},
    "ARM POST workspaces/{ws}/computes/{name}/start": {f"{MLS}/computes/start/action"},
    "ARM GET workspaces/{ws}/computes/{name} (after a refused power action)": {f"{MLS}/computes/read"},
    "pipelines GET DataTypes": {f"{MLS}/modules/read"},
    "pipelines GET Pipelines/{id}": {f"{MLS}/endpoints/pipelines/read"},
    "pipelines GET PipelineEndpoints/Name": {f"{MLS}/endpoints/pipelines/read"},
    "pipelines POST PipelineRuns/PipelineSubmit/{id}": {
        f"{MLS}/experiments/runs/submit/action", f"{MLS}/experiments/runs/write", f"{MLS}/experiments/write",
    },
    "pipelines POST PipelineRuns/PipelineEndpointSubmit/Id/{id}": {
        f"{MLS}/experiments/runs/submit/action", f"{MLS}/experiments/runs/write", f"{MLS}/experiments/write",
    },
    "history POST experiments/{exp}/runs:query": {f"{MLS}/experiments/read", f"{MLS}/experiments/runs/read"},
    "history PATCH experiments/{exp}/runs/{id} (tags)": {f"{MLS}/experiments/runs/write"},
    "history GET experiments/{exp}/runs/{id} (waiting)": {f"{MLS}/experiments/runs/read"},
    "ARM GET workspaces/{ws}/batchEndpoints/{name}": {f"{MLS}/batchEndpoints/read"},
    "ARM GET workspaces/{ws}/batchEndpoints/{name}/deployments/{deployment} (a named one)": {
        f"{MLS}/batchEndpoints/deployments/read"},
    "ARM GET workspaces/{ws}/jobs/{name} (the tick's job, skip_if_active, waiting)": {f"{MLS}/jobs/read"},
    # Microsoft's "Configure RBAC for batch endpoint invoke" (how-to-authenticate-batch-endpoint): the job actions,
    # and the experiment and run actions of the pipeline job the invoke creates in the invoker's name.
    "scoring POST {scoringUri} (invoke the default deployment)": {
        f"{MLS}/batchEndpoints/jobs/write", f"{MLS}/experiments/runs/submit/action", f"{MLS}/experiments/runs/write",
        f"{MLS}/experiments/write",
    },
    "scoring POST {scoringUri} with azureml-model-deployment (a named one)": {
        f"{MLS}/batchEndpoints/deployments/jobs/write", f"{MLS}/experiments/runs/submit/action",
        f"{MLS}/experiments/runs/write", f"{MLS}/experiments/write",
    },
}
# What the submitted pipeline's steps use in the submitter's name: Microsoft's documented "MLOps" custom role for
# submitting runs of a published pipeline (how-to-assign-roles#mlops), with datasets/*/read spelled out.
PIPELINE_RUN_ACTIONS = {
    f"{MLS}/metadata/snapshots/read", f"{MLS}/metadata/snapshots/write",
    f"{MLS}/metadata/artifacts/read", f"{MLS}/metadata/artifacts/write",
    f"{MLS}/metadata/secrets/read",
    f"{MLS}/environments/read", f"{MLS}/environments/write", f"{MLS}/environments/build/action",
    f"{MLS}/datastores/read",
    f"{MLS}/datasets/registered/read", f"{MLS}/datasets/unregistered/read",
    f"{MLS}/components/read",
    f"{MLS}/experiments/jobs/read", f"{MLS}/experiments/jobs/write",
}

CHECK_PIPELINE = [
    sys.executable, "-m", "check_jsonschema",
    "--builtin-schema", "vendor.azure-pipelines", "--regex-variant", "nonunicode",
]


def load_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def function_json(folder: str) -> dict:
    return load_json(ROOT / folder / "function.json")


def example_values() -> dict:
    return load_json(ROOT / "local.settings.json.example")["Values"]


def schema_errors(schema_file: str, instance) -> list[str]:
    # Draft 7 whatever the schema declares: function.json says draft-04, but its sqlBinding uses `const`, and a
    # draft-04 validator then rejects every correct timer binding and accepts broken ones (SOURCES.md).
    validator = jsonschema.Draft7Validator(load_json(SCHEMAS / schema_file))
    return [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(instance)]


def parse_timespan(text: str) -> timedelta:
    hours, minutes, seconds = (int(part) for part in text.split(":"))
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def effective_log_level(log_levels: dict, category: str) -> str:
    """The level the host applies to a category: the longest matching prefix in logLevel, else default."""
    matches = [key for key in log_levels if key != "default" and (category == key or category.startswith(key + "."))]
    return log_levels[max(matches, key=len)] if matches else log_levels.get("default", "Information")


# --- function.json ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", FUNCTIONS)
def test_function_json_is_valid_under_the_schemastore_schema(folder):
    assert schema_errors("function.json", function_json(folder)) == []


@pytest.mark.parametrize(
    "broken",
    [{"direction": "out"}, {"schedule": 5}, {"runOnStartup": "true"}],
    ids=["direction-out", "schedule-not-a-string", "runOnStartup-not-a-boolean"],
)
def test_function_json_schema_check_rejects_a_broken_timer_binding(broken):
    binding = {"name": TIMER_PARAMETER, "type": "timerTrigger", "direction": "in", "schedule": "0 0 3 * * *"}
    assert schema_errors("function.json", {"bindings": [binding | broken]}) != []


@pytest.mark.parametrize("folder, setting", FUNCTIONS.items())
def test_function_has_one_timer_binding_whose_schedule_is_an_app_setting(folder, setting):
    config = function_json(folder)
    assert config.get("disabled", False) is False
    assert config.get("scriptFile", "__init__.py") == "__init__.py"
    assert config["bindings"] == [
        {"name": TIMER_PARAMETER, "type": "timerTrigger", "direction": "in", "schedule": f"%{setting}%"}
    ], "one input timer named mytimer, schedule from an app setting, so it can change without a redeploy"


# --- entry points, checked the way the Functions Python worker checks them when it loads a function -------------


@pytest.fixture
def app_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))  # the host runs the app with its root on sys.path


@pytest.mark.parametrize("folder", FUNCTIONS)
def test_entry_point_parameters_match_the_bindings(folder, app_on_path):
    config = function_json(folder)
    assert (ROOT / folder / config.get("scriptFile", "__init__.py")).is_file()
    entry = getattr(importlib.import_module(folder), config.get("entryPoint", "main"))

    bindings = {binding["name"]: binding for binding in config["bindings"]}
    assert "$return" not in bindings, "a timer function has no output"
    parameters = dict(inspect.signature(entry).parameters)
    if "context" not in bindings:
        parameters.pop("context", None)  # the worker passes azure.functions.Context to a `context` parameter
    assert set(parameters) == set(bindings), "the worker refuses to load a function whose parameters differ"

    hints = typing.get_type_hints(entry)
    assert hints[TIMER_PARAMETER] is func.TimerRequest
    assert hints.get("return", type(None)) is type(None), "with no $return binding the function returns None"


# --- host.json -------------------------------------------------------------------------------------------------


def test_host_json_is_valid_under_the_schemastore_schema():
    assert schema_errors("host.json", load_json(ROOT / "host.json")) == []


def test_host_json_uses_the_v4_extension_bundle_and_version_2():
    host = load_json(ROOT / "host.json")
    assert host["version"] == "2.0"
    assert host["extensionBundle"] == {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}


def test_function_timeout_fits_the_consumption_plan():
    timeout = load_json(ROOT / "host.json")["functionTimeout"]
    assert timeout != "-1", "unbounded is not allowed on the Consumption plan"
    assert timedelta(0) < parse_timespan(timeout) <= timedelta(minutes=10)


def test_failed_invocations_and_decision_lines_are_never_sampled_away():
    sampling = load_json(ROOT / "host.json")["logging"]["applicationInsights"]["samplingSettings"]
    excluded = {kind.strip().lower() for kind in sampling.get("excludedTypes", "").split(";")}
    assert sampling.get("isEnabled") is False or {"request", "exception"} <= excluded


@pytest.mark.parametrize(
    "category",
    ["Host.Results", *(f"Function.{name}" for name in FUNCTIONS), *(f"Function.{name}.User" for name in FUNCTIONS)],
)
def test_invocations_and_the_apps_log_lines_reach_application_insights(category):
    # Host.Results fills the `requests` table; Function.<name>.User carries the app's INFO decision lines.
    log_levels = load_json(ROOT / "host.json")["logging"]["logLevel"]
    assert effective_log_level(log_levels, category) in {"Trace", "Debug", "Information"}


# --- local.settings.json.example -------------------------------------------------------------------------------


def test_example_settings_are_valid_under_the_schemastore_schema():
    example = load_json(ROOT / "local.settings.json.example")
    validator = jsonschema.validators.validator_for(load_json(SCHEMAS / "local.settings.json"))
    assert list(validator(load_json(SCHEMAS / "local.settings.json")).iter_errors(example)) == []
    assert example["IsEncrypted"] is False
    assert example["Values"]["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert example["Values"]["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"


def test_the_function_folders_are_the_rows_of_the_functions_table():
    from shared.functions import WORKERS

    folders = {path.parent.name for path in ROOT.glob("*/function.json")}
    assert folders == set(FUNCTIONS) | {worker.name for worker in WORKERS}, \
        "a function is its folder and one row of shared/functions.py"


@pytest.mark.parametrize("worker", ["ComputeWorker", "PipelineWorker"])
def test_a_worker_reads_its_queue_on_the_hosts_storage(worker):
    from shared.functions import WORKERS

    [row] = [row for row in WORKERS if row.name == worker]
    [binding] = function_json(worker)["bindings"]
    assert binding == {"name": "msg", "type": "queueTrigger", "direction": "in", "queueName": row.queue,
                       "connection": "AzureWebJobsStorage"}


def test_example_values_are_strings_and_placeholders():
    values = example_values()
    assert all(isinstance(value, str) for value in values.values()), "the host reads app settings as strings"
    guids = [value for value in values.values() if re.fullmatch(r"[0-9a-fA-F-]{36}", value)]
    assert set(guids) == {"00000000-0000-0000-0000-000000000000"}
    assert values["AZURE_CLIENT_SECRET"].startswith("<")


def test_example_selects_exactly_one_pipeline():
    values = example_values()
    chosen = [name for name in ("RUN_PIPELINE_ID", "RUN_PIPELINE_ENDPOINT_NAME") if values.get(name, "").strip()]
    assert len(chosen) == 1


@pytest.mark.parametrize("folder, setting", FUNCTIONS.items())
def test_example_schedules_are_six_field_ncrontab(folder, setting, app_on_path):
    from shared.ncrontab import validate

    values = example_values()
    assert len(values[setting].split()) == 6, "six fields is the only form every hosting plan accepts"
    validate(values[setting])
    # The binding's %SETTING% resolves from the example the way the host resolves it from app settings.
    validate(function_json(folder)["bindings"][0]["schedule"], env=values)


# --- every setting the code reads is documented, and nothing else ---------------------------------------------


def settings_read_by_code() -> set[str]:
    files = [*(ROOT / "shared").rglob("*.py"), *(path for folder in FUNCTIONS for path in (ROOT / folder).glob("*.py"))]
    names = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SETTING_NAME.match(node.value):
                names.add(node.value)
    return names


def readme_settings_table() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"<!-- section:settings -->(.*?)<!-- /section:settings -->", readme, re.S)
    assert section, "README.md has no settings section"
    rows = [line for line in section.group(1).splitlines() if line.lstrip().startswith("|")]
    return {name for row in rows for name in re.findall(r"`([A-Za-z0-9_.]+)`", row)}


@pytest.fixture(scope="module")
def code_settings():
    names = settings_read_by_code()
    assert names, "found no app setting names in shared/ or the function folders"
    return names


def test_code_reads_only_settings_of_the_design_contract(code_settings):
    assert code_settings - DESIGN_SETTINGS == set()


def test_example_has_every_setting_the_code_reads(code_settings):
    assert code_settings - set(example_values()) == set()


def test_example_has_no_setting_the_code_does_not_read(code_settings):
    assert set(example_values()) - HOST_SETTINGS - code_settings == set()


def test_readme_settings_table_has_every_setting_the_code_reads(code_settings):
    assert code_settings - readme_settings_table() == set()


# --- azure-pipelines.yml ---------------------------------------------------------------------------------------


def check_pipeline(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CHECK_PIPELINE, str(path)], capture_output=True, text=True, cwd=ROOT, check=False)


def pipeline() -> dict:
    return yaml.safe_load((ROOT / "azure-pipelines.yml").read_text(encoding="utf-8"))


def steps(node) -> list[dict]:
    """Every step in the pipeline, in order, whatever job or deployment strategy holds it."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "steps" and isinstance(value, list):
                found.extend(value)
            else:
                found.extend(steps(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(steps(item))
    return found


def stage(name: str) -> dict:
    return next(item for item in pipeline()["stages"] if item["stage"] == name)


def task(node, prefix: str) -> dict:
    return next(step for step in steps(node) if step.get("task", "").startswith(prefix))


def test_pipeline_is_valid_under_the_azure_pipelines_schema():
    result = check_pipeline(ROOT / "azure-pipelines.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_pipeline_schema_check_rejects_a_broken_pipeline(tmp_path):
    broken = tmp_path / "azure-pipelines.yml"
    broken.write_text((ROOT / "azure-pipelines.yml").read_text(encoding="utf-8").replace("steps:", "stepz:", 1))
    result = check_pipeline(broken)
    assert result.returncode != 0
    assert "Schema validation errors" in result.stdout and "stepz" in result.stdout, result.stdout + result.stderr


def test_pipeline_deploys_only_from_main_after_a_successful_build():
    deploy = stage("Deploy")
    assert deploy["dependsOn"] == "Build"
    condition = re.sub(r"\s+", "", deploy["condition"])
    assert condition == "and(succeeded(),eq(variables['Build.SourceBranch'],'refs/heads/main'))"
    assert deploy["jobs"] and all(job.get("deployment") and job.get("environment") for job in deploy["jobs"])


def test_pipeline_publishes_test_results_even_when_tests_fail():
    build = stage("Build")
    publish = task(build, "PublishTestResults@")
    assert publish["condition"] == "succeededOrFailed()"
    pytest_step = next(step["script"] for step in steps(build) if "pytest" in step.get("script", ""))
    assert f"--junitxml={publish['inputs']['testResultsFiles']}" in pytest_step


def test_pipeline_packages_runtime_dependencies_into_python_packages():
    build = stage("Build")
    install = next(step["script"] for step in steps(build) if "--target=" in step.get("script", ""))
    target = re.search(r'--target="?([^"\s]+)"?', install).group(1)
    assert target.endswith(".python_packages/lib/site-packages")
    assert "-r requirements.txt" in install, "only runtime dependencies go into the package"
    archived = task(build, "ArchiveFiles@")["inputs"]
    assert target.startswith(archived["rootFolderOrFile"] + "/") and archived["includeRootFolder"] is False


def test_pipeline_tests_on_the_oldest_and_newest_python_and_packages_with_the_apps_version():
    jobs = {job["job"]: job for job in stage("Build")["jobs"]}
    matrix = jobs["Test"]["strategy"]["matrix"]
    assert sorted(entry["testPython"] for entry in matrix.values()) == ["3.10", "3.13"]
    assert task(jobs["Test"], "UsePythonVersion@")["inputs"]["versionSpec"] == "$(testPython)"
    assert jobs["Package"]["dependsOn"] == "Test"
    assert task(jobs["Package"], "UsePythonVersion@")["inputs"]["versionSpec"] == "$(pythonVersion)"
    assert any("--target=" in step.get("script", "") for step in steps(jobs["Package"]))


def test_requirements_allow_every_python_azure_functions_offers():
    project = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'requires-python = ">=3.10,<3.14"' in project
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    functions = [line for line in lines if line.startswith("azure-functions")]
    assert functions == ['azure-functions>=1.18,<2; python_version < "3.13"',
                         'azure-functions>=2,<3; python_version >= "3.13"']


def test_pipeline_deploys_the_package_to_linux_python_of_the_build_version():
    variables = pipeline()["variables"]
    deploy = task(stage("Deploy"), "AzureFunctionApp@")["inputs"]
    assert deploy["appType"] == "functionAppLinux"
    # The Flex Consumption app docs/deploy.md creates; the comment says what Consumption, Premium and Dedicated use.
    assert deploy["isFlexConsumption"] is True and "runtimeStack" not in deploy
    assert f"runtimeStack: 'PYTHON|{variables['pythonVersion']}'" in (ROOT / "azure-pipelines.yml").read_text()
    assert deploy["connectedServiceNameARM"] == "$(azureServiceConnection)"
    assert deploy["appName"] == "$(functionAppName)"
    artifact = task(stage("Build"), "PublishPipelineArtifact@")["inputs"]["artifact"]
    assert deploy["package"].startswith(f"$(Pipeline.Workspace)/{artifact}/")


# --- docs/aml-timer-functions-role.json ------------------------------------------------------------------------


def role() -> dict:
    return load_json(ROOT / "docs" / "aml-timer-functions-role.json")


def test_role_definition_has_the_fields_az_role_definition_create_reads():
    definition = role()
    assert set(definition) == {
        "Name", "IsCustom", "Description", "Actions", "NotActions", "DataActions", "NotDataActions", "AssignableScopes",
    }
    assert definition["IsCustom"] is True
    assert all(scope.startswith("/subscriptions/") for scope in definition["AssignableScopes"])


def test_role_has_no_wildcard_and_no_data_actions():
    definition = role()
    assert not [action for action in definition["Actions"] if "*" in action]
    assert definition["DataActions"] == [] and definition["NotActions"] == []


@pytest.mark.parametrize("call", APP_CALLS)
def test_role_allows_every_call_the_app_makes(call):
    assert APP_CALLS[call] - set(role()["Actions"]) == set()


def test_role_grants_nothing_beyond_what_the_app_and_its_pipeline_runs_need():
    needed = set().union(*APP_CALLS.values()) | PIPELINE_RUN_ACTIONS
    actions = role()["Actions"]
    assert len(actions) == len(set(actions))
    assert set(actions) - needed == set()


# --- .funcignore and the VS Code project files -----------------------------------------------------------------


def funcignore_patterns() -> list[str]:
    lines = (ROOT / ".funcignore").read_text(encoding="utf-8").splitlines()
    return [line.strip().strip("/") for line in lines if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize(
    "path", ["tests", ".venv", "local.settings.json", ".ci", "bench", "docs", "README.md", "requirements-dev.txt"]
)
def test_funcignore_keeps_dev_files_out_of_the_package(path):
    assert any(fnmatch.fnmatchcase(path, pattern) for pattern in funcignore_patterns())


@pytest.mark.parametrize(
    "path",
    ["host.json", "requirements.txt", "shared", "__init__.py", "function.json", ".python_packages", *FUNCTIONS],
)
def test_funcignore_keeps_what_the_app_needs(path):
    assert not any(fnmatch.fnmatchcase(path, pattern) for pattern in funcignore_patterns())


def test_vscode_deploys_the_project_root_with_a_remote_build():
    settings = load_json(ROOT / ".vscode" / "settings.json")
    assert settings["azureFunctions.deploySubpath"] == "."
    assert settings["azureFunctions.scmDoBuildDuringDeployment"] is True
    assert settings["azureFunctions.projectRuntime"] == "~4"
    assert settings["azureFunctions.pythonVenv"] in funcignore_patterns()


def test_vscode_debug_chain_refers_to_existing_tasks():
    tasks = {item.get("label", f"{item['type']}: {item.get('command')}"): item
             for item in load_json(ROOT / ".vscode" / "tasks.json")["tasks"]}
    launch = load_json(ROOT / ".vscode" / "launch.json")["configurations"]
    assert {config["preLaunchTask"] for config in launch} <= set(tasks)
    assert {item["dependsOn"] for item in tasks.values() if "dependsOn" in item} <= set(tasks)
