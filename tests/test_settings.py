"""App settings: parsing, defaults, and one clear error naming every bad setting (pure, no Azure)."""

from __future__ import annotations

import json

import pytest

from fakeazure import CLIENT_SECRET
from shared.settings import (
    DEFAULT_EXPERIMENT,
    DEFAULT_RETRY_BUDGET_SECONDS,
    ConfigError,
    load_compute_settings,
    load_pipeline_settings,
)
from tests.conftest import BASE_SETTINGS
from tests.test_config_files import settings_read_by_code

PIPELINE_ID = "77777777-7777-7777-7777-777777777777"
PIPELINE = {**BASE_SETTINGS, "RUN_PIPELINE_ID": PIPELINE_ID}
COMPUTE = dict(BASE_SETTINGS)


def with_(base: dict, **overrides: str | None) -> dict:
    merged = {**base, **overrides}
    return {k: v for k, v in merged.items() if v is not None}


def test_pipeline_defaults():
    settings = load_pipeline_settings(PIPELINE)

    assert settings.job.experiment == DEFAULT_EXPERIMENT and settings.job.parameters == {}
    assert settings.job.skip_if_active is False and settings.job.wait_minutes == 0
    assert settings.azure.cloud == "AzureCloud" and settings.azure.retry_budget_seconds == DEFAULT_RETRY_BUDGET_SECONDS


def test_compute_defaults():
    settings = load_compute_settings(COMPUTE)

    assert settings.include == () and settings.exclude == ()
    assert settings.tag == ("autostop", "false") and settings.dry_run is False


@pytest.mark.parametrize("text", ["true", "TRUE", "1", "yes", "Yes", " true "])
def test_true_booleans(text):
    assert load_compute_settings(with_(COMPUTE, STOP_COMPUTE_DRY_RUN=text)).dry_run is True


@pytest.mark.parametrize("text", ["false", "False", "0", "no", "NO", ""])
def test_false_booleans(text):
    assert load_compute_settings(with_(COMPUTE, STOP_COMPUTE_DRY_RUN=text)).dry_run is False


def test_values_are_trimmed_and_lists_split():
    settings = load_compute_settings(with_(COMPUTE, STOP_COMPUTE_INCLUDE=" gpu-* , dev ,ci-[0-9]",
                                           STOP_COMPUTE_EXEMPT_TAG=" keep = Yes ", AML_CLOUD="azurechinacloud"))

    assert settings.include == ("gpu-*", "dev", "ci-[0-9]")
    assert settings.tag == ("keep", "Yes") and settings.azure.cloud == "AzureChinaCloud"


def test_parameters_and_wait():
    settings = load_pipeline_settings(with_(PIPELINE, RUN_PIPELINE_PARAMETERS='{"a": 1, "b": "x", "c": false}',
                                            RUN_PIPELINE_WAIT_MINUTES="9", RUN_PIPELINE_SKIP_IF_ACTIVE="1"))

    assert settings.job.parameters == {"a": 1, "b": "x", "c": False}
    assert settings.job.wait_minutes == 9 and settings.job.skip_if_active is True


def test_managed_identity_needs_no_tenant_or_client():
    settings = load_pipeline_settings(with_(PIPELINE, AZURE_CLIENT_SECRET=None, AZURE_CLIENT_ID=None,
                                            AZURE_TENANT_ID=None))

    assert settings.azure.uses_service_principal is False and settings.azure.client_id is None


def test_tenant_may_be_a_domain():
    assert load_pipeline_settings(with_(PIPELINE, AZURE_TENANT_ID="contoso.onmicrosoft.com")).azure.tenant_id


def test_secret_is_not_in_the_settings_repr():
    assert CLIENT_SECRET not in repr(load_pipeline_settings(PIPELINE))


BAD_PIPELINE = [
    ({"AML_SUBSCRIPTION_ID": None}, "AML_SUBSCRIPTION_ID is missing"),
    ({"AML_SUBSCRIPTION_ID": ""}, "AML_SUBSCRIPTION_ID is missing"),
    ({"AML_SUBSCRIPTION_ID": "   "}, "AML_SUBSCRIPTION_ID is missing"),
    ({"AML_SUBSCRIPTION_ID": "1234"}, "AML_SUBSCRIPTION_ID is not valid"),
    ({"AML_RESOURCE_GROUP": None}, "AML_RESOURCE_GROUP is missing"),
    ({"AML_RESOURCE_GROUP": "rg with spaces"}, "AML_RESOURCE_GROUP is not valid"),
    ({"AML_RESOURCE_GROUP": "ends-with-dot."}, "AML_RESOURCE_GROUP is not valid"),
    ({"AML_WORKSPACE_NAME": None}, "AML_WORKSPACE_NAME is missing"),
    ({"AML_WORKSPACE_NAME": "-leading-hyphen"}, "AML_WORKSPACE_NAME is not valid"),
    ({"AML_WORKSPACE_NAME": "x" * 40}, "AML_WORKSPACE_NAME is not valid: expected the workspace name (2-33 letters, "
                                      "digits, '-', '_'); the value has 40 characters (letters)"),
    ({"AML_CLOUD": "AzureGermanCloud"}, "AML_CLOUD is not valid"),
    ({"AML_RETRY_BUDGET_SECONDS": "soon"}, "AML_RETRY_BUDGET_SECONDS is not valid"),
    ({"AML_RETRY_BUDGET_SECONDS": "-1"}, "AML_RETRY_BUDGET_SECONDS is not valid"),
    ({"AML_RETRY_BUDGET_SECONDS": "99999"}, "AML_RETRY_BUDGET_SECONDS is not valid"),
    ({"AZURE_CLIENT_ID": "my-app"}, "AZURE_CLIENT_ID is not valid: expected an application (client) id, a GUID of "
                                    "36 characters such as 00000000-0000-0000-0000-000000000000; the value has 6 "
                                    "characters (letters)"),
    ({"AZURE_CLIENT_ID": None}, "AZURE_CLIENT_ID is missing: a service principal"),
    ({"AZURE_TENANT_ID": None}, "AZURE_TENANT_ID is missing: a service principal"),
    ({"AZURE_TENANT_ID": "not a tenant"}, "AZURE_TENANT_ID is not valid: expected a tenant id GUID or a domain such "
                                          "as contoso.onmicrosoft.com; the value has 12 characters (letters, other "
                                          "characters)"),
    ({"RUN_PIPELINE_SCHEDULE": None}, "RUN_PIPELINE_SCHEDULE is missing"),
    ({"RUN_PIPELINE_SCHEDULE": "0 25 21 * *"}, "RUN_PIPELINE_SCHEDULE='0 25 21 * *' is not a valid schedule"),
    ({"RUN_PIPELINE_SCHEDULE": "0 0 0 * * 7"}, "is not a valid schedule"),
    ({"RUN_PIPELINE_SCHEDULE": "01:00:00"}, "is not a valid schedule"),
    ({"RUN_PIPELINE_SCHEDULE": "0 0 0 30 2 *"}, "is not a valid schedule"),
    ({"RUN_PIPELINE_SCHEDULE": "0\t0 0 * * *"}, "is not a valid schedule"),
    ({"RUN_PIPELINE_ID": None}, "RUN_PIPELINE_ID, RUN_PIPELINE_ENDPOINT_NAME or RUN_PIPELINE_BATCH_ENDPOINT is "
                                "missing"),
    ({"RUN_PIPELINE_ENDPOINT_NAME": "nightly"}, "are both set"),
    ({"RUN_PIPELINE_ID": "abc"}, "RUN_PIPELINE_ID is not valid"),
    ({"RUN_PIPELINE_ID": None, "RUN_PIPELINE_ENDPOINT_NAME": "bad name!"}, "RUN_PIPELINE_ENDPOINT_NAME is not valid"),
    ({"RUN_PIPELINE_EXPERIMENT": "has space"}, "RUN_PIPELINE_EXPERIMENT is not valid"),
    ({"RUN_PIPELINE_PARAMETERS": "{"}, "RUN_PIPELINE_PARAMETERS is not valid JSON"),
    ({"RUN_PIPELINE_PARAMETERS": "'a'"}, "RUN_PIPELINE_PARAMETERS is not valid JSON"),
    ({"RUN_PIPELINE_PARAMETERS": "42"}, "RUN_PIPELINE_PARAMETERS is a JSON number, not an object"),
    ({"RUN_PIPELINE_PARAMETERS": '"text"'}, "RUN_PIPELINE_PARAMETERS is a JSON string, not an object"),
    ({"RUN_PIPELINE_PARAMETERS": '{"a": [1]}'}, "RUN_PIPELINE_PARAMETERS has values"),
    ({"RUN_PIPELINE_PARAMETERS": '{"a": null}'}, "RUN_PIPELINE_PARAMETERS has values"),
    ({"RUN_PIPELINE_PARAMETERS": '{"a": 1, "a": 2}'}, 'RUN_PIPELINE_PARAMETERS: the key "a" appears more than once'),
    ({"RUN_PIPELINE_SKIP_IF_ACTIVE": "y"}, "RUN_PIPELINE_SKIP_IF_ACTIVE is not a boolean"),
    ({"RUN_PIPELINE_WAIT_MINUTES": "1.5"}, "RUN_PIPELINE_WAIT_MINUTES is not valid"),
    ({"RUN_PIPELINE_WAIT_MINUTES": "100000"}, "RUN_PIPELINE_WAIT_MINUTES is not valid"),
]

BAD_COMPUTE = [
    ({"STOP_COMPUTE_SCHEDULE": None}, "STOP_COMPUTE_SCHEDULE is missing"),
    ({"STOP_COMPUTE_SCHEDULE": "@daily"}, "STOP_COMPUTE_SCHEDULE is not a valid schedule"),
    ({"STOP_COMPUTE_SCHEDULE": "0 0 0 L * *"}, "is not a valid schedule"),
    ({"STOP_COMPUTE_INCLUDE": "gpu-[ab"}, "STOP_COMPUTE_INCLUDE has invalid entries 'gpu-[ab'"),
    ({"STOP_COMPUTE_INCLUDE": "a,,b"}, "STOP_COMPUTE_INCLUDE has invalid entries ''"),
    ({"STOP_COMPUTE_INCLUDE": "name with space"}, "STOP_COMPUTE_INCLUDE has invalid entries"),
    ({"STOP_COMPUTE_EXCLUDE": "ok,bad]"}, "STOP_COMPUTE_EXCLUDE has invalid entries 'bad]'"),
    ({"STOP_COMPUTE_EXCLUDE": "sub/ws/ci"}, "STOP_COMPUTE_EXCLUDE has invalid entries"),
    ({"STOP_COMPUTE_EXCLUDE": "ws/"}, "STOP_COMPUTE_EXCLUDE has invalid entries"),
    ({"STOP_COMPUTE_EXEMPT_TAG": "autostop"}, "STOP_COMPUTE_EXEMPT_TAG is not valid"),
    ({"STOP_COMPUTE_EXEMPT_TAG": "=false"}, "STOP_COMPUTE_EXEMPT_TAG is not valid"),
    ({"STOP_COMPUTE_EXEMPT_TAG": "autostop="}, "STOP_COMPUTE_EXEMPT_TAG is not valid"),
    ({"STOP_COMPUTE_DRY_RUN": "dry"}, "STOP_COMPUTE_DRY_RUN is not a boolean"),
    ({"STOP_COMPUTE_DRY_RUN": "2"}, "STOP_COMPUTE_DRY_RUN is not a boolean"),
]


@pytest.mark.parametrize(("overrides", "fragment"), BAD_PIPELINE)
def test_bad_pipeline_setting_is_named(overrides, fragment):
    with pytest.raises(ConfigError) as error:
        load_pipeline_settings(with_(PIPELINE, **overrides))

    assert fragment in str(error.value)
    assert len(error.value.problems) == 1, error.value.problems
    assert CLIENT_SECRET not in str(error.value)


@pytest.mark.parametrize(("overrides", "fragment"), BAD_COMPUTE)
def test_bad_compute_setting_is_named(overrides, fragment):
    with pytest.raises(ConfigError) as error:
        load_compute_settings(with_(COMPUTE, **overrides))

    assert fragment in str(error.value)
    assert len(error.value.problems) == 1, error.value.problems
    assert CLIENT_SECRET not in str(error.value)


def test_an_empty_environment_names_every_required_setting():
    with pytest.raises(ConfigError) as error:
        load_pipeline_settings({})

    for name in ("AML_SUBSCRIPTION_ID", "AML_RESOURCE_GROUP", "AML_WORKSPACE_NAME", "RUN_PIPELINE_SCHEDULE",
                 "RUN_PIPELINE_ID, RUN_PIPELINE_ENDPOINT_NAME or RUN_PIPELINE_BATCH_ENDPOINT"):
        assert name in str(error.value)


def test_a_secret_typed_into_another_setting_is_not_echoed_as_the_secret():
    with pytest.raises(ConfigError) as error:
        load_pipeline_settings(with_(PIPELINE, AZURE_CLIENT_ID=None))

    assert CLIENT_SECRET not in str(error.value) and "AZURE_CLIENT_SECRET is set" in str(error.value)


@pytest.mark.parametrize("name", ["AZURE_CLIENT_ID", "AZURE_TENANT_ID"])
def test_a_secret_pasted_into_an_identity_setting_is_described_not_repeated(name):
    with pytest.raises(ConfigError) as error:
        load_pipeline_settings(with_(PIPELINE, **{name: CLIENT_SECRET}))

    message = str(error.value)
    assert CLIENT_SECRET not in message
    assert f"{name} is not valid: expected " in message
    assert f"the value has {len(CLIENT_SECRET)} characters (letters, digits)" in message


def host_json(tmp_path, **document) -> object:
    path = tmp_path / "host.json"
    path.write_text(json.dumps({"version": "2.0", **document}), encoding="utf-8")
    return path


@pytest.mark.parametrize(("timeout", "longest"), [("00:10:00", 9), ("00:30:00", 29), ("1.00:00:00", 1439)])
def test_a_wait_fits_in_the_function_timeout_with_a_minute_to_spare(tmp_path, timeout, longest):
    path = host_json(tmp_path, functionTimeout=timeout)

    loaded = load_pipeline_settings(with_(PIPELINE, RUN_PIPELINE_WAIT_MINUTES=str(longest)), path)
    assert loaded.job.wait_minutes == longest
    with pytest.raises(ConfigError) as error:
        load_pipeline_settings(with_(PIPELINE, RUN_PIPELINE_WAIT_MINUTES=str(longest + 1)), path)

    message = str(error.value)
    assert f"RUN_PIPELINE_WAIT_MINUTES={longest + 1} does not fit in host.json functionTimeout" in message
    assert f"set RUN_PIPELINE_WAIT_MINUTES to at most {longest}, or raise functionTimeout" in message


def test_without_a_function_timeout_the_consumption_default_of_5_minutes_applies(tmp_path):
    with pytest.raises(ConfigError, match=r"functionTimeout \(00:05:00\)"):
        load_pipeline_settings(with_(PIPELINE, RUN_PIPELINE_WAIT_MINUTES="5"), host_json(tmp_path))


def test_an_unlimited_function_timeout_allows_the_longest_wait(tmp_path):
    path = host_json(tmp_path, functionTimeout="-1")

    assert load_pipeline_settings(with_(PIPELINE, RUN_PIPELINE_WAIT_MINUTES="1440"), path).job.wait_minutes == 1440


def test_the_apps_own_host_json_allows_a_wait_of_9_minutes():
    assert load_pipeline_settings(with_(PIPELINE, RUN_PIPELINE_WAIT_MINUTES="9")).job.wait_minutes == 9
    with pytest.raises(ConfigError, match=r"functionTimeout \(00:10:00\)"):
        load_pipeline_settings(with_(PIPELINE, RUN_PIPELINE_WAIT_MINUTES="10"))


PASTED_SECRET = "Zq8~3kP.vN_x9T-abcDEF~1234567890abcdXYZ"  # the shape of an Entra client secret (40 characters)
# What a setting needs beside it to be read at all (a zone needs its local schedule and the other way round).
PARTNERS = {"_TIME_ZONE": ("_LOCAL_SCHEDULE", "0 0 3 * * *"), "_LOCAL_SCHEDULE": ("_TIME_ZONE", "UTC"),
            "RUN_PIPELINE_BATCH_DEPLOYMENT": ("RUN_PIPELINE_BATCH_ENDPOINT", "score")}


@pytest.mark.parametrize("name", sorted(settings_read_by_code() - {"AZURE_CLIENT_SECRET"}))
def test_a_secret_pasted_into_any_setting_is_never_repeated(name):
    env = {**BASE_SETTINGS, "RUN_PIPELINE_ID": "77777777-7777-7777-7777-777777777777", name: PASTED_SECRET}
    for suffix, (partner, value) in PARTNERS.items():
        if name.endswith(suffix):
            env[partner if partner.startswith("RUN_") else name.removesuffix(suffix) + partner] = value
    if name == "RUN_PIPELINE_BATCH_DEPLOYMENT":
        env["RUN_PIPELINE_ID"] = ""
    said = []
    for load in (load_pipeline_settings, load_compute_settings,
                 lambda values: load_compute_settings(values, "start")):
        try:
            load(env)
        except ConfigError as error:
            said.append(str(error))
    assert said, f"{name}: a secret is not a valid value of any setting"
    assert not any(PASTED_SECRET in text for text in said)
