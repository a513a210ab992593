"""A large pipelines.json: what checking it costs, what a tick spends before its first submit, and how long the
submits of many due jobs take.

    python bench/jobs_file.py [--check 10000] [--tick 1000] [--due 200] [--latency-ms 200]

The file's jobs run at 96 daily times (every quarter of an hour) in three zones, 288 distinct schedules in all,
spread evenly, as a team's file of many jobs would. Printed:
- `python -m shared.schedule jobs` on a file of --check jobs (a child process, as CI runs it);
- one RunPipelineTimer tick on a file of --tick jobs, each in a fresh process (imports done before the timing), at a
  time no job is due (everything it does is its own work: reading and checking the file, the host schedule's cover,
  which jobs are due) and at a time some are (until its first request to the pipelines service);
- one tick at which --due published-pipeline jobs are all due, at --latency-ms per request: how long the submits took,
  how many requests, and how many jobs were submitted or deferred.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import _common

import RunPipelineTimer
from shared import jobs

ZONES = ("UTC", "Europe/Berlin", "America/New_York")
PIPELINE = "77777777-7777-7777-7777-777777777777"


def job_file(folder: str, count: int, same_time: bool = False) -> Path:
    """`count` jobs at 96 times x 3 zones (or all at 03:00 UTC, `same_time`), each its own published pipeline job."""
    entries = []
    for i in range(count):
        hour, quarter = divmod(i % 96, 4)
        schedule = "0 0 3 * * *" if same_time else f"0 {quarter * 15} {hour} * * *"
        zone = "UTC" if same_time else ZONES[i // 96 % 3]
        entries.append({"name": f"job-{i:05d}", "schedule": schedule, "time_zone": zone, "pipeline_id": PIPELINE,
                        "experiment": "bench"})
    path = Path(folder) / "pipelines.json"
    path.write_text(json.dumps({"pipelines": entries}), encoding="utf-8")
    return path


def check(path: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "shared.schedule", "jobs", str(path)], cwd=_common.REPO_ROOT,
                          capture_output=True, text=True)
    return time.perf_counter() - started, (done.stdout.splitlines() or [done.stderr.strip()])[0]


def tick(path: Path, at: datetime, schedule: str, latency_ms: float) -> tuple[float, float | None, int, dict]:
    """(tick seconds, seconds to the first submit or None, requests, the summary's counts), in a fresh process."""
    done = subprocess.run([sys.executable, __file__, "--child", str(path), at.isoformat(), schedule, str(latency_ms)],
                          cwd=_common.REPO_ROOT, capture_output=True, text=True, check=True)
    figures = json.loads(done.stdout.splitlines()[-1])
    return figures["seconds"], figures["first"], figures["requests"], figures["summary"]


def child(path: Path, at: datetime, schedule: str, latency_ms: float) -> None:
    """The tick, in this process: prints its figures as one JSON line."""
    _common.fresh_process()
    jobs.JOBS_FILE = path
    _common.apply_settings(RUN_PIPELINE_SCHEDULE=schedule, RUN_PIPELINE_ID="")
    summary: dict = {}
    import logging

    class Summary(logging.Handler):
        def emit(self, record):
            message = record.getMessage()
            if message.startswith("pipeline_summary "):
                summary.update(item.split("=", 1) for item in message.split()[1:])

    handler = Summary()
    logging.getLogger("shared").addHandler(handler)
    logging.getLogger("shared").setLevel(logging.INFO)
    try:
        with _common.fake_azure(latency_ms) as fake:
            fake.add_published_pipeline("train", pipeline_id=PIPELINE)
            started = time.monotonic()
            try:
                RunPipelineTimer.main(_common.make_timer(at))
            except Exception as error:  # noqa: BLE001 - a deadline or a failed job is a figure here
                summary["error"] = type(error).__name__
            seconds = time.monotonic() - started
            submits = [call.at for call in fake.requests_to("PipelineSubmit", "POST")]
            first = min(submits) - started if submits else None
            print(json.dumps({"seconds": seconds, "first": first, "requests": len(fake.requests),
                              "summary": summary}))
    finally:
        logging.getLogger("shared").removeHandler(handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", type=int, default=10000)
    parser.add_argument("--tick", type=int, default=1000)
    parser.add_argument("--due", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import shared.pipelines  # noqa: F401 - imports before the timing, as a warm host has them
        import shared.workspace  # noqa: F401

        child(Path(args.child[0]), datetime.fromisoformat(args.child[1]), args.child[2], float(args.child[3]))
        return
    with tempfile.TemporaryDirectory() as folder:
        seconds, cover = check(job_file(folder, args.check))
        print(f"python -m shared.schedule jobs, {args.check} jobs (288 distinct schedules): {seconds:.2f} s; "
              f"the cover: {cover}")
        path = job_file(folder, args.tick)
        idle, _, _, counts = tick(path, datetime(2027, 1, 15, 3, 5, tzinfo=timezone.utc), "0 */5 * * * *", 0)
        print(f"a tick of {args.tick} jobs at which none is due: {idle:.2f} s (due={counts.get('due', '0')})")
        busy, first, _, counts = tick(path, datetime(2027, 1, 15, 3, 0, tzinfo=timezone.utc), cover, 0)
        print(f"a tick of {args.tick} jobs at which {counts.get('due')} are due: {first:.2f} s of its own before "
              f"its first submit, {busy:.2f} s in all")
        path = job_file(folder, args.due, same_time=True)
        seconds, first, requests, counts = tick(path, datetime(2027, 1, 15, 3, 0, tzinfo=timezone.utc),
                                                "0 0 3 * * *", args.latency_ms)
        print(f"{args.due} published-pipeline jobs due at one tick, {args.latency_ms:g} ms per request: "
              f"{seconds:.1f} s, {requests} requests; submitted={counts.get('submitted')} "
              f"deferred={counts.get('deferred', '0')} failed={counts.get('failed')} {counts.get('error', '')}")


if __name__ == "__main__":
    main()
