"""One tick in a fresh interpreter, to see which modules a function really loads (the tests' own process has the
SDK imported long since): what importing the function folders loads, and what the tick adds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r"""
import json, os, sys
sys.path.insert(0, ".")
import importlib
functions = [importlib.import_module(name) for name in {imports!r}]
imported = sorted(name for name in sys.modules if name.split(".")[0] == "azureml")
import responses
from azure.functions.meta import Datum
from azure.functions.timer import TimerRequestConverter
from fakeazure import FakeAzure, app_settings
os.environ.update({{**app_settings(), **{settings!r}}})
fake = FakeAzure()
{seed}
payload = {{"Schedule": {{"AdjustForDST": True}}, "IsPastDue": False, "ScheduleStatus": {{"Next": {tick!r}}}}}
with responses.RequestsMock(assert_all_requests_are_fired=False) as wire:
    fake.install(wire)
    functions[0].main(TimerRequestConverter.decode(Datum(json.dumps(payload), "json"), trigger_metadata={{}}))
ticked = sorted(name for name in sys.modules if name.split(".")[0] == "azureml")
print(json.dumps({{"imported": imported, "ticked": ticked, "outcome": {outcome}}}))
"""


def tick_in_a_fresh_interpreter(imports: list[str], tick: str, home: Path, seed: str = "",
                                settings: dict[str, str] | None = None, outcome: str = "None") -> dict:
    """Import `imports` (the first one ticks at `tick`, on a fake seeded by the statement `seed`); returns the
    `azureml` modules loaded by the imports and after the tick, and the expression `outcome` read off `fake`."""
    code = _CHILD.format(imports=imports, settings=settings or {}, seed=seed, tick=tick, outcome=outcome)
    env = {"PATH": "", "HOME": str(home), "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])
