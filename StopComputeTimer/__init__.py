"""Timer entry point: stop the workspace's running compute instances (all logic lives in `shared`)."""

import azure.functions as func

from shared.compute_tick import stop_compute_tick


def main(mytimer: func.TimerRequest) -> None:
    stop_compute_tick(mytimer)
