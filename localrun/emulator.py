"""`--emulator`: the same tick against the demo workspace of the fake Azure, with no settings and no network.

The demo's settings replace every app setting of the environment (so a developer's real settings never reach the
fake, and the fake's never reach Azure), HOME is a throw-away folder (the SDK writes ~/.azureml there), and
`responses` answers every request from `fakeazure`. One setting of the environment is kept: AML_COMPUTE_SCOPES, so
the compute functions can be tried on the demo's two-subscription fleet (fakeazure.demo.DEMO_FLEET_SCOPES).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from collections.abc import Callable

from localrun.console import SetupError, say
from localrun.invoke import ROOT
from localrun.settings_file import patched_environ

DEV_REQUIREMENTS = "python -m pip install -r requirements-dev.txt"
# Settings the app (or the SDK) reads: in emulator mode none of the developer's own may reach the fake.
APP_PREFIXES = ("AZURE_", "AZUREML_", "AML_", "RUN_PIPELINE_", "STOP_COMPUTE_", "START_COMPUTE_", "IDENTITY_",
                "MSI_")


def run_emulated(function: str, fire: Callable[[Callable[[], None]], int]) -> int:
    """Run `fire(epilogue)` with the fake installed; the epilogue prints what changed in the fake."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    missing = [name for name in ("responses", "fakeazure") if importlib.util.find_spec(name) is None]
    if missing:
        raise SetupError(f"--emulator needs the development tools ({', '.join(missing)} not found): run "
                         f"{DEV_REQUIREMENTS}")
    own = {name: None for name in os.environ if name.upper().startswith(APP_PREFIXES)}
    scopes = os.environ.get("AML_COMPUTE_SCOPES", "").strip()
    # HOME changes before the SDK is first imported (fakeazure imports its models): azureml fixes its ~/.azureml
    # paths (discovery cache, auth) at import time. In a process that imported it earlier (the tests), those
    # paths stay where they were.
    with (tempfile.TemporaryDirectory(prefix="aml-timer-emulator-", ignore_cleanup_errors=True) as home,
          patched_environ({**own, "HOME": home, "USERPROFILE": home})):
        import responses

        from fakeazure.demo import demo_azure, demo_settings
        from shared import warm

        fake = demo_azure()
        with (patched_environ({**demo_settings(fake), **({"AML_COMPUTE_SCOPES": scopes} if scopes else {})}),
              responses.RequestsMock(assert_all_requests_are_fired=False) as wire):
            fake.install(wire)
            warm.forget()  # a connection from an earlier tick in this process would bypass the fake
            try:
                return fire(_summary(function, fake, fleet=bool(scopes)))
            finally:
                warm.forget()  # and the fake's connection must not outlive the emulator


def _summary(function: str, fake, fleet: bool) -> Callable[[], None]:
    """What changed in the fake during the tick, printed after the invocation's own lines."""
    workspaces = list(fake.workspaces.values()) if fleet else [fake.workspace]
    before = {(ws.name, name): instance.state for ws in workspaces for name, instance in ws.instances.items()}
    runs_before = set(fake.runs)

    def summary() -> None:
        where = f"{len(workspaces)} workspaces in {len(fake.subscriptions)} subscriptions" if fleet else \
            f"workspace {fake.workspace.name}"
        say(f"emulator: fake Azure {where}: {len(fake.requests)} requests answered, none sent to the network")
        new_runs = [run for run_id, run in fake.runs.items() if run_id not in runs_before]
        for run in new_runs:
            tags = " ".join(f"{key}={value}" for key, value in run.tags.items())
            say(f"emulator: run {run.run_id} submitted to experiment {run.experiment}, tags: {tags}")
        if function == "RunPipelineTimer" and not new_runs:
            say("emulator: no pipeline run submitted")
        if function != "RunPipelineTimer":
            for ws in workspaces:
                for name, instance in ws.instances.items():
                    kind = "" if instance.compute_type == "ComputeInstance" else f" ({instance.compute_type})"
                    was = before[(ws.name, name)]
                    change = f"{was} -> {instance.state}" if instance.state != was else f"{instance.state} (unchanged)"
                    say(f"emulator: compute {f'{ws.name}/' if fleet else ''}{name}{kind}: {change}")

    return summary
