"""Re-run one tick of RunPipelineTimer, or backfill the ticks of a window that have no run of this app yet.

Each occurrence is fired as the host would fire it (a TimerRequest whose schedule status names it, past due), so
the function's own exactly-once check decides: an occurrence that already has a run started by this app is
reported (`already_submitted`, with its run id, status and portal URL) and nothing is submitted. Occurrences are
those of RUN_PIPELINE_SCHEDULE, or of RUN_PIPELINE_LOCAL_SCHEDULE when RUN_PIPELINE_TIME_ZONE is set.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from localrun.console import EXIT_FAILED, EXIT_OK, SetupError, say
from localrun.invoke import logs_to_stdout, redact, timer_request
from shared.clock import parse_instant, stamp
from shared.functions import RUN_PIPELINE

FUNCTION = RUN_PIPELINE.name


def instant_option(option: str, text: str) -> datetime:
    """An ISO 8601 instant given on the command line; `Z` or an offset, naive means UTC."""
    try:
        return parse_instant(text).replace(microsecond=0)
    except ValueError:
        raise SetupError(f"{option} {text!r} is not an ISO 8601 time: write e.g. 2027-01-14T03:00:00Z") from None


def _occurrences():
    """The pipeline's occurrences, from its settings (a settings problem is a set-up error here)."""
    from shared.settings import ConfigError, load_pipeline_settings

    try:
        settings = load_pipeline_settings(os.environ)
    except ConfigError as error:
        raise SetupError(f"{FUNCTION}: {error}") from None
    return settings.occurrences


def rerun(tick_text: str, epilogue: Callable[[], None] | None = None) -> int:
    """`--tick`: fire that one occurrence; exit 2 when it is none, naming the nearest ones."""
    occurrences = _occurrences()
    tick = instant_option("--tick", tick_text)
    if not occurrences.contains(tick):
        near = [moment for moment in (occurrences.previous(tick), occurrences.following(tick)) if moment]
        raise SetupError(f"--tick {stamp(tick)} is not an occurrence of {occurrences.describe()}: the "
                         f"nearest are {' and '.join(stamp(m) for m in near) or 'none'}")
    return _fire([tick], occurrences, None, epilogue)


def backfill(start_text: str, end_text: str, most: int, epilogue: Callable[[], None] | None = None) -> int:
    """`--from A --to B`: every occurrence in [A, B] oldest first; at most `most` submits."""
    occurrences = _occurrences()
    start, end = instant_option("--from", start_text), instant_option("--to", end_text)
    if end < start:
        raise SetupError(f"--to {stamp(end)} is before --from {stamp(start)}")
    say(f"{FUNCTION}: backfilling the occurrences of {occurrences.describe()} from {stamp(start)} to "
        f"{stamp(end)}, at most {most} submit{'s' if most != 1 else ''}")
    return _fire(occurrences.between(start, end), occurrences, most, epilogue)


def _fire(ticks, occurrences, most: int | None, epilogue) -> int:
    """Fire each tick in order; one line per occurrence, then the summary (backfill) or the result line (re-run)."""
    from shared.pipeline_tick import run_pipeline_tick

    secrets = [value for value in (os.environ.get("AZURE_CLIENT_SECRET"),) if value and len(value) >= 4]
    counts: Counter[str] = Counter()
    started = time.monotonic()
    stopped_at: str | None = None
    for tick in ticks:
        if most is not None and counts["submitted"] >= most:
            stopped_at = f"stopped after --max {most} submits; the next occurrence is {stamp(tick)}"
            break
        previous = occurrences.previous(tick) or tick - timedelta(days=1)
        with logs_to_stdout(FUNCTION, secrets):
            try:
                outcome = run_pipeline_tick(timer_request(tick, previous, past_due=True))
            except Exception as error:  # noqa: BLE001 - reported as this occurrence's result, and the run stops
                failure = error
            else:
                failure = None
        if failure is not None:
            counts["failed"] += 1
            message = " ".join(str(failure).split())
            say(redact(f"occurrence {stamp(tick)}: failed: {type(failure).__name__}: {message}", secrets))
            stopped_at = "stopped at the first failure"
            break
        counts[outcome.action] += 1
        status = f" status={outcome.status}" if outcome.status else ""
        say(f"occurrence {stamp(tick)}: {outcome.action} run_id={outcome.run_id}{status} "
            f"portal_url={outcome.portal_url}")
    if epilogue is not None:
        epilogue()
    elapsed = time.monotonic() - started
    if most is None:  # a re-run: the usual result line
        if counts["failed"]:
            say(f"invocation failed: {FUNCTION} (see the occurrence line)")
            return EXIT_FAILED
        say(f"invocation succeeded: {FUNCTION} in {elapsed:.2f} s")
        return EXIT_OK
    total = sum(counts.values())
    say(f"backfill: {total} occurrence{'s' if total != 1 else ''}: submitted={counts['submitted']} "
        f"already_submitted={counts['already_submitted']} skipped_active={counts['skipped_active']} "
        f"failed={counts['failed']} in {elapsed:.2f} s" + (f"; {stopped_at}" if stopped_at else ""))
    return EXIT_FAILED if counts["failed"] else EXIT_OK
