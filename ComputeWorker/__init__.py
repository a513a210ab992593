"""Queue entry point (AML_FANOUT=queue): one subscription's share of a compute tick (all logic lives in `shared`)."""

import azure.functions as func

from shared.workers import compute_worker


def main(msg: func.QueueMessage) -> None:
    compute_worker(msg)
