"""Queue entry point (AML_FANOUT=queue): one pipelines.json job of a pipeline tick (all logic lives in `shared`)."""

import azure.functions as func

from shared.workers import pipeline_worker


def main(msg: func.QueueMessage) -> None:
    pipeline_worker(msg)
