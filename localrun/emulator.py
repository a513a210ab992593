"""`--emulator`: the user's own configuration, ticked against the demo of the fake Azure, with no network.

First the user's settings are read exactly as the deployed app reads them (every problem reported, and the run stops
there): what they set is checked, not hidden. Only then do who signs in and which workspace change: the identity and
workspace settings (AZURE_*, AML_SUBSCRIPTION_ID, AML_RESOURCE_GROUP, AML_WORKSPACE_NAME, AML_CLOUD, and the host's
IDENTITY_*/MSI_* endpoints) are the demo's, one line naming each one the user had set, so a developer's real identity
never reaches the fake and the fake's never reaches Azure. Every behaviour setting stays the user's (schedules,
zones, parameters, pipelines.json, include/exclude, dry run, tags, skip and wait, scopes); a setting the user has not
set is the demo's: a function's schedule (with pipelines.json, the one that covers the file, named on a line), and
without any pipeline target the demo's endpoint. The demo workspace holds a published pipeline, pipeline endpoint or
batch endpoint for every one the configuration names. HOME is a throw-away folder (the SDK writes ~/.azureml
there), and `responses` answers every request from `fakeazure`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
from collections.abc import Callable

from localrun.console import EXIT_FAILED, SetupError, note, say
from localrun.invoke import ROOT
from localrun.settings_file import patched_environ

DEV_REQUIREMENTS = "python -m pip install -r requirements-dev.txt"
# Who signs in and which workspace: the demo's in emulator mode (the environment's are put back afterwards).
IDENTITY_SETTINGS = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AML_SUBSCRIPTION_ID",
                     "AML_RESOURCE_GROUP", "AML_WORKSPACE_NAME", "AML_CLOUD")
HOST_IDENTITY_PREFIXES = ("IDENTITY_", "MSI_", "AZUREML_")


def named_targets() -> dict[str, set[str]]:
    """Every pipeline (and batch deployment) the configuration names, by its pipelines.json key (the file read as it
    is: the tick itself reports what is wrong with it)."""
    from shared import jobs
    from shared.targets import DEPLOYMENT_KEY, DEPLOYMENT_SETTING, KINDS

    names = {**{kind.key: kind.setting for kind in KINDS}, DEPLOYMENT_KEY: DEPLOYMENT_SETTING}  # key -> setting
    found = {key: {os.environ[setting].strip()} for key, setting in names.items()
             if os.environ.get(setting, "").strip()}
    try:
        document = json.loads(jobs.JOBS_FILE.read_text(encoding="utf-8-sig")) if jobs.JOBS_FILE.exists() else {}
    except (OSError, ValueError):
        document = {}
    for entry in document.get("pipelines") or [] if isinstance(document, dict) else []:
        for key in names:
            if isinstance(entry, dict) and isinstance(entry.get(key), str):
                found.setdefault(key, set()).add(entry[key])
    return found


def run_emulated(function: str, fire: Callable[[Callable[[], None]], int]) -> int:
    """Check the user's settings as the app would, then run `fire(epilogue)` with the fake installed; the epilogue
    prints what changed in the fake."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    missing = [name for name in ("responses", "fakeazure") if importlib.util.find_spec(name) is None]
    if missing:
        raise SetupError(f"--emulator needs the development tools ({', '.join(missing)} not found): run "
                         f"{DEV_REQUIREMENTS}")
    removed = {name: None for name in os.environ if name in IDENTITY_SETTINGS or name.startswith(
        HOST_IDENTITY_PREFIXES)}
    # HOME changes before the SDK is first imported (a v1 pipeline tick imports it): azureml fixes its ~/.azureml
    # paths (discovery cache, auth) at import time. In a process that imported it earlier (the tests), those paths
    # stay where they were.
    with tempfile.TemporaryDirectory(prefix="aml-timer-emulator-", ignore_cleanup_errors=True) as home:
        import responses

        from fakeazure.demo import demo_azure, demo_identity
        from shared import warm

        targets = named_targets()
        fake = demo_azure(targets)
        defaults = _defaults(function, bool(targets))
        demo = demo_identity(fake)
        yours = sorted(name for name in IDENTITY_SETTINGS if os.environ.get(name, "").strip())
        problem = _refused(function, {**os.environ, **defaults,
                                      **{name: value for name, value in demo.items() if name not in yours}})
        if problem:
            note("emulator: your settings were read as the deployed app reads them, and it would refuse them: "
                 "nothing ran")
            say(f"invocation failed: ConfigError: {problem}")
            return EXIT_FAILED
        for name in yours:
            note(f"emulator: {name} is yours in your settings; the demo's is used (the fake signs in its own "
                 "identity, to its own workspace)")
        fleet = bool(os.environ.get("AML_COMPUTE_SCOPES", "").strip())
        with (patched_environ({**removed, "HOME": home, "USERPROFILE": home, **defaults, **demo}),
              responses.RequestsMock(assert_all_requests_are_fired=False) as wire):
            fake.install(wire)
            warm.forget()  # a connection from an earlier tick in this process would bypass the fake
            try:
                return fire(_summary(function, fake, fleet))
            finally:
                warm.forget()  # and the fake's connection must not outlive the emulator


def _defaults(function: str, named_target: bool) -> dict[str, str]:
    """The demo's settings for what the configuration leaves unset; with pipelines.json and no RUN_PIPELINE_SCHEDULE,
    the host schedule that covers the file (said on a line)."""
    from fakeazure.demo import demo_defaults
    from shared import clock, jobs
    from shared.functions import RUN_PIPELINE
    from shared.hostconfig import function_timeout

    defaults = {name: value for name, value in demo_defaults(named_target).items() if not os.environ.get(name)}
    if function == RUN_PIPELINE.name and RUN_PIPELINE.schedule in defaults and jobs.JOBS_FILE.exists():
        found, problems = jobs.read_jobs(jobs.JOBS_FILE, function_timeout())
        covering = None if problems else jobs.covering_schedule(found, clock.now())
        if covering is not None:
            defaults[RUN_PIPELINE.schedule] = covering.expression
            note(f'emulator: {RUN_PIPELINE.schedule} is not set: "{covering.expression}", the host schedule that '
                 f"covers {jobs.JOBS_FILE.name} (python -m shared.schedule jobs prints it), is used")
    return defaults


def _refused(function: str, env: dict) -> str | None:
    """Why the deployed app would refuse these settings (None: it reads them)."""
    from shared.functions import by_name
    from shared.settings import ConfigError, check_settings

    try:
        check_settings(by_name(function), env)
    except ConfigError as error:
        return str(error)
    return None


def _summary(function: str, fake, fleet: bool) -> Callable[[], None]:
    """What changed in the fake during the tick, printed after the invocation's own lines."""
    workspaces = list(fake.workspaces.values()) if fleet else [fake.workspace]
    before = {(ws.name, name): instance.state for ws in workspaces for name, instance in ws.instances.items()}
    runs_before = set(fake.runs)
    jobs_before = set(fake.batch_jobs)

    def summary() -> None:
        where = f"{len(workspaces)} workspaces in {len(fake.subscriptions)} subscriptions" if fleet else \
            f"workspace {fake.workspace.name}"
        say(f"emulator: fake Azure {where}: {len(fake.requests)} requests answered, none sent to the network")
        new_runs = [run for run_id, run in fake.runs.items() if run_id not in runs_before]
        for run in new_runs:
            tags = " ".join(f"{key}={value}" for key, value in run.tags.items())
            say(f"emulator: run {run.run_id} submitted to experiment {run.experiment}, tags: {tags}")
        new_jobs = [job for name, job in fake.batch_jobs.items() if name not in jobs_before]
        for job in new_jobs:
            inputs = " ".join(f"{key}={value}" for key, value in job.inputs.items()) or "none"
            say(f"emulator: job {job.name} invoked on batch endpoint {job.endpoint} (deployment {job.deployment}), "
                f"experiment {job.experiment}, inputs: {inputs}")
        if function == "RunPipelineTimer" and not new_runs and not new_jobs:
            say("emulator: no pipeline run submitted")
        if function != "RunPipelineTimer":
            for ws in workspaces:
                for name, instance in ws.instances.items():
                    kind = "" if instance.compute_type == "ComputeInstance" else f" ({instance.compute_type})"
                    was = before[(ws.name, name)]
                    change = f"{was} -> {instance.state}" if instance.state != was else f"{instance.state} (unchanged)"
                    say(f"emulator: compute {f'{ws.name}/' if fleet else ''}{name}{kind}: {change}")

    return summary
