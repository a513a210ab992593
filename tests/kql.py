"""KQL checked without Azure: Kusto.Language, Microsoft's own parser and binder (npm `@kusto/language-service-next`,
pinned, installed under .kusto/ on first use), run on Node.js over the docs' and the workbook's queries against the
Application Insights tables (schemas/appinsights-tables.json, with its sources). It parses and binds; it does not run
a query: the tests match what a query looks for against the lines the app writes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from localrun import npm

ROOT = Path(__file__).resolve().parent.parent
PACKAGE, VERSION = "@kusto/language-service-next", "12.4.1"
PREFIX = ROOT / ".kusto"
CHECKER = Path(__file__).resolve().parent / "kql_check.js"
TABLES = json.loads((Path(__file__).resolve().parent / "schemas" / "appinsights-tables.json").read_text(
    encoding="utf-8"))["tables"]
FENCE = re.compile(r"```kusto\n(.*?)```", re.S)


def install() -> Path:
    return npm.install(PREFIX, PACKAGE, VERSION, "the KQL tests")


def analyze(queries: list[str]) -> list[dict]:
    """Per query: `diagnostics` (severity, message, at), `comparisons` (op, left, values) and `extracts` (patterns)."""
    folder = install()
    done = subprocess.run([shutil.which("node") or "node", str(CHECKER), str(folder)],
                          input=json.dumps({"tables": TABLES, "queries": queries}), capture_output=True, text=True,
                          timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"kql_check.js failed: {done.stderr.strip()[-800:]}")
    return json.loads(done.stdout)


def docs_queries() -> dict[str, str]:
    """Every ```kusto block of the docs, by `page#n`."""
    return {f"{page.relative_to(ROOT)}#{n}": block for page in sorted((ROOT / "docs").glob("*.md"))
            for n, block in enumerate(FENCE.findall(page.read_text(encoding="utf-8")), 1)}


def workbook_queries() -> dict[str, str]:
    """Every query of infra/workbook.json, by its item's name (parameter queries included)."""
    workbook = json.loads((ROOT / "infra" / "workbook.json").read_text(encoding="utf-8"))
    found = {}

    def visit(item, name):
        if isinstance(item, dict):
            if isinstance(item.get("query"), str):
                found[name] = item["query"]
            for key, value in item.items():
                visit(value, item.get("name", name) if key == "content" else name)
        elif isinstance(item, list):
            for value in item:
                visit(value, name)

    visit(workbook, "workbook")
    return found
