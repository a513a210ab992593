"""Timer entry point: submit the configured AML pipeline for this tick (all logic lives in `shared`)."""

import azure.functions as func

from shared.pipeline_tick import run_pipeline_tick


def main(mytimer: func.TimerRequest) -> None:
    run_pipeline_tick(mytimer)
