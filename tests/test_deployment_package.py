"""What ships is what runs: the deployment file set, built the way Core Tools and the DevOps pipeline build it.

Core Tools and the VS Code extension pack the project folder minus the gitignore-style patterns of .funcignore;
azure-pipelines.yml stages it with `rsync --exclude-from=.funcignore`. Every Python module in that set may import
only the standard library, the packages requirements.txt installs, and modules of the set itself.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import sys
from pathlib import Path

import pathspec
import pytest

ROOT = Path(__file__).resolve().parent.parent
NEVER_DEPLOYED = ("tests", "bench", "docs", "fakeazure", "localrun", ".ci", ".vscode")


def deployment_set(root: Path) -> set[str]:
    """Relative paths of the files a deployment carries (before .python_packages is added)."""
    spec = pathspec.GitIgnoreSpec.from_lines((root / ".funcignore").read_text(encoding="utf-8").splitlines())
    files = set()
    for path in root.rglob("*"):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and not spec.match_file(relative) and not relative.startswith((".git/", ".python_packages/")):
            files.add(relative)
    return files


def _requirement_names(root: Path) -> list[str]:
    names = []
    for line in (root / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            names.append(re.split(r"[<>=!~;\s\[]", line, maxsplit=1)[0])
    return names


def _installed_files(names: list[str]) -> set[Path]:
    found: set[Path] = set()
    for name in names:
        distribution = importlib.metadata.distribution(name)
        found |= {Path(distribution.locate_file(file)).resolve() for file in distribution.files or []}
    return found


def foreign_imports(root: Path, files: set[str]) -> list[str]:
    """`file: module` for every import that is neither stdlib, nor a requirement, nor a module of `files`."""
    local = {name.split("/")[0].removesuffix(".py") for name in files}
    allowed_files = _installed_files(_requirement_names(root))
    problems = []
    for relative in sorted(name for name in files if name.endswith(".py")):
        tree = ast.parse((root / relative).read_text(encoding="utf-8"), filename=relative)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top == "__future__" or top in local:
                    continue
                spec = importlib.util.find_spec(module)
                origin = Path(spec.origin).resolve() if spec is not None and spec.origin else None
                if origin is None or origin not in allowed_files:
                    problems.append(f"{relative}: {module}")
    return problems


def test_the_package_holds_the_functions_shared_and_the_host_files_only():
    files = deployment_set(ROOT)
    tops = {name.split("/")[0] for name in files}

    assert {"host.json", "requirements.txt", "shared", "RunPipelineTimer", "StopComputeTimer"} <= tops
    assert not tops & set(NEVER_DEPLOYED), sorted(tops & set(NEVER_DEPLOYED))
    assert not [name for name in files if name.endswith((".md", ".example")) or "local.settings.json" in name]


def test_every_deployed_module_imports_only_stdlib_requirements_and_the_package_itself():
    assert foreign_imports(ROOT, deployment_set(ROOT)) == []


@pytest.mark.parametrize("module", ["fakeazure", "tests.conftest", "localrun.cli", "responses", "pathspec"])
def test_the_check_catches_a_deployed_module_that_imports_a_tool(tmp_path, module):
    for name in (".funcignore", "requirements.txt"):
        (tmp_path / name).write_text((ROOT / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "leak.py").write_text(f"import json\nimport requests\nimport {module}\n", encoding="utf-8")

    assert foreign_imports(tmp_path, deployment_set(tmp_path)) == [f"shared/leak.py: {module}"]


def test_a_live_pipelines_json_is_deployed_with_the_app_and_the_example_is_not(tmp_path):
    (tmp_path / ".funcignore").write_text((ROOT / ".funcignore").read_text(encoding="utf-8"), encoding="utf-8")
    for name in ("pipelines.json", "pipelines.json.example", "host.json"):
        (tmp_path / name).write_text("{}", encoding="utf-8")

    files = deployment_set(tmp_path)

    assert "pipelines.json" in files and "pipelines.json.example" not in files
