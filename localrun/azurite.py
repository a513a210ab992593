"""Azurite, Microsoft's Storage emulator, for the tests and `localrun --fanout`: installed once, started on free
loopback ports, stopped by its process id. A developer tool, never deployed.

Pinned to 3.35.0: later releases need Node.js 21 or 22 (their package's engines), and this project's machines have
Node.js 20. It runs with its telemetry off and its data in memory, on ports chosen free at start (another Azurite may
already hold the defaults, 10000-10002). The storage SDKs' newest queue service version is newer than this Azurite
accepts: the app pins one both accept (shared.storage.QUEUE_API_VERSION).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

from localrun import npm
from localrun.console import SetupError

VERSION = "3.35.0"
ROOT = Path(__file__).resolve().parents[1]
PREFIX = ROOT / ".azurite"  # npm's prefix for it (in .gitignore and .funcignore)
ACCOUNT = "devstoreaccount1"
# Azurite's well-known development account key, the same on every machine (Microsoft Learn, "Use the Azurite emulator
# for local Azure Storage development": connection strings). It opens nothing but a local emulator.
WELL_KNOWN_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
START_SECONDS = 60


def executable() -> Path:
    return PREFIX / "node_modules" / ".bin" / "azurite"


def install() -> Path:
    """Azurite at its pinned version under .azurite/ (npm, once); SetupError without Node.js and npm."""
    npm.install(PREFIX, "azurite", VERSION, "the Storage tests and --fanout")
    return executable()


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class Azurite:
    """One running Azurite: its connection string, and `stop()`."""

    def __init__(self) -> None:
        blob, queue, table = _free_ports(3)
        self.ports = {"blob": blob, "queue": queue, "table": table}
        self.process = subprocess.Popen(
            [str(install()), "--silent", "--inMemoryPersistence", "--disableTelemetry",
             "--blobHost", "127.0.0.1", "--blobPort", str(blob), "--queueHost", "127.0.0.1", "--queuePort", str(queue),
             "--tableHost", "127.0.0.1", "--tablePort", str(table)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        until = time.monotonic() + START_SECONDS
        while time.monotonic() < until:
            if self.process.poll() is not None:
                raise SetupError(f"Azurite exited at start: {(self.process.stdout.read() or '').strip()[-400:]}")
            try:
                for port in self.ports.values():
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SetupError(f"Azurite did not listen on {sorted(self.ports.values())} within {START_SECONDS} s")

    def endpoint(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={WELL_KNOWN_KEY};"
                f"BlobEndpoint={self.endpoint('blob')};QueueEndpoint={self.endpoint('queue')};"
                f"TableEndpoint={self.endpoint('table')};")

    def stop(self) -> None:
        """Stop it, and every process it started (its own process group)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, 15)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(timeout=10)
