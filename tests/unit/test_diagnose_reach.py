"""``reach``: the name lookup, TCP connect and TLS steps every worker's diagnosis starts with."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from protocol.diagnosis import CALDAV_CHECKS, SMTP_CHECKS
from workers.diagnostics import Checklist, Endpoint, reach

pytestmark = pytest.mark.anyio


@pytest.fixture
def listening() -> Iterator[Endpoint]:
    """A local port that accepts connections and never speaks."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        yield Endpoint("127.0.0.1", port, "the host setting", "the port setting", None, 2.0)


def statuses(checks: Checklist) -> list[tuple[str, str]]:
    return [(c.name, c.status) for c in checks.result().checks]


async def test_without_tls_only_the_name_and_the_port_are_checked(listening: Endpoint) -> None:
    checks = Checklist(SMTP_CHECKS)
    await reach(checks, "smtp", listening, tls=False)
    assert [c.name for c in checks.checks] == ["smtp dns", "smtp connect"]
    assert checks.checks[1].detail == f"connected to {listening.where}"
    assert checks.failed is None


async def test_a_plain_connection_passes_the_tls_check_saying_why(listening: Endpoint) -> None:
    checks = Checklist(CALDAV_CHECKS)
    await reach(checks, "caldav", listening, plain="not used: plain http")
    assert statuses(checks)[:3] == [
        ("caldav dns", "ok"),
        ("caldav connect", "ok"),
        ("caldav tls", "ok"),
    ]
    assert checks.checks[2].detail == "not used: plain http"


async def test_a_closed_port_fails_the_connect_check_and_skips_tls() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed = Endpoint("127.0.0.1", port, "the host setting", "the port setting", None, 2.0)
    checks = Checklist(CALDAV_CHECKS)
    await reach(checks, "caldav", closed)
    assert statuses(checks)[:3] == [
        ("caldav dns", "ok"),
        ("caldav connect", "failed"),
        ("caldav tls", "skipped"),
    ]
