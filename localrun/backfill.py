"""Re-run one tick of RunPipelineTimer, or backfill the ticks of a window that have no run of this app yet; for one
pipelines.json job (`--job`) or for every job due at each tick.

Each occurrence is fired as the host would fire it (a TimerRequest whose schedule status names it, past due), so
the function's own exactly-once check decides: an occurrence that already has a run started by this app is
reported (`already_submitted`, with its run id, status and portal URL) and nothing is submitted. Occurrences are
those of RUN_PIPELINE_SCHEDULE, or of RUN_PIPELINE_LOCAL_SCHEDULE when RUN_PIPELINE_TIME_ZONE is set, or, with
pipelines.json, of the job's schedule in its zone (of any job's, without `--job`).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from localrun.console import EXIT_FAILED, EXIT_OK, SetupError, say
from localrun.invoke import logs_to_stdout, redact, timer_request
from localrun.settings_file import patched_environ
from shared.clock import now, parse_instant, stamp
from shared.functions import RUN_PIPELINE

FUNCTION = RUN_PIPELINE.name


def instant_option(option: str, text: str) -> datetime:
    """An ISO 8601 instant given on the command line; `Z` or an offset, naive means UTC."""
    try:
        return parse_instant(text).replace(microsecond=0)
    except ValueError:
        raise SetupError(f"{option} {text!r} is not an ISO 8601 time: write e.g. 2027-01-14T03:00:00Z") from None


class AnyOf:
    """The occurrences of several jobs as one schedule: an instant is one when it is any job's."""

    def __init__(self, parts: dict[str, object]):
        self.parts = parts  # label -> Occurrences

    def contains(self, moment: datetime) -> bool:
        return any(part.contains(moment) for part in self.parts.values())

    def previous(self, moment: datetime) -> datetime | None:
        return max(filter(None, (part.previous(moment) for part in self.parts.values())), default=None)

    def following(self, moment: datetime) -> datetime | None:
        return min(filter(None, (part.following(moment) for part in self.parts.values())), default=None)

    def latest_at_or_before(self, moment: datetime) -> datetime | None:
        return max(filter(None, (part.latest_at_or_before(moment) for part in self.parts.values())), default=None)

    def between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        yield from sorted({moment for part in self.parts.values() for moment in part.between(start, end)})

    def describe(self) -> str:
        return "; ".join(f"{label}: {part.describe()}" for label, part in self.parts.items())


def occurrences_of(job_name: str | None):
    """The occurrences to fire, from the settings (a settings problem, or an unknown job, is a set-up error)."""
    from shared.settings import ConfigError, load_pipeline_settings

    try:
        settings = load_pipeline_settings(os.environ)
    except ConfigError as error:
        raise SetupError(f"{FUNCTION}: {error}") from None
    if settings.jobs_file is None:
        if job_name is not None:
            raise SetupError("--job names a job of pipelines.json, and this app has none: its one pipeline comes "
                             "from the RUN_PIPELINE_* settings; run it without --job")
        return settings.occurrences(settings.job)
    jobs = {job.name: job for job in settings.jobs if job.enabled}
    if job_name is not None and job_name not in jobs:
        raise SetupError(f"--job {job_name!r} is not an enabled job of {settings.jobs_file.name}: its jobs are "
                         f"{', '.join(jobs) or 'none'}")
    chosen = [jobs[job_name]] if job_name else list(jobs.values())
    return AnyOf({job.name: settings.occurrences(job) for job in chosen})


def latest(job_name: str, epilogue: Callable[[], None] | None = None) -> int:
    """`--job NAME` alone: fire the job's latest occurrence."""
    occurrences = occurrences_of(job_name)
    tick = occurrences.latest_at_or_before(now())
    if tick is None:
        raise SetupError(f"--job {job_name!r} has no occurrence yet")
    return _fire([tick], occurrences, None, job_name, epilogue)


def not_in_the_future(option: str, moment: datetime, future: bool) -> None:
    """A re-run is of a past occurrence: a future one would submit a real run now, tagged past_due, for a time that
    has not come. `--future` says that is meant."""
    if moment > now() and not future:
        raise SetupError(f"{option} {stamp(moment)} is in the future: a run submitted now for it would say it ran for "
                         "a time that has not come (past_due=true); give --future if that is what you want")


def rerun(tick_text: str, job_name: str | None = None, epilogue: Callable[[], None] | None = None,
          future: bool = False) -> int:
    """`--tick`: fire that one occurrence; exit 2 when it is none, naming the nearest ones."""
    occurrences = occurrences_of(job_name)
    tick = instant_option("--tick", tick_text)
    not_in_the_future("--tick", tick, future)
    if not occurrences.contains(tick):
        near = [moment for moment in (occurrences.previous(tick), occurrences.following(tick)) if moment]
        raise SetupError(f"--tick {stamp(tick)} is not an occurrence of {occurrences.describe()}: the "
                         f"nearest are {' and '.join(stamp(m) for m in near) or 'none'}")
    return _fire([tick], occurrences, None, job_name, epilogue)


def backfill(start_text: str, end_text: str, most: int, job_name: str | None = None,
             epilogue: Callable[[], None] | None = None, future: bool = False) -> int:
    """`--from A --to B`: every occurrence in [A, B] oldest first; at most `most` submits."""
    occurrences = occurrences_of(job_name)
    start, end = instant_option("--from", start_text), instant_option("--to", end_text)
    if end < start:
        raise SetupError(f"--to {stamp(end)} is before --from {stamp(start)}")
    not_in_the_future("--to", end, future)
    say(f"{FUNCTION}: backfilling the occurrences of {occurrences.describe()} from {stamp(start)} to "
        f"{stamp(end)}, at most {most} submit{'s' if most != 1 else ''}")
    return _fire(occurrences.between(start, end), occurrences, most, job_name, epilogue)


def _fire(ticks, occurrences, most: int | None, job_name: str | None, epilogue) -> int:
    """Fire each tick in order; one line per occurrence (and job), then the summary (backfill) or the result line."""
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
        # A re-run asked for by hand is never too late: the limit is for the host's own late firings.
        with logs_to_stdout(FUNCTION, secrets), patched_environ({RUN_PIPELINE.max_late: None}):
            try:
                outcomes = run_pipeline_tick(timer_request(tick, previous, past_due=True), only=job_name) or []
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
        for outcome in outcomes:
            counts[outcome.action] += 1
            job = f" job={outcome.job.name}" if outcome.job.name else ""
            status = f" status={outcome.status}" if outcome.status else ""
            say(f"occurrence {stamp(tick)}:{job} {outcome.action} run_id={outcome.run_id}{status} "
                f"portal_url={outcome.portal_url}" if outcome.run_id else f"occurrence {stamp(tick)}:{job} "
                f"{outcome.action}")
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
