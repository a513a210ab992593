"""`python -m localrun FUNCTION`: one tick on demand, in-process against the fake and as a real subprocess."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import azure.functions as func
import pytest

from fakeazure import CLIENT_SECRET, WORKSPACE
from localrun import cli as run
from localrun import invoke
from shared.clock import parse_instant
from shared.ncrontab import validate
from tests.conftest import APP_PREFIXES, BASE_SETTINGS

ROOT = Path(__file__).resolve().parent.parent
# The workspace, and the VM size with its hourly price from the fake's price list.
WS_FIELDS = (" workspace=ws-demo subscription=33333333-3333-3333-3333-333333333333 vm_size=STANDARD_NC6S_V3 "
             "hourly_cost=3.366")
HEADER = re.compile(r'^StopComputeTimer: schedule %STOP_COMPUTE_SCHEDULE% = "0 25 21 \* \* \*" '
                    r"\(at 21:25:00 UTC every day\); firing the tick of \d{4}-\d\d-\d\dT21:25:00Z$")


@pytest.fixture(autouse=True)
def restored_environ():
    """The runner writes to os.environ; whatever it leaves behind is undone (and checked where it matters)."""
    before = dict(os.environ)
    yield
    for name in set(os.environ) - set(before):
        del os.environ[name]
    os.environ.update(before)


def settings_file(tmp_path: Path, name: str = "local.settings.json", **values: str) -> Path:
    """A local.settings.json holding the settings that point at the fake, with `values` on top."""
    path = tmp_path / name
    document = {"IsEncrypted": False, "Values": {"FUNCTIONS_WORKER_RUNTIME": "python", **BASE_SETTINGS, **values}}
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def app_settings() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name.startswith(APP_PREFIXES)}


# --------------------------------------------------------------------------- against a settings file


def test_a_settings_file_pointing_at_the_fake_runs_one_tick(fake, tmp_path, capsys):
    fake.add_instance("ci-a", "Running")
    fake.add_instance("ci-b", "Stopped")
    path = settings_file(tmp_path)

    assert run.main(["StopComputeTimer", "--settings", str(path)]) == 0

    out, err = capsys.readouterr()
    assert {name: instance.state for name, instance in fake.instances.items()} == {"ci-a": "Stopping",
                                                                                    "ci-b": "Stopped"}
    lines = out.splitlines()
    assert HEADER.match(lines[0])
    assert f"INFO shared.compute: compute name=ci-a state=Running action=stopped reason=running{WS_FIELDS}" in lines
    assert any(line.startswith("INFO shared.compute: compute_summary workspace=ws-demo ") and " instances=2 stopped=1 "
               in line for line in lines)
    assert re.fullmatch(r"invocation succeeded: StopComputeTimer in \d+\.\d\d s", last_line(out))
    assert f"note: read {len(BASE_SETTINGS) + 1} app settings from {path}" in err
    assert CLIENT_SECRET not in out + err
    assert app_settings() == {}, "the file's settings are gone after the tick"


def test_log_lines_are_level_logger_message_and_sdk_loggers_stay_quiet(fake, tmp_path, capsys):
    fake.add_instance("ci-a", "Running")
    root_before = (logging.getLogger().level, list(logging.getLogger().handlers))

    assert run.main(["StopComputeTimer", "--settings", str(settings_file(tmp_path))]) == 0

    out = capsys.readouterr().out
    body = out.splitlines()[1:-1]
    assert body and all(re.match(r"^(INFO|WARNING|ERROR) shared\.\w+: \S", line) for line in body), body
    assert (logging.getLogger().level, logging.getLogger().handlers) == root_before, "logging is put back"


def test_values_already_in_the_environment_win_over_the_file(fake, tmp_path, capsys, monkeypatch):
    fake.add_instance("ci-a", "Running")
    # The file names a workspace the fake does not know: the tick succeeds only if the environment's value is used.
    path = settings_file(tmp_path, AML_WORKSPACE_NAME="ws-from-the-file")
    monkeypatch.setenv("AML_WORKSPACE_NAME", WORKSPACE)

    assert run.main(["StopComputeTimer", "--settings", str(path)]) == 0

    out, err = capsys.readouterr()
    assert f"action=stopped reason=running workspace={WORKSPACE} " in out
    assert "ws-from-the-file" not in out
    assert "already set in the environment, so kept: AML_WORKSPACE_NAME" in err
    assert os.environ["AML_WORKSPACE_NAME"] == WORKSPACE
    assert fake.instances["ci-a"].state == "Stopping"


def test_the_default_local_settings_json_of_the_current_directory_is_read(fake, tmp_path, capsys, monkeypatch):
    fake.add_instance("ci-a", "Running")
    settings_file(tmp_path)
    monkeypatch.chdir(tmp_path)

    assert run.main(["StopComputeTimer"]) == 0

    assert fake.instances["ci-a"].state == "Stopping"
    assert f"read {len(BASE_SETTINGS) + 1} app settings from {tmp_path / 'local.settings.json'}" in \
        capsys.readouterr().err


def test_a_missing_default_file_is_fine_when_the_environment_has_the_settings(fake, settings, tmp_path, capsys,
                                                                              monkeypatch):
    fake.add_instance("ci-a", "Running")
    settings()
    monkeypatch.chdir(tmp_path)

    assert run.main(["RunPipelineTimer"]) == 1  # the environment has no pipeline: the app says so

    out, err = capsys.readouterr()
    assert err.splitlines()[0].startswith(f"note: no local.settings.json in {tmp_path}")
    assert last_line(out).startswith("invocation failed: ConfigError: invalid app settings: RUN_PIPELINE_ID, "
                                     "RUN_PIPELINE_ENDPOINT_NAME or RUN_PIPELINE_BATCH_ENDPOINT is missing")
    assert run.main(["StopComputeTimer"]) == 0
    assert fake.instances["ci-a"].state == "Stopping"


def test_a_bad_schedule_exits_1_before_any_network_call(fake, tmp_path, capsys):
    path = settings_file(tmp_path, STOP_COMPUTE_SCHEDULE="25 21 * * *")

    assert run.main(["StopComputeTimer", "--settings", str(path)]) == 1

    out, err = capsys.readouterr()
    assert fake.requests == []
    assert out == ""
    assert "error: StopComputeTimer: schedule %STOP_COMPUTE_SCHEDULE%: '25 21 * * *' has 5 fields" in err
    assert "write '0 25 21 * * *'" in err


def test_a_missing_schedule_setting_exits_1_naming_it(fake, tmp_path, capsys):
    path = settings_file(tmp_path, RUN_PIPELINE_SCHEDULE=None)

    assert run.main(["RunPipelineTimer", "--settings", str(path)]) == 1

    assert "set the app setting RUN_PIPELINE_SCHEDULE" in capsys.readouterr().err
    assert fake.requests == []


def test_a_failing_invocation_exits_1_with_the_error_as_last_line(fake, tmp_path, capsys):
    fake.add_instance("ci-a", "Running")
    fake.add_instance("ci-b", "Running").power_status = 403  # not transient: no retries

    assert run.main(["StopComputeTimer", "--settings", str(settings_file(tmp_path))]) == 1

    out, err = capsys.readouterr()
    assert "ERROR shared.compute: compute name=ci-b state=Running action=failed" in out
    assert last_line(out).startswith("invocation failed: ComputeActionError: 1 of 2 compute instance(s) could not "
                                     "be stopped: ws-demo/ci-b: AuthorizationFailed: ")
    assert "Traceback" not in err, "the app's own errors explain themselves"
    assert CLIENT_SECRET not in out + err


def test_a_wrong_secret_fails_the_sign_in_without_showing_it(fake, tmp_path, capsys):
    fake.secret = "another-secret-value"

    assert run.main(["StopComputeTimer", "--settings", str(settings_file(tmp_path))]) == 1

    out, err = capsys.readouterr()
    assert last_line(out).startswith("invocation failed: SignInError: sign-in failed: mode=service_principal")
    assert "AADSTS7000215" in last_line(out)
    assert CLIENT_SECRET not in out + err


def test_past_due_reaches_the_function(fake, tmp_path, capsys):
    pipeline_id = fake.add_published_pipeline("train")
    path = settings_file(tmp_path, RUN_PIPELINE_ID=pipeline_id)

    assert run.main(["RunPipelineTimer", "--settings", str(path), "--past-due"]) == 0

    out, err = capsys.readouterr()
    assert "note: this is the schedule's latest occurrence; if the app already ran " in err
    assert "WARNING shared.timers: tick function=RunPipelineTimer" in out and "past_due=true" in out
    [submitted] = fake.runs.values()
    assert submitted.tags["past_due"] == "true"
    assert re.search(r"pipeline action=submitted .*run_id=" + submitted.run_id, out)


# --------------------------------------------------------------------------- usage and set-up errors (exit 2)


def test_an_unknown_function_exits_2_naming_the_valid_ones(capsys):
    assert run.main(["NightlyTimer"]) == 2
    err = capsys.readouterr().err
    assert "unknown function 'NightlyTimer': choose RunPipelineTimer, StartComputeTimer or StopComputeTimer" in err


def test_the_function_name_is_matched_ignoring_case(fake, tmp_path, capsys):
    fake.add_instance("ci-a", "Running")
    assert run.main(["stopcomputetimer", "--settings", str(settings_file(tmp_path))]) == 0
    assert HEADER.match(capsys.readouterr().out.splitlines()[0])


def test_a_missing_explicit_settings_file_exits_2(tmp_path, capsys):
    assert run.main(["StopComputeTimer", "--settings", str(tmp_path / "nope.json")]) == 2
    assert f"error: --settings {tmp_path / 'nope.json'}: no such file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        # Python's own wording of the JSON error changed in 3.13; the place is what the runner adds.
        ('{"Values": {"AML_WORKSPACE_NAME": "ws",}}', "is not valid JSON: "),
        ('["a"]', 'is not a local.settings.json: expected {"Values"'),
        ('{"Values": {"RUN_PIPELINE_PARAMETERS": {"a": 1}}}', "Values.RUN_PIPELINE_PARAMETERS is a JSON object"),
        ('{"IsEncrypted": true, "Values": {}}', "is encrypted (IsEncrypted: true)"),
        ('{"Values": {"STOP_COMPUTE_DRY_RUN": "true", "STOP_COMPUTE_DRY_RUN": "false"}}',
         'Values: the key "STOP_COMPUTE_DRY_RUN" appears more than once (JSON keeps only the last, silently)'),
    ],
    ids=["not_json", "not_an_object", "not_a_string", "encrypted", "twice"],
)
def test_an_unusable_settings_file_exits_2_naming_it(tmp_path, capsys, text, fragment):
    path = tmp_path / "broken.json"
    path.write_text(text, encoding="utf-8")

    assert run.main(["StopComputeTimer", "--settings", str(path)]) == 2

    err = capsys.readouterr().err
    assert f"error: {path} " in err or f"error: {path}:" in err
    assert fragment in err
    if "JSON: " in fragment:
        assert re.search(r"is not valid JSON: .+ at line 1 column \d+$", err.strip()), err


def test_non_string_values_are_read_as_core_tools_reads_them(fake, tmp_path, capsys):
    fake.add_instance("ci-a", "Running")
    path = settings_file(tmp_path)
    document = json.loads(path.read_text(encoding="utf-8"))
    document["Values"].update({"STOP_COMPUTE_DRY_RUN": True, "AML_RETRY_BUDGET_SECONDS": 30, "UNUSED": None})
    path.write_text(json.dumps(document), encoding="utf-8")

    assert run.main(["StopComputeTimer", "--settings", str(path)]) == 0

    assert "action=would_stop" in capsys.readouterr().out
    assert fake.instances["ci-a"].state == "Running"


def test_the_emulator_runs_the_settings_files_behaviour_as_the_demos_identity(tmp_path, capsys):
    path = settings_file(tmp_path, STOP_COMPUTE_EXCLUDE="ci-bob", AML_WORKSPACE_NAME="my-real-workspace")

    assert run.main(["StopComputeTimer", "--emulator", "--settings", str(path)]) == 0

    out = capsys.readouterr().out
    assert "emulator: compute ci-alice: Running -> Stopping" in out
    assert "compute name=ci-bob state=Running action=skipped reason=excluded" in out, "the file's own exclude"
    assert "my-real-workspace" not in out and "workspace=ws-demo" in out, "the demo's workspace"


def test_the_emulator_without_the_test_tools_says_what_to_install(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "responses", None)  # import responses now raises ImportError

    assert run.main(["StopComputeTimer", "--emulator"]) == 2

    assert "python -m pip install -r requirements-dev.txt" in capsys.readouterr().err


# --------------------------------------------------------------------------- the host's contract, on a stand-in app


@pytest.fixture
def stand_in_app(tmp_path, monkeypatch):
    """An app root with one timer function whose binding is not called `mytimer`, to see what the runner passes."""
    root = tmp_path / "app"
    folder = root / "ProbeTimer"
    folder.mkdir(parents=True)
    (folder / "function.json").write_text(json.dumps({"scriptFile": "__init__.py", "bindings": [
        {"name": "clock", "type": "timerTrigger", "direction": "in", "schedule": "0 */5 * * * *"}]}))
    (folder / "__init__.py").write_text(
        "import logging, os\n"
        "calls = []\n"
        "def main(clock) -> None:\n"
        "    calls.append(clock)\n"
        "    logging.getLogger(__name__).info('fired')\n"
        "    if os.environ.get('PROBE_FAIL'):\n"
        "        raise ValueError('boom with ' + os.environ.get('AZURE_CLIENT_SECRET', ''))\n"
    )
    monkeypatch.setattr(invoke, "ROOT", root)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delitem(sys.modules, "ProbeTimer", raising=False)
    monkeypatch.chdir(tmp_path)
    yield root
    sys.modules.pop("ProbeTimer", None)


def test_main_gets_a_host_timer_under_the_binding_name_for_the_latest_occurrence(stand_in_app, capsys):
    before = datetime.now(timezone.utc)

    assert run.main(["ProbeTimer", "--past-due"]) == 0

    [timer] = sys.modules["ProbeTimer"].calls
    assert isinstance(timer, func.TimerRequest) and timer.past_due is True
    assert timer.schedule == {"AdjustForDST": True}
    fired, last = parse_instant(timer.schedule_status["Next"]), parse_instant(timer.schedule_status["Last"])
    schedule = validate("0 */5 * * * *")
    assert fired in (schedule.latest_at_or_before(before), schedule.latest_at_or_before(datetime.now(timezone.utc)))
    assert fired - last == timedelta(minutes=5), "Last is the occurrence before"
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith('ProbeTimer: schedule "0 */5 * * * *" (every 5 minutes); firing the tick of')
    assert out.splitlines()[0].endswith(" as past due")
    assert "INFO ProbeTimer: fired" in out, "the function's own logger is shown at INFO"


def test_an_unexpected_exception_prints_its_traceback_and_never_the_secret(stand_in_app, capsys, monkeypatch):
    monkeypatch.setenv("PROBE_FAIL", "1")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", CLIENT_SECRET)

    assert run.main(["ProbeTimer"]) == 1

    out, err = capsys.readouterr()
    assert last_line(out) == "invocation failed: ValueError: boom with ***"
    assert "Traceback (most recent call last)" in err and "ValueError: boom with ***" in err
    assert CLIENT_SECRET not in out + err


def test_a_function_folder_without_a_timer_binding_exits_2(stand_in_app, capsys):
    (stand_in_app / "ProbeTimer" / "function.json").write_text('{"bindings": [{"type": "httpTrigger"}]}')
    assert run.main(["ProbeTimer"]) == 2
    assert "unknown function 'ProbeTimer'" in capsys.readouterr().err, "the runner fires timer functions only"


# --------------------------------------------------------------------------- emulator, in-process


def test_emulator_stop_compute_changes_only_the_fake_and_restores_the_environment(capsys, monkeypatch):
    # A developer's real identity and workspace are in the environment: none may reach the fake, and all are there
    # afterwards.
    home = os.environ["HOME"]
    monkeypatch.setenv("AML_WORKSPACE_NAME", "my-real-workspace")
    monkeypatch.setenv("IDENTITY_ENDPOINT", "http://169.254.0.1/msi/token")

    assert run.main(["StopComputeTimer", "--emulator"]) == 0

    out, err = capsys.readouterr()
    assert HEADER.match(out.splitlines()[0])
    stopped = re.findall(r"^INFO shared\.compute: compute name=(\S+) state=Running action=stopped", out, re.M)
    assert sorted(stopped) == ["ci-alice", "ci-bob"]
    assert "compute name=gpu-shared state=Running action=skipped reason=exempt_tag" in out
    assert "compute name=cpu-cluster" not in out, "clusters are not compute instances"
    assert re.search(r"^INFO shared\.compute: compute_summary workspace=ws-demo .* instances=7 stopped=2 "
                     r".*dry_run=false", out, re.M)
    assert "emulator: compute ci-alice: Running -> Stopping" in out
    assert "emulator: compute ci-dan: Stopped (unchanged)" in out
    assert "emulator: compute cpu-cluster (AmlCompute): Running (unchanged)" in out
    assert re.fullmatch(r"invocation succeeded: StopComputeTimer in \d+\.\d\d s", last_line(out))
    assert "my-real-workspace" not in out
    assert CLIENT_SECRET not in out + err
    assert app_settings() == {"AML_WORKSPACE_NAME": "my-real-workspace",
                              "IDENTITY_ENDPOINT": "http://169.254.0.1/msi/token"}
    assert os.environ["HOME"] == home, "HOME is put back"


def test_the_emulator_keeps_the_developers_behaviour_settings(capsys, monkeypatch):
    monkeypatch.setenv("STOP_COMPUTE_DRY_RUN", "true")

    assert run.main(["StopComputeTimer", "--emulator"]) == 0

    out = capsys.readouterr().out
    assert "compute name=ci-alice state=Running action=would_stop" in out
    assert "emulator: compute ci-alice: Running (unchanged)" in out


def test_emulator_run_pipeline_submits_the_endpoint_default_version(capsys):
    assert run.main(["RunPipelineTimer", "--emulator", "--past-due"]) == 0

    out, err = capsys.readouterr()
    [line] = [line for line in out.splitlines() if "pipeline action=submitted" in line]
    assert line.startswith("INFO shared.submission: ") and "pipeline_endpoint=nightly-train" in line
    run_id = re.search(r"run_id=(\S+)", line).group(1)
    assert re.search(rf"^emulator: run {run_id} submitted to experiment scheduled-pipeline-runs, tags: "
                     r"started_by=aml-timer-functions schedule_tick=\S+ function=RunPipelineTimer past_due=true ", out,
                     re.M)
    assert last_line(out).startswith("invocation succeeded: RunPipelineTimer")
    assert CLIENT_SECRET not in out + err


def test_a_run_without_storage_leaves_the_developers_storage_alone_and_says_claims_are_off(capsys, monkeypatch):
    real = "DefaultEndpointsProtocol=https;AccountName=myrealaccount;AccountKey=c2VjcmV0;EndpointSuffix=x.net"
    monkeypatch.setenv("AzureWebJobsStorage", real)

    assert run.main(["RunPipelineTimer", "--emulator", "--past-due"]) == 0

    out, err = capsys.readouterr()
    assert "claims action=off reason=no_storage" in out
    assert "myrealaccount" not in out + err and "c2VjcmV0" not in out + err
    assert os.environ["AzureWebJobsStorage"] == real, "put back after the run"


def test_the_demo_workspace_has_what_the_readme_promises():
    from fakeazure.demo import demo_azure, demo_settings

    fake = demo_azure()
    states = [(instance.state, instance.compute_type) for instance in fake.instances.values()]
    assert states.count(("Running", "ComputeInstance")) >= 3
    assert {("JobRunning", "ComputeInstance"), ("Stopped", "ComputeInstance"), ("Starting", "ComputeInstance"),
            ("Running", "AmlCompute")} <= set(states)
    assert any(instance.tags == {"autostop": "false"} for instance in fake.instances.values())
    [endpoint] = fake.endpoints.values()
    assert len(endpoint["versions"]) == 2 and fake.published
    values = demo_settings(fake)
    assert values["AZURE_CLIENT_SECRET"] == fake.secret
    assert (values["RUN_PIPELINE_SCHEDULE"], values["STOP_COMPUTE_SCHEDULE"]) == ("0 0 3 * * *", "0 25 21 * * *")


# --------------------------------------------------------------------------- as a user runs it


def run_cli(tmp_path: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if not name.startswith(APP_PREFIXES)}
    env.update({"HOME": str(tmp_path), "USERPROFILE": str(tmp_path), **extra_env})
    return subprocess.run([sys.executable, "-m", "localrun", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180)


def test_cli_emulator_stop_compute(tmp_path):
    result = run_cli(tmp_path, "StopComputeTimer", "--emulator")

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert HEADER.match(lines[0])
    workspace = " workspace=ws-demo subscription=33333333-3333-3333-3333-333333333333"
    assert (f"INFO shared.compute: compute name=ci-alice state=Running action=stopped reason=running{workspace} "
            "vm_size=STANDARD_DS3_V2 hourly_cost=0.293") in lines
    assert (f"INFO shared.compute: compute name=ci-bob state=Running action=stopped reason=running{workspace} "
            "vm_size=STANDARD_E4DS_V4 hourly_cost=0.317") in lines
    assert any(line.startswith("INFO shared.compute: compute_summary ") for line in lines)
    assert "emulator: compute ci-bob: Running -> Stopping" in lines
    assert re.fullmatch(r"invocation succeeded: StopComputeTimer in \d+\.\d\d s", lines[-1])
    assert CLIENT_SECRET not in result.stdout + result.stderr
    assert not (tmp_path / ".azureml").exists()


def test_cli_emulator_run_pipeline(tmp_path):
    result = run_cli(tmp_path, "RunPipelineTimer", "--emulator")

    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^INFO shared\.submission: pipeline action=submitted ", result.stdout, re.M)
    assert re.search(r"^emulator: run \S+ submitted to experiment ", result.stdout, re.M)
    assert CLIENT_SECRET not in result.stdout + result.stderr
    assert not (tmp_path / ".azureml").exists(), "the SDK's discovery cache went to the emulator's own HOME"


def test_cli_unknown_function_exits_2(tmp_path):
    result = run_cli(tmp_path, "StopCompute")

    assert result.returncode == 2
    assert result.stdout == ""
    assert ("unknown function 'StopCompute': choose RunPipelineTimer, StartComputeTimer or StopComputeTimer"
            in result.stderr)


def test_cli_bad_schedule_exits_1(tmp_path):
    path = settings_file(tmp_path, RUN_PIPELINE_SCHEDULE="0 0 3 * * 7")

    result = run_cli(tmp_path, "RunPipelineTimer", "--settings", str(path))

    assert result.returncode == 1
    assert result.stdout == ""
    assert "7 is not a day of the week" in result.stderr


def test_cli_environment_wins_over_the_settings_file(tmp_path):
    # Both name the schedule: the file's is broken, the environment's is fine, so the tick gets as far as
    # the settings check (the file sets no pipeline) and never to the network.
    path = settings_file(tmp_path, RUN_PIPELINE_SCHEDULE="every night")

    result = run_cli(tmp_path, "RunPipelineTimer", "--settings", str(path), RUN_PIPELINE_SCHEDULE="0 30 2 * * *")

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith('RunPipelineTimer: schedule %RUN_PIPELINE_SCHEDULE% = "0 30 2 * * *"')
    assert "kept: RUN_PIPELINE_SCHEDULE" in result.stderr
    assert last_line(result.stdout).startswith("invocation failed: ConfigError: invalid app settings: "
                                               "RUN_PIPELINE_ID, RUN_PIPELINE_ENDPOINT_NAME or "
                                               "RUN_PIPELINE_BATCH_ENDPOINT is missing")


def test_emulator_acts_on_the_demo_fleet_when_scopes_are_given(capsys, monkeypatch):
    from fakeazure.demo import DEMO_FLEET_SCOPES

    monkeypatch.setenv("AML_COMPUTE_SCOPES", DEMO_FLEET_SCOPES)

    assert run.main(["StopComputeTimer", "--emulator"]) == 0

    out = capsys.readouterr().out
    assert "emulator: fake Azure 4 workspaces in 2 subscriptions: " in out
    changed = re.findall(r"^emulator: compute (\S+): Running -> Stopping$", out, re.M)
    assert changed == ["ws-demo/ci-alice", "ws-demo/ci-bob", "ws-research/ci-ravi", "ws-prod/ci-ops"]
    assert re.search(r"^INFO shared\.compute: compute_total power=stop workspaces=4 instances=12 stopped=4 ", out, re.M)
    assert os.environ["AML_COMPUTE_SCOPES"] == DEMO_FLEET_SCOPES


def test_emulator_start_compute_starts_only_the_opted_in_stopped_instance(capsys):
    assert run.main(["StartComputeTimer", "--emulator"]) == 0

    out = capsys.readouterr().out
    assert re.findall(r"^emulator: compute (\S+): Stopped -> Starting$", out, re.M) == ["ci-dan"]
    assert "compute name=ci-frank state=Stopped action=skipped reason=not_tagged" in out
    assert "compute name=ci-alice state=Running action=skipped reason=not_tagged" in out


# --------------------------------------------------------------------------- emulator: it checks what you set first


def test_the_emulator_refuses_what_azure_would_refuse_before_anything_runs(capsys, monkeypatch):
    monkeypatch.setenv("AZURE_CLIENT_ID", CLIENT_SECRET)  # a secret pasted into the wrong setting
    monkeypatch.setenv("AML_SUBSCRIPTION_ID", "nonsense")
    monkeypatch.setenv("AML_WORKSPACE_NAME", "@@@")
    monkeypatch.setenv("AML_CLOUD", "AzureGermanCloud")

    assert run.main(["StopComputeTimer", "--emulator"]) == 1

    out, err = capsys.readouterr()
    [failed] = [line for line in out.splitlines() if line.startswith("invocation failed: ConfigError: ")]
    for name in ("AZURE_CLIENT_ID is not valid", "AML_SUBSCRIPTION_ID is not valid", "AML_WORKSPACE_NAME is not valid",
                 "AML_CLOUD is not valid"):
        assert name in failed
    assert "would refuse them: nothing ran" in err
    assert "emulator: compute" not in out and CLIENT_SECRET not in out + err


def test_the_emulator_names_each_setting_of_yours_it_replaces(capsys, monkeypatch):
    monkeypatch.setenv("AML_SUBSCRIPTION_ID", "99999999-9999-9999-9999-999999999999")
    monkeypatch.setenv("AML_RESOURCE_GROUP", "rg-mine")
    monkeypatch.setenv("AML_WORKSPACE_NAME", "ws-mine")

    assert run.main(["StopComputeTimer", "--emulator"]) == 0

    out, err = capsys.readouterr()
    replaced = re.findall(r"^emulator: (\S+) is yours in your settings; the demo's is used", err, re.M)
    assert replaced == ["AML_RESOURCE_GROUP", "AML_SUBSCRIPTION_ID", "AML_WORKSPACE_NAME"]
    assert "emulator: compute ci-alice: Running -> Stopping" in out


def test_the_documented_route_of_pipelines_json_runs_in_the_emulator(capsys, monkeypatch, tmp_path):
    from shared import jobs

    path = tmp_path / "pipelines.json"
    path.write_text((ROOT / "pipelines.json.example").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(jobs, "JOBS_FILE", path)

    assert run.main(["RunPipelineTimer", "--emulator"]) == 0

    out, err = capsys.readouterr()
    [said] = [line for line in err.splitlines() if line.startswith("emulator: ")]
    assert said.startswith('emulator: RUN_PIPELINE_SCHEDULE is not set: "0 0,5 * * * *", the host schedule that '
                           "covers pipelines.json")
    assert "INFO shared.pipeline_tick: pipeline_summary " in out
    assert last_line(out).startswith("invocation succeeded: RunPipelineTimer")
