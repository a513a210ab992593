"""`python -m shared.schedule` as a user runs it: exit codes, stdout lines, messages on stderr."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UTC_LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "shared.schedule", *args],
        cwd=ROOT,
        env=os.environ if env is None else env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_prints_a_description_and_exits_0():
    result = run("check", "0 25 12 * * *")
    assert result.returncode == 0
    assert result.stdout == "at 12:25:00 UTC every day\n"
    assert result.stderr == ""


def test_check_rejects_five_fields_with_the_fix():
    result = run("check", "25 12 * * *")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "'0 25 12 * * *'" in result.stderr


def test_check_rejects_day_of_week_7():
    result = run("check", "0 0 9 * * 7")
    assert result.returncode == 1
    assert "write 0 for Sunday" in result.stderr


def test_check_rejects_a_schedule_that_never_fires():
    result = run("check", "0 0 0 30 2 *")
    assert result.returncode == 1
    assert "can never fire: day 30 never occurs in February" in result.stderr


def test_check_resolves_settings_from_the_environment():
    result = run("check", "%TEST_SCHEDULE_CLI%", env={**os.environ, "TEST_SCHEDULE_CLI": "0 */5 * * * *"})
    assert (result.returncode, result.stdout) == (0, "every 5 minutes\n")


def test_check_reports_an_unknown_setting():
    env = {k: v for k, v in os.environ.items() if k.upper() != "NO_SUCH_SETTING_X"}
    result = run("check", "%NO_SUCH_SETTING_X%", env=env)
    assert result.returncode == 1
    assert "'%NO_SUCH_SETTING_X%' does not resolve to a value: set the app setting NO_SUCH_SETTING_X" in result.stderr


def test_next_prints_five_utc_lines_by_default():
    result = run("next", "0 */5 * * * *")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    assert all(UTC_LINE.fullmatch(line) for line in lines)


def test_next_after_and_count():
    result = run("next", "0 25 12 * * *", "--after", "2026-11-23T12:25:00Z", "--count", "2")
    assert result.returncode == 0
    assert result.stdout == "2026-11-24T12:25:00Z\n2026-11-25T12:25:00Z\n"


def test_next_after_accepts_offsets_and_naive_utc():
    with_offset = run("next", "0 25 12 * * *", "--after", "2026-11-23T21:00:00+09:00", "--count", "1")
    naive = run("next", "0 25 12 * * *", "--after", "2026-11-23T12:00:00", "--count", "1")
    assert with_offset.stdout == naive.stdout == "2026-11-23T12:25:00Z\n"


def test_next_with_tz_adds_local_time():
    result = run("next", "0 25 12 * * *", "--after", "2026-11-23T00:00:00Z", "--count", "2", "--tz", "Asia/Tokyo")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "2026-11-23T12:25:00Z  2026-11-23T21:25:00+09:00 Asia/Tokyo",
        "2026-11-24T12:25:00Z  2026-11-24T21:25:00+09:00 Asia/Tokyo",
    ]


def test_next_rejects_an_unknown_time_zone():
    result = run("next", "0 25 12 * * *", "--tz", "Mars/Olympus_Mons")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "'Mars/Olympus_Mons' is not an IANA time zone: use a name such as Europe/Berlin" in result.stderr


def test_next_rejects_a_bad_expression():
    result = run("next", "01:00:00")
    assert result.returncode == 1
    assert "TimeSpan" in result.stderr


def test_next_rejects_a_bad_after():
    result = run("next", "0 25 12 * * *", "--after", "yesterday")
    assert result.returncode == 1
    assert "ISO 8601" in result.stderr


def test_next_reports_when_nothing_fires_after_the_start():
    result = run("next", "0 0 0 * * *", "--after", "9999-12-31T00:00:00Z")
    assert result.returncode == 1
    assert "does not fire after" in result.stderr


def test_a_reader_that_closes_the_pipe_ends_the_tool_quietly():
    tool = subprocess.Popen([sys.executable, "-m", "shared.schedule", "next", "* * * * * *", "--count", "1000"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tool.stdout.readline()
    tool.stdout.close()  # as `| head -1` does
    err = tool.stderr.read()
    assert tool.wait(timeout=60) == 0
    assert "Traceback" not in err and "BrokenPipeError" not in err


def test_a_count_past_any_need_is_capped_and_said():
    result = run("next", "0 0 * * * *", "--count", "99999999", "--after", "2027-01-01T00:00:00Z")
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 1000
    assert result.stderr == "note: --count 99999999 is more than a listing needs: showing 1000\n"


def test_check_warns_of_what_the_host_accepts_but_is_almost_always_a_mistake():
    result = run("check", "*/5 * 10-2 * * *")
    assert result.returncode == 0, "the host fires it: a warning, not an error"
    assert result.stderr.splitlines() == [
        "warning: '*/5 * 10-2 * * *' fires 12 times a minute (its seconds field): a timer almost never needs to; "
        "write one second, such as 0",
        "warning: the hour field '10-2' has the range 10-2 written backwards: NCrontab reads it as 2-10 (it never "
        "wraps around)"]
