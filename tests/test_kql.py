"""The KQL users are given (docs' ready queries, the workbook), checked without Azure: parsed and bound by
Kusto.Language against Application Insights' tables, and what each query looks for (the line it starts with, the
words it has, its extract() patterns, the actions and functions it compares with) matched against the lines the app
writes on the fake Azure. A query that filters on a word the app never writes shows nothing, and nobody notices."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta, timezone

import pytest

from localrun.console import SetupError
from localrun.hostloop import drain
from shared import clock
from shared.compute import ComputeActionError
from shared.fanout import COMPUTE_QUEUE
from shared.functions import FUNCTIONS, WORKERS
from tests import kql
from tests.conftest import entry_point, make_timer
from tests.test_docs import decision_words
from tests.test_fanout import queues

QUERIES = {**kql.docs_queries(), **kql.workbook_queries()}
FUNCTION_NAMES = {function.name for function in FUNCTIONS} | {worker.name for worker in WORKERS}
HOURS_14 = timedelta(hours=14)


@pytest.fixture(scope="module")
def analyzed() -> dict[str, dict]:
    try:
        return dict(zip(QUERIES, kql.analyze(list(QUERIES.values())), strict=True))
    except SetupError as error:
        if os.environ.get("AML_TIMER_REQUIRE_NODE_TOOLS"):
            pytest.fail(f"Kusto.Language is required here: {error}")
        pytest.skip(f"no Kusto.Language (Node.js): {error}")


def test_the_docs_and_the_workbook_have_queries():
    assert sum(name.startswith("docs/") for name in QUERIES) >= 10
    assert {"hourly-cost", "instances", "pipelines", "trouble", "last-ticks"} <= set(QUERIES)


@pytest.mark.parametrize("name", QUERIES)
def test_a_query_parses_and_binds_against_application_insights(analyzed, name):
    assert [d for d in analyzed[name]["diagnostics"] if d["severity"] == "Error"] == []


def test_the_binder_refuses_an_unknown_column_a_wrong_type_and_a_keyword_as_a_name():
    """The check above can fail: the binder knows the tables' columns and their types."""
    [unknown, wrong_type, keyword] = kql.analyze([
        "traces | where nosuchcolumn == 1",
        "requests | where duration startswith 'x' | summarize avg(resultCode)",
        "traces | summarize last = max(timestamp)",
    ])
    assert unknown["diagnostics"] and wrong_type["diagnostics"] and keyword["diagnostics"]


def lines_the_app_writes(fake, settings, logs, write_jobs) -> list[str]:
    """The log lines of the ticks the queries are about, each written by the real app on the fake Azure (`settings`
    keeps what an earlier call set unless it is set again or to None)."""
    stop, start, run = (entry_point(name) for name in ("StopComputeTimer", "StartComputeTimer", "RunPipelineTimer"))
    now = clock.now().replace(second=0, microsecond=0)
    # The nightly stop: one stopped (priced), one exempt, one the service refuses; a start schedule for hours_to_start.
    fake.add_instance("ci-gpu", "Running").vm_size = "STANDARD_NC6S_V3"
    fake.add_instance("ci-keep", "Running", tags={"autostop": "false"})
    full = fake.add_instance("ci-full", "Running")
    full.refusal = ("UserError", "StopCompute is not allowed when ComputeInstance disk is full.")
    settings(START_COMPUTE_SCHEDULE="0 30 7 * * 1-5")
    with pytest.raises(ComputeActionError):
        stop(make_timer(now))
    # The morning start, a dry run, a stop fired 14 hours late, a tick local time skips.
    fake.add_instance("ci-morning", "Stopped", tags={"autostart": "true"})
    start(make_timer(now))
    settings(STOP_COMPUTE_DRY_RUN="true")
    stop(make_timer(now))
    stop(make_timer(now - HOURS_14, past_due=True))
    settings(STOP_COMPUTE_SCHEDULE="0 0 17,18 * * *", STOP_COMPUTE_TIME_ZONE="Europe/Berlin",
             STOP_COMPUTE_LOCAL_SCHEDULE="0 0 19 * * *")
    stop(make_timer(datetime(2027, 1, 15, 17, 0, tzinfo=timezone.utc)))  # 18:00 in Berlin
    # A pipelines.json job with parameters, then a batch endpoint whose service names its job itself.
    write_jobs([{"name": "nightly-train", "schedule": "0 0 3 * * *", "pipeline_id": fake.add_published_pipeline("p"),
                 "parameters": {"run_date": "{tick:%Y-%m-%d}"}}])
    settings(RUN_PIPELINE_ID=None, RUN_PIPELINE_SCHEDULE="0 0 3 * * *")
    run(make_timer(datetime(2027, 1, 15, 3, 0, tzinfo=timezone.utc)))
    write_jobs([]).unlink()
    fake.add_batch_endpoint("nightly-score", ("pipeline",))
    fake.batch_keeps_names = False
    settings(RUN_PIPELINE_ID=None, RUN_PIPELINE_BATCH_ENDPOINT="nightly-score")
    run(make_timer(datetime(2027, 1, 16, 3, 0, tzinfo=timezone.utc)))
    # The fan-out: the timer enqueues, a worker does the share, a redelivered message finds it done.
    full.refusal = None
    settings(AML_FANOUT="queue", AML_COMPUTE_COST="false", STOP_COMPUTE_DRY_RUN="false", STOP_COMPUTE_TIME_ZONE=None,
             STOP_COMPUTE_LOCAL_SCHEDULE=None, RUN_PIPELINE_BATCH_ENDPOINT=None)
    stop(make_timer(now))
    queue, poison = queues(COMPUTE_QUEUE)
    [message] = queue.peek_messages()
    drain(queue, poison, entry_point("ComputeWorker"))
    queue.send_message(message.content)
    drain(queue, poison, entry_point("ComputeWorker"))
    return [record.getMessage() for record in logs.records]


def term(value: str) -> re.Pattern:
    """KQL's `has`: the value as whole terms (not inside a longer word)."""
    return re.compile(rf"(?<![A-Za-z0-9_]){re.escape(value)}(?![A-Za-z0-9_])")


def test_what_the_queries_look_for_is_what_the_app_writes(analyzed, fake, settings, logs, write_jobs, storage):
    lines = lines_the_app_writes(fake, settings, logs, write_jobs)
    words = decision_words()
    missing = []
    for name, result in analyzed.items():
        for pattern in result["extracts"]:
            if not any(re.search(pattern, line) for line in lines):
                missing.append(f"{name}: extract(@\"{pattern}\") matches no line")
        for comparison in result["comparisons"]:
            op, left, values = comparison["op"], comparison["left"], comparison["values"]
            for value in values:
                if left == "message" and op == "StartsWithExpression":
                    found = any(line.startswith(value) for line in lines)
                elif left == "message" and op == "HasExpression":
                    found = any(term(value).search(line) for line in lines)
                elif left in ("action", "reason"):
                    found = value in words
                elif left in ("name", "operation_Name"):
                    found = value in FUNCTION_NAMES
                else:
                    continue  # a value the query computed itself
                if not found:
                    missing.append(f"{name}: {left} {op} {json.dumps(value)} is not something the app writes")
    assert missing == []
