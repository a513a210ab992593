"""Cold start: import times in a fresh interpreter, and the first tick of a fresh process.

No function imports the retired SDK when it loads: each cold import is compared with `import requests`, which every
function needs anyway. RunPipelineTimer loads the SDK v1 only in a tick that submits a published pipeline (or a
pipeline endpoint); a batch endpoint tick (Azure ML v2) never does, and the first ticks of both are timed.

    python bench/cold_start.py [--runs 5] [--latency-ms 20]

Every figure is measured inside a child `python` (interpreter start-up excluded), cwd the repo root, HOME a new
temp dir; each is the median of --runs, the kinds interleaved run by run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import _common

IMPORTS = ["requests", "azureml.core", "azureml.pipeline.core", "RunPipelineTimer", "StopComputeTimer",
           "StartComputeTimer"]
INSTANCES, RUNNING = 20, 10

IMPORT_CHILD = """
import json, sys, time
started = time.perf_counter()
import {module}
seconds = time.perf_counter() - started
sdk = sum(name.split(".")[0] == "azureml" for name in sys.modules)
print("BENCH", json.dumps({{"seconds": seconds, "sdk_modules": sdk}}))
"""

# The app's import and its tick are timed; the fake's own import and seeding (test infrastructure) are not.
TICK_CHILD = """
import json, sys, time
sys.path.insert(0, "bench")
import _common
started = time.perf_counter()
import StopComputeTimer
imported = time.perf_counter()
from datetime import datetime, timezone
_common.apply_settings()
with _common.fake_azure({latency_ms}) as fake:
    _common.seed_instances(fake, {instances}, {running})
    ticking = time.perf_counter()
    StopComputeTimer.main(_common.make_timer(datetime(2026, 11, 21, 21, 25, tzinfo=timezone.utc)))
    done = time.perf_counter()
print("BENCH", json.dumps({{"seconds": imported - started + done - ticking, "requests": len(fake.requests)}}))
"""

PIPELINE_TICK_CHILD = """
import json, sys, time
sys.path.insert(0, "bench")
import _common
started = time.perf_counter()
import RunPipelineTimer
imported = time.perf_counter()
from datetime import datetime, timezone
_common.apply_settings(**{settings})
with _common.fake_azure({latency_ms}) as fake:
    fake.add_published_pipeline("train", pipeline_id="77777777-7777-7777-7777-777777777777")
    fake.add_batch_endpoint("nightly-score")
    ticking = time.perf_counter()
    RunPipelineTimer.main(_common.make_timer(datetime(2026, 11, 21, 3, 0, tzinfo=timezone.utc)))
    done = time.perf_counter()
sdk = sum(name.split(".")[0] == "azureml" for name in sys.modules)
print("BENCH", json.dumps({{"seconds": imported - started + done - ticking, "sdk_modules": sdk}}))
"""
# The first RunPipelineTimer tick of a fresh process, by target.
PIPELINE_TICKS = {
    "first RunPipelineTimer tick, published pipeline (v1)": {"RUN_PIPELINE_ID": "77777777-7777-7777-7777-777777777777"},
    "first RunPipelineTimer tick, batch endpoint (v2)": {"RUN_PIPELINE_ID": "", "RUN_PIPELINE_BATCH_ENDPOINT":
                                                         "nightly-score"},
}


def child(code: str) -> dict:
    """Run `code` in a fresh interpreter (cwd repo root, a new HOME, no app settings); return its BENCH figures."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(_common.APP_PREFIXES)}
    with tempfile.TemporaryDirectory(prefix="bench-home-") as home:
        env["HOME"] = env["USERPROFILE"] = home
        done = subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=_common.REPO_ROOT, env=env,
                              capture_output=True, text=True, check=True)
    [line] = [line for line in done.stdout.splitlines() if line.startswith("BENCH ")]
    return json.loads(line.removeprefix("BENCH "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()

    tick_code = TICK_CHILD.format(latency_ms=args.latency_ms, instances=INSTANCES, running=RUNNING)
    times: dict[str, list[float]] = {}
    sdk_modules: dict[str, int] = {}
    requests = set()
    for _ in range(args.runs):
        for module in IMPORTS:
            found = child(IMPORT_CHILD.format(module=module))
            times.setdefault(f"import {module}", []).append(found["seconds"])
            sdk_modules[f"import {module}"] = found["sdk_modules"]
        tick = child(tick_code)
        times.setdefault("first StopComputeTimer tick (imports included)", []).append(tick["seconds"])
        requests.add(tick["requests"])
        for name, settings in PIPELINE_TICKS.items():
            found = child(PIPELINE_TICK_CHILD.format(settings=settings, latency_ms=args.latency_ms))
            times.setdefault(name, []).append(found["seconds"])
            sdk_modules[name] = found["sdk_modules"]

    print(f"fresh interpreter, median of {args.runs} runs; the tick: {INSTANCES} instances, {RUNNING} Running, "
          f"{args.latency_ms:g} ms per request (fake Azure)\n")
    print(_common.table(
        ["measure", "median s", "min s", "max s", "azureml modules"],
        [[name, *(f"{f(values):.3f}" for f in (_common.median, min, max)), sdk_modules.get(name, "")]
         for name, values in times.items()],
    ))
    [tick_requests] = requests
    baseline = _common.median(times["import requests"])
    print()
    for function in ("StopComputeTimer", "StartComputeTimer", "RunPipelineTimer"):
        seconds = _common.median(times[f"import {function}"])
        print(f"import {function}: {seconds:.3f} s = {seconds / baseline:.1f}x import requests ({baseline:.3f} s); "
              f"{sdk_modules[f'import {function}']} azureml modules")
    first_tick = _common.median(times["first StopComputeTimer tick (imports included)"])
    round_trips = tick_requests * args.latency_ms / 1000
    print(f"summary: first StopComputeTimer tick of a fresh process {first_tick:.3f} s, of which {tick_requests} "
          f"requests x {args.latency_ms:g} ms = {round_trips:.3f} s")
    v1, v2 = (_common.median(times[name]) for name in PIPELINE_TICKS)
    print(f"first RunPipelineTimer tick (imports included): {v1:.3f} s for a published pipeline (it loads the SDK v1), "
          f"{v2:.3f} s for a batch endpoint ({v1 / v2:.1f}x faster, no azureml module)")


if __name__ == "__main__":
    main()
