"""Node.js tools the tests and the runner use (Azurite, Kusto.Language), each pinned and installed once by npm under
its own folder of the project (in .gitignore and .funcignore). A developer tool, never deployed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from localrun.console import SetupError


def installed_version(prefix: Path, package: str) -> str | None:
    """The version of `package` under `prefix`, or None."""
    try:
        manifest = json.loads((prefix / "node_modules" / package / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest.get("version") if isinstance(manifest, dict) else None


def install(prefix: Path, package: str, version: str, needed_for: str) -> Path:
    """`package` at `version` under `prefix` (npm, once): its folder. SetupError without Node.js and npm, or when npm
    fails (its own last words)."""
    folder = prefix / "node_modules" / package
    if installed_version(prefix, package) == version:
        return folder
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise SetupError(f"{needed_for} needs {package}, which runs on Node.js: install Node.js 20 (with npm), "
                         "then run the command again")
    prefix.mkdir(exist_ok=True)
    done = subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--silent",
                           f"{package}@{version}"], capture_output=True, text=True, timeout=600)
    if done.returncode != 0 or installed_version(prefix, package) != version:
        raise SetupError(f"npm could not install {package}@{version}: {(done.stderr or done.stdout).strip()[-400:]}")
    return folder
