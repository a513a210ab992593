"""The docs tell the truth: links resolve, commands run as shown, settings, log words and errors match the code."""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_config_files import settings_read_by_code

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", ROOT / "bench" / "README.md", *(ROOT / "docs").glob("*.md")])
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d)?")


def text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    body = FENCE.sub("", text(page))
    return {slug(line.lstrip("#")) for line in body.splitlines() if line.startswith("#")}


def test_the_readme_is_a_short_front_door():
    assert len(text(ROOT / "README.md").encode("utf-8")) < 12 * 1024


def test_every_docs_page_is_one_click_from_the_readme():
    linked = {(ROOT / link.split("#")[0]).resolve() for link in LINK.findall(text(ROOT / "README.md"))
              if not link.startswith("http")}
    assert {page.resolve() for page in (ROOT / "docs").glob("*.md")} <= linked


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve_to_a_file_and_a_heading(page):
    broken = []
    for link in LINK.findall(FENCE.sub("", text(page))):
        if re.match(r"^[a-z]+:", link):
            continue
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            broken.append(link)
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            broken.append(link)
    assert broken == []


def test_every_setting_the_code_reads_is_documented_in_detail():
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", text(ROOT / "docs" / "settings.md")))
    assert settings_read_by_code() - documented == set()


def decision_words() -> set[str]:
    """Every literal the code gives `action=` or `reason=`, and the words of the power actions."""
    words = set()
    for path in (ROOT / "shared").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg in ("action", "reason") and \
                    isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                words.add(node.value.value)
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("result", "Outcome") and node.args \
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                words.add(node.args[0].value)
    from shared.selection import START, STOP

    for action in (STOP, START):
        words |= {action.done, action.dry, action.not_ready, action.tag_reason, action.meanwhile,
                  action.acts_on.lower()}
    return words


def test_every_action_and_reason_word_is_in_the_monitor_vocabulary():
    table = text(ROOT / "docs" / "monitor.md").split("## The log lines")[1].split("## Ready queries")[0]
    listed = set(re.findall(r"`([a-z_]+)`", table))
    assert decision_words() - listed == set()


# --------------------------------------------------------------------------- commands, as shown


def console_examples() -> list[tuple[str, str, list[str]]]:
    """(page, command, expected output lines) for every `$ ` line of a console block."""
    found = []
    for page in PAGES:
        for language, body in FENCE.findall(text(page)):
            if language != "console":
                continue
            command, expected = None, []
            for line in body.splitlines() + ["$ "]:
                if line.startswith("$ "):
                    if command:
                        found.append((str(page.relative_to(ROOT)), command, expected))
                    command, expected = line[2:].strip(), []
                else:
                    expected.append(line)
    return found


def runnable(command: str) -> bool:
    words = [word for word in shlex.split(command) if "=" not in word or word.startswith("-")]
    return words[:3] == ["python", "-m", "shared.schedule"] or (
        words[:3] == ["python", "-m", "localrun"] and "--emulator" in words)


def normal(line: str, volatile: bool) -> str:
    if not volatile:
        return line.rstrip()
    line = UUID.sub("<id>", INSTANT.sub("<time>", line.rstrip()))
    line = re.sub(r"\bin \d+\.\d\d s\b", "in <s> s", line)
    line = re.sub(r"hours_to_start=[\d.]+", "hours_to_start=<h>", line)  # depends on today's weekday
    return re.sub(r"elapsed_s=[\d.]+", "elapsed_s=<s>", line)


def is_subsequence(expected: list[str], actual: list[str]) -> bool:
    remaining = iter(actual)
    return all(any(line == candidate for candidate in remaining) for line in expected)


EXAMPLES = [example for example in console_examples() if runnable(example[1])]


def test_the_docs_show_runnable_examples():
    assert len(EXAMPLES) >= 10
    assert {page for page, _, _ in EXAMPLES} >= {"README.md", "docs/schedules.md", "docs/operations.md",
                                                  "docs/fleets.md"}


@pytest.mark.parametrize(("page", "command", "expected"), EXAMPLES, ids=[f"{e[0]}: {e[1][:60]}" for e in EXAMPLES])
def test_a_command_shown_runs_as_shown(tmp_path, page, command, expected):
    words = shlex.split(command)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "USERPROFILE": str(tmp_path)}
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    result = subprocess.run([sys.executable, *words[1:]], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=180)

    volatile = "localrun" in words
    shown = [normal(line, volatile) for line in expected if line.strip() != "..."]
    actual = [normal(line, volatile) for line in (result.stdout + result.stderr).splitlines()]
    assert (result.returncode != 0) == any(line.startswith("error:") for line in expected), result.stderr
    assert is_subsequence(shown, actual), "\n".join(actual)


def shown_commands() -> list[str]:
    """Every `python -m ...` or `python bench/...` in a code block or an inline code span of the docs."""
    found = []
    for page in PAGES:
        body = text(page)
        spans = [block for _, block in FENCE.findall(body)] + re.findall(r"`([^`\n]+)`", FENCE.sub("", body))
        for span in spans:
            found += [match.group(0) for match in re.finditer(r"python (?:-m \S+|bench/\S+)[^\n`#|]*", span)]
    return found


def test_every_command_shown_names_a_module_subcommand_and_options_that_exist():
    from localrun.cli import _parser as localrun_parser
    from localrun.invoke import functions
    from shared.schedule.cli import _parser as schedule_parser

    localrun_options = set(localrun_parser()._option_string_actions)
    schedule_commands = schedule_parser()._subparsers._group_actions[0].choices
    wrong = []
    for command in shown_commands():
        words = shlex.split(command.split("&&")[0].replace("<", "").replace(">", ""))
        if len(words) < 4 and words[1] == "-m":
            ok = words[2] in ("localrun", "shared.schedule", "pip", "pytest", "venv")
        elif words[1] == "-m" and words[2] == "localrun":
            ok = words[3] in [*functions(), "FUNCTION"] and all(w in localrun_options for w in words
                                                                 if w.startswith("--"))
        elif words[1] == "-m" and words[2] == "shared.schedule":
            sub = words[3]
            ok = sub in schedule_commands and all(w in schedule_commands[sub]._option_string_actions
                                                  for w in words if w.startswith("--"))
        elif words[1] == "-m":
            ok = words[2] in ("pip", "pytest", "venv", "check_jsonschema")
        else:
            ok = (ROOT / words[1]).is_file()
        if not ok:
            wrong.append(command)
    assert wrong == []


# --------------------------------------------------------------------------- error texts, as the code writes them


def config_error(loader, **overrides) -> str:
    from fakeazure import app_settings
    from shared.settings import ConfigError

    env = {**app_settings(), **overrides}
    env = {name: value for name, value in env.items() if value is not None}
    with pytest.raises(ConfigError) as error:
        loader(env)
    return str(error.value)


def test_the_error_examples_in_the_docs_are_the_codes_own():
    from datetime import datetime, timezone

    from shared.settings import load_compute_settings, load_pipeline_settings

    settings_page, schedules_page = text(ROOT / "docs" / "settings.md"), text(ROOT / "docs" / "schedules.md")
    pipeline = "77777777-7777-7777-7777-777777777777"
    assert config_error(load_pipeline_settings, AML_WORKSPACE_NAME=None, RUN_PIPELINE_PARAMETERS="[1]") in settings_page
    assert config_error(load_pipeline_settings, RUN_PIPELINE_ID=pipeline,
                        AZURE_CLIENT_ID="fake-Secret-value-9f8e7d6c5b4a") in settings_page
    assert config_error(load_pipeline_settings, RUN_PIPELINE_ID=pipeline, RUN_PIPELINE_WAIT_MINUTES="15") \
        in settings_page
    now = datetime(2027, 1, 10, tzinfo=timezone.utc)
    assert config_error(lambda env: load_compute_settings(env, now=now), STOP_COMPUTE_SCHEDULE="0 0 18 * * MON-FRI",
                        STOP_COMPUTE_TIME_ZONE="Europe/Berlin", STOP_COMPUTE_LOCAL_SCHEDULE="0 0 19 * * 1-5") \
        in schedules_page


def test_the_vscode_tasks_run_the_runner_on_the_functions_that_exist():
    import json

    from localrun.invoke import functions

    tasks = json.loads(text(ROOT / ".vscode" / "tasks.json"))
    [picker] = tasks["inputs"]
    assert sorted(picker["options"]) == functions()
    commands = [task["command"] for task in tasks["tasks"] if "localrun" in task.get("label", "")]
    assert commands and all(" -m localrun ${input:timerFunction}" in command for command in commands)


def runner_commands() -> list[tuple[str, str]]:
    """(page, command) for every `python -m localrun ...` of a bash block: commands for real Azure."""
    found = []
    for page in PAGES:
        for language, body in FENCE.findall(text(page)):
            if language == "bash":
                found += [(str(page.relative_to(ROOT)), line.split("#")[0].strip()) for line in body.splitlines()
                          if line.startswith("python -m localrun ")]
    return found


RUNNER_COMMANDS = runner_commands()


def test_the_docs_show_runner_commands_for_real_azure():
    assert len(RUNNER_COMMANDS) >= 4


@pytest.mark.parametrize(("page", "command"), RUNNER_COMMANDS, ids=[f"{p}: {c[18:70]}" for p, c in RUNNER_COMMANDS])
def test_a_runner_command_shown_for_azure_runs_as_shown_on_the_emulator(page, command, tmp_path, monkeypatch,
                                                                       capsys):
    """What the docs tell a user to run against Azure takes those arguments and works, on the demo (a `--job`
    command on the example pipelines.json, as the docs say to copy it)."""
    from localrun import cli
    from shared import jobs

    if "--job" in command:
        path = tmp_path / "pipelines.json"
        path.write_text(text(ROOT / "pipelines.json.example"), encoding="utf-8")
        monkeypatch.setattr(jobs, "JOBS_FILE", path)
    monkeypatch.chdir(tmp_path)

    assert cli.main([*shlex.split(command)[3:], "--emulator"]) == 0, capsys.readouterr()
