"""Shared fixtures: the test CA, a real Dovecot per session, a fresh account per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.leak_watch import WATCH
from tests.mcp_client import SERVER_STARTS
from tests.server_env import Servers, Shared, new_account, tool_families
from tests.servers.dav import SERVER_TYPES, DavServer
from tests.servers.dovecot import Account, DovecotServer, dovecot_available
from tests.servers.smtp import SmtpBehaviour, SmtpServer
from tests.servers.tls import Certificates, make_certificates

# Test files that take 45 s or more in a full run (the sum of their tests' durations with
# three test processes on two cores), longest first. tox runs the suite with `-n auto
# --dist loadfile --no-loadscope-reorder`: xdist hands files out in collection order, so
# these start first and no long file is left running alone at the end. (xdist's own
# order, by number of tests, started them last.)
LONGEST_FIRST = (
    "tests/e2e/test_quickstart.py",  # 260 s: three installs, one nested tox run
    "tests/resilience/test_worker_faults.py",  # 115 s
    "tests/e2e/test_attack_contracts.py",  # 105 s
    "tests/e2e/test_sandbox.py",  # 90 s
    "tests/e2e/test_attack_invitations.py",  # 90 s
    "tests/e2e/test_attack_contacts.py",  # 85 s
    "tests/e2e/test_attack_filters.py",  # 65 s
    "tests/e2e/test_invitations.py",  # 60 s
    "tests/e2e/test_filters.py",  # 55 s
    "tests/e2e/test_tasks.py",  # 55 s
    "tests/e2e/test_diagnose.py",  # 50 s
    "tests/e2e/test_send_once.py",  # 50 s
    "tests/e2e/test_server.py",  # 45 s
    "tests/e2e/test_boot_error.py",  # 45 s
)


EXEC_SERVER_FILES = (
    "tests/e2e/test_server.py",
    "tests/e2e/test_sandbox.py",
    "tests/e2e/test_leftovers.py",
    "tests/perf/test_bench_memory.py",  # a forked server has not touched its libraries' pages
)
"""The tests about the server's own process (its start, exit, process tree and memory, and
what a killed one leaves behind): they start ``python -m supervisor`` itself. Every other
server is forked from a process that has imported it already (tests/preloaded_server.py),
which saves about 1.9 s of CPU a start."""


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one test process more than the cores this process may use. Many tests
    wait (on a timeout, a server's answer, a worker's restart); the extra process fills
    those gaps."""
    return len(os.sched_getaffinity(0)) + 1


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files of LONGEST_FIRST first, in its order; the rest as collected."""
    rank = {path: n for n, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.partition("::")[0], len(rank)))


@pytest.fixture(scope="session", autouse=True)
def _preloaded_server() -> Iterator[None]:
    yield
    SERVER_STARTS.stop()


@pytest.fixture(autouse=True)
def _plain_server_start(request: pytest.FixtureRequest) -> Iterator[None]:
    forked = SERVER_STARTS.forked
    if request.node.nodeid.partition("::")[0] in EXEC_SERVER_FILES:
        SERVER_STARTS.forked = False
    yield
    SERVER_STARTS.forked = forked


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def dovecot(certificates: Certificates) -> Iterator[DovecotServer]:
    if not dovecot_available():
        # Never skip quietly: CI must prove the real-server tests ran.
        pytest.fail(
            "Dovecot is not installed; run: apt-get install -y dovecot-imapd dovecot-lmtpd",
            pytrace=False,
        )
    server = DovecotServer(certificates)
    server.start()
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def managesieve_port(dovecot: DovecotServer) -> int:
    """The test Dovecot's ManageSieve port (STARTTLS, the test CA's certificate)."""
    if dovecot.managesieve_port is None:
        pytest.fail(
            "Pigeonhole is not installed; run: apt-get install -y dovecot-sieve "
            "dovecot-managesieved",
            pytrace=False,
        )
    return dovecot.managesieve_port


@pytest.fixture(scope="session")
def dav_servers(certificates: Certificates) -> Iterator[dict[str, DavServer]]:
    """Radicale and Xandikos, started on first use and kept for the session."""
    started: dict[str, DavServer] = {}
    for server_type in SERVER_TYPES:
        server = server_type(certificates)
        server.start()
        started[server.name] = server
    yield started
    for server in started.values():
        server.cleanup()


@pytest.fixture(params=["radicale", "xandikos"])
def dav_server(request: pytest.FixtureRequest, dav_servers: dict[str, DavServer]) -> DavServer:
    """Each calendar test runs against both servers."""
    return dav_servers[str(request.param)]


@pytest.fixture
def calendar_env(
    server_env: dict[str, str], servers: Servers, dav_server: DavServer, account: Account
) -> dict[str, str]:
    """server_env with the calendar on ``dav_server`` (each calendar test runs on both)."""
    return {**server_env, "MAILBOX_CALDAV_URL": servers.dav_login(dav_server, account)}


@pytest.fixture
def fresh_calendar(calendar_server: Shared, servers: Servers) -> Shared:
    """The module's ``calendar_server`` (a ``module_calendar_server``) with its calendar
    emptied for this test, as another client would: a module's tests that create, change
    and list events share one server per CalDAV server, none seeing another's events.
    (A server start costs over 3 s of CPU; these tests start none of their own.)"""
    servers.empty_calendar(calendar_server)
    return calendar_server


@pytest.fixture(scope="session")
def smtp(dovecot: DovecotServer) -> Iterator[SmtpServer]:
    server = SmtpServer(dovecot)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def servers(
    dovecot: DovecotServer,
    smtp: SmtpServer,
    dav_servers: dict[str, DavServer],
    certificates: Certificates,
) -> Servers:
    return Servers(dovecot, smtp, dav_servers, certificates)


@pytest.fixture
def account(dovecot: DovecotServer, smtp: SmtpServer) -> Iterator[Account]:
    """A new, empty mailbox for this test only, which may also send mail."""
    yield new_account(dovecot, smtp)
    smtp.behaviour = SmtpBehaviour()


@pytest.fixture
def server_env(
    servers: Servers, account: Account, tmp_path: Path, request: pytest.FixtureRequest
) -> dict[str, str]:
    """The environment Claude Desktop would pass, pointing at the test servers.

    A module or test marked ``tool_families("mail")`` gets a server with only those
    families on: it starts only their workers, which is what most of the suite's time
    went to (a server start costs over 3 s of CPU).
    """
    return servers.env(account, tmp_path, tool_families(request.node))


@pytest.fixture(scope="session", autouse=True)
def _logs_to_stderr() -> None:
    """Code under test logs with structlog; as in production, never to stdout."""
    from protocol.logs import configure_logging

    configure_logging("tests", "info", "console")


@pytest.fixture(autouse=True)
def _no_password_leaked() -> Iterator[None]:
    """Fail the test during which a password appeared in what the server said (see
    tests/leak_watch.py): at once, and in whichever process of a parallel run saw it."""
    seen = len(WATCH.leaks)
    yield
    assert WATCH.leaks[seen:] == [], WATCH.leaks[seen:]
