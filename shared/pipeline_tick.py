"""RunPipelineTimer, each tick: read its settings, act on its tick, submit through the SDK v1's pipelines service."""

from __future__ import annotations

import os
from collections.abc import Mapping

import azure.functions as func

from shared.functions import RUN_PIPELINE
from shared.pipelines import Outcome, run_pipeline
from shared.retry import bound_sdk_backoff
from shared.settings import load_pipeline_settings
from shared.timers import open_tick, start_budget
from shared.workspace import connect


def run_pipeline_tick(timer: func.TimerRequest, env: Mapping[str, str] | None = None) -> Outcome | None:
    """RunPipelineTimer: submit the configured pipeline once for this tick (None: not a local occurrence)."""
    settings = load_pipeline_settings(os.environ if env is None else env)
    tick = open_tick(RUN_PIPELINE.name, timer, settings.schedule, settings.local)
    if tick is None:
        return None
    budget = start_budget(settings.azure)
    bound_sdk_backoff(settings.azure.retry_budget_seconds)  # the SDK's own retry waits fit in the budget too
    with connect(settings.azure, budget) as connection:
        return run_pipeline(connection, settings, tick, RUN_PIPELINE.name, budget)
