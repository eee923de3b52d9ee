"""Shared fixtures: the test CA, a real Dovecot per session, a fresh account per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.leak_watch import WATCH
from tests.servers.dav import SERVER_TYPES, DavServer
from tests.servers.dovecot import Account, DovecotServer, dovecot_available
from tests.servers.smtp import SmtpBehaviour, SmtpServer
from tests.servers.tls import Certificates, make_certificates


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


_DAV_USERS: set[tuple[str, str]] = set()


def dav_login(server: DavServer, account: Account) -> str:
    """The mail account's login on ``server`` (created once); returns the URL to use."""
    if (server.name, account.email) not in _DAV_USERS:
        server.add_user(account.email, account.password)
        _DAV_USERS.add((server.name, account.email))
    return server.url


@pytest.fixture
def calendar_env(
    server_env: dict[str, str], dav_server: DavServer, account: Account
) -> dict[str, str]:
    """server_env with the calendar on ``dav_server`` (each calendar test runs on both)."""
    return {**server_env, "MAILBOX_CALDAV_URL": dav_login(dav_server, account)}


@pytest.fixture(scope="session")
def smtp(dovecot: DovecotServer) -> Iterator[SmtpServer]:
    server = SmtpServer(dovecot)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def account(dovecot: DovecotServer, smtp: SmtpServer) -> Iterator[Account]:
    """A new, empty mailbox for this test only, which may also send mail."""
    account = dovecot.add_user()
    smtp.users[account.email] = account.password
    WATCH.secret(account.password)
    yield account
    smtp.behaviour = SmtpBehaviour()


@pytest.fixture
def server_env(
    dovecot: DovecotServer,
    smtp: SmtpServer,
    dav_servers: dict[str, DavServer],
    account: Account,
    certificates: Certificates,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> dict[str, str]:
    """The environment Claude Desktop would pass, pointing at the test servers.

    A module or test marked ``tool_families("mail")`` gets a server with only those
    families on: it starts only their workers, which is what most of the suite's time
    went to (a server start costs over 3 s of CPU).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILBOX_")}
    families = request.node.get_closest_marker("tool_families")
    if families is not None:
        env["MAILBOX_TOOLS"] = ",".join(families.args)
    env.update(
        {
            "MAILBOX_EMAIL": account.email,
            "MAILBOX_PASSWORD": account.password,
            "MAILBOX_IMAP_HOST": "localhost",
            "MAILBOX_IMAP_PORT": str(dovecot.imaps_port),
            "MAILBOX_CALDAV_URL": dav_login(dav_servers["radicale"], account),
            "MAILBOX_TIMEZONE": "Europe/Berlin",
            "MAILBOX_SMTP_HOST": "localhost",
            "MAILBOX_SMTP_PORT": str(smtp.tls_port),
            "MAILBOX_SMTP_SECURITY": "tls",
            "MAILBOX_SIEVE_HOST": "localhost",
            "MAILBOX_SIEVE_PORT": str(dovecot.managesieve_port or 1),
            "MAILBOX_ATTACHMENT_DIR": str(tmp_path / "outgoing"),
            "MAILBOX_CA_FILE": str(certificates.ca_file),
            "MAILBOX_DOWNLOAD_DIR": str(tmp_path / "downloads"),
            "MAILBOX_LOG_LEVEL": "info",
        }
    )
    return env


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
