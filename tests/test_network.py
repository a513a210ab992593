"""No network: a host name that does not resolve fails the tick at once, on the real clock, saying what to check."""

from __future__ import annotations

import socket
import time

import pytest

from fakeazure import TENANT
from shared import clock, retry
from shared.transport import UnresolvedHostError
from tests.conftest import entry_point

stop_compute_timer = entry_point("StopComputeTimer")


@pytest.fixture
def unresolvable(monkeypatch):
    """Every name lookup fails the way it does without DNS (no fake Azure: the real requests stack runs)."""
    asked: list[str] = []

    def getaddrinfo(host, *args, **kwargs):
        asked.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(clock, "time", time)  # the real clock, not the suite's virtual one
    return asked


def test_an_unresolvable_sign_in_host_fails_after_one_more_try_naming_it(settings, timer, logs, unresolvable):
    settings()
    started = time.monotonic()

    with pytest.raises(UnresolvedHostError) as error:
        stop_compute_timer(timer)

    elapsed = time.monotonic() - started
    message = str(error.value)
    assert set(unresolvable) == {"login.microsoftonline.com"}
    assert len(unresolvable) <= 4, "two attempts (the HTTP stack may look a name up twice per attempt)"
    assert retry.DNS_RETRY_SECONDS <= elapsed < retry.DNS_RETRY_SECONDS + 5
    assert message.startswith("cannot resolve host login.microsoftonline.com ([Errno -2] Name or service not known)")
    assert "outbound network, a proxy (HTTPS_PROXY)" in message and "private DNS zones" in message
    assert TENANT not in message and error.value.__cause__ is None
    retries = [r.getMessage() for r in logs.records if r.getMessage().startswith("retry ")]
    assert [line.split(" action=")[1].split()[0] for line in retries] == ["wait", "gave_up"]
    assert "reason=unresolved_host host=login.microsoftonline.com" in retries[-1]
