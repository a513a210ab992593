"""The house: one-way floors among the app's modules and its tools, and rooms of a readable size.

Every import counts, at module level or inside a function: an import that runs back up is a circle waiting for the
next change. The basement (errors, clock) imports nothing of the app; the NCRONTAB engine only the basement; the
tools sit on top and nothing below imports them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("shared", "fakeazure", "localrun")
BASEMENT = {"shared.errors", "shared.clock"}
ENGINE = {"shared.ncrontab", "shared.ncrontab.engine", "shared.ncrontab.fields", "shared.ncrontab.describe"}
MAX_LINES = 450


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def modules() -> dict[str, Path]:
    return {module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")}


def imports(path: Path, known: set[str]) -> set[str]:
    """The app's modules `path` imports, anywhere in it (`from a import b` counts `a.b` when that is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name in known}


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    # A module's own package is not an edge back up: importing `shared.schedule.cli` runs `shared.schedule` first.
    return {name: {other for other in imports(path, known) if other != name and not name.startswith(other + ".")}
            for name, path in found.items()}


def circle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(name: str, stack: list[str]) -> list[str] | None:
        state[name] = 1
        for other in sorted(edges[name]):
            if state.get(other) == 1:
                return stack[stack.index(other):] + [other]
            if other not in state and (found := visit(other, stack + [other])):
                return found
        state[name] = 2
        return None

    return next((found for name in sorted(edges) if name not in state and (found := visit(name, [name]))), None)


def test_no_import_circle_among_the_app_the_fake_and_the_runner():
    assert circle(graph()) is None


def test_the_circle_check_finds_one():
    assert circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_the_basement_imports_nothing_of_the_app():
    edges = graph()
    assert {name: edges[name] for name in BASEMENT if edges[name]} == {}


def test_the_ncrontab_engine_imports_only_itself_and_the_basement():
    edges = graph()
    assert {name: edges[name] - ENGINE - BASEMENT for name in ENGINE if edges[name] - ENGINE - BASEMENT} == {}


def test_nothing_below_the_tools_imports_them():
    edges = graph()
    tools = {"shared.schedule", "shared.schedule.cli", "shared.schedule.__main__"}
    assert {name for name, targets in edges.items() if targets & tools and name not in tools} == set()


def test_the_deployed_package_imports_no_tool_and_no_fake():
    edges = graph()
    assert {name: sorted(targets) for name, targets in edges.items() if name.startswith("shared")
            and any(target.startswith(("fakeazure", "localrun")) for target in targets)} == {}


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_is_over_450_lines(name):
    assert len(modules()[name].read_text(encoding="utf-8").splitlines()) <= MAX_LINES
