"""Timer entry point: start the opted-in, stopped compute instances (all logic lives in `shared`)."""

import azure.functions as func

from shared.compute_tick import start_compute_tick


def main(mytimer: func.TimerRequest) -> None:
    start_compute_tick(mytimer)
