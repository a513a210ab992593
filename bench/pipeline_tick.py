"""Requests and wall time of one RunPipelineTimer tick: by id, by endpoint name, a 10-minute pipeline, warm, and a
batch endpoint (Azure ML v2, no SDK), alone and with skip_if_active.

    python bench/pipeline_tick.py [--latency-ms 20]

Cold cases start like a fresh process (no cached workspace or discovery cache, a fresh fake); imports, including
the SDK's lazy ones (an untimed warm-up pass), are done first.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta, timezone

import _common

import RunPipelineTimer

TICK = datetime(2026, 11, 21, 3, 0, tzinfo=timezone.utc)
PIPELINE_ID = "77777777-7777-7777-7777-777777777777"
ENDPOINT = "nightly-train"
BATCH_ENDPOINT = "nightly-score"
# One status per read of the run: at one read a second, a pipeline that stays Running for 10 minutes.
TEN_MINUTES = ["NotStarted"] + ["Running"] * 600 + ["Completed"]


def tick(fake, at: datetime) -> list:
    """Run one tick at `at`; return [requests, wall s, runs (or batch jobs) submitted, status of the new one when
    it returned]."""
    runs_before, jobs_before = set(fake.runs), set(fake.batch_jobs)
    _, requests, seconds = _common.measure(fake, lambda: RunPipelineTimer.main(_common.make_timer(at)))
    new = [run for run_id, run in fake.runs.items() if run_id not in runs_before] + [
        job for name, job in fake.batch_jobs.items() if name not in jobs_before]
    return [requests, f"{seconds:.3f}", len(new), new[0].status if new else "-"]


def cold_case(latency_ms: float, statuses: list[str] | None = None, warm_too: bool = False, **settings) -> list:
    """One cold tick on a fresh fake (and, with warm_too, a second tick in the same process the next day)."""
    _common.fresh_process()
    _common.apply_settings(**settings)
    with _common.fake_azure(latency_ms) as fake:
        fake.add_published_pipeline("train", pipeline_id=PIPELINE_ID)
        fake.add_pipeline_endpoint(ENDPOINT, {"0": PIPELINE_ID})
        fake.add_batch_endpoint(BATCH_ENDPOINT)
        if statuses:
            fake.run_statuses = statuses
        rows = [tick(fake, TICK)]
        if warm_too:
            rows.append(tick(fake, TICK + timedelta(days=1)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    latency = args.latency_ms

    cold_case(0, RUN_PIPELINE_ID=PIPELINE_ID)  # untimed warm-up: the SDK's lazy imports are imports too
    cold_case(0, RUN_PIPELINE_ENDPOINT_NAME=ENDPOINT)
    by_id, warm = cold_case(latency, warm_too=True, RUN_PIPELINE_ID=PIPELINE_ID)
    [by_endpoint] = cold_case(latency, RUN_PIPELINE_ENDPOINT_NAME=ENDPOINT)
    [long_run] = cold_case(latency, TEN_MINUTES, RUN_PIPELINE_ID=PIPELINE_ID)
    [batch] = cold_case(latency, RUN_PIPELINE_BATCH_ENDPOINT=BATCH_ENDPOINT)
    [batch_skip] = cold_case(latency, RUN_PIPELINE_BATCH_ENDPOINT=BATCH_ENDPOINT, RUN_PIPELINE_SKIP_IF_ACTIVE="true")

    print(f"one RunPipelineTimer tick, {latency:g} ms per request (fake Azure)\n")
    print(_common.table(
        ["tick", "requests", "wall s", "runs submitted", "run status at return"],
        [["cold, by published pipeline id", *by_id],
         ["cold, by pipeline endpoint name", *by_endpoint],
         ["cold, by id, pipeline runs 10 minutes", *long_run],
         ["warm (2nd tick, same process), by id", *warm],
         ["cold, batch endpoint (v2, REST)", *batch],
         ["cold, batch endpoint, skip_if_active (no earlier job)", *batch_skip]],
    ))
    print()
    print(f"summary: a tick submits and returns: {by_id[1]} s for a short pipeline, {long_run[1]} s for a "
          f"10-minute one; warm tick {warm[0]} requests in {warm[1]} s vs cold {by_id[0]} in {by_id[1]} s; a batch "
          f"endpoint tick {batch[0]} requests in {batch[1]} s ({batch_skip[0]} with skip_if_active's 5 reads)")


if __name__ == "__main__":
    main()
