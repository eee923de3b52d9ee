"""What an MCP server under test is given, and one server a whole module can share.

A server start costs over 3 s of CPU, which is what most of the suite's time went
to; where a module's tests only read what was seeded for them (or are refused and
change nothing), one server on one account serves them all (``Servers.shared_session``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from xml.etree import ElementTree

import pytest
from mcp.client.session import ClientSession

from tests.leak_watch import WATCH
from tests.mcp_client import mcp_session
from tests.servers.dav import SERVER_TYPES, DavAccount, DavServer
from tests.servers.dovecot import Account, DovecotServer
from tests.servers.smtp import SmtpServer
from tests.servers.tls import Certificates

NO_RATE_LIMITS = {
    "MAILBOX_RATE_LIMIT_IMAP": "0",
    "MAILBOX_RATE_LIMIT_SMTP": "0",
    "MAILBOX_RATE_LIMIT_CALDAV": "0",
    "MAILBOX_SEND_LIMIT_PER_HOUR": "0",
}
"""For a test that calls far more often than a person would in a minute: past a burst
of 60, the default IMAP limit spaces calls 200 ms apart, which would be all it measured."""


CALDAV_SERVERS = {server.name for server in SERVER_TYPES}
"""Radicale and Xandikos: every calendar test runs against both."""


def tool_families(node: pytest.Item | pytest.Collector) -> tuple[str, ...]:
    """The families a test or module is marked to need (``tool_families``); () for all."""
    marker = node.get_closest_marker("tool_families")
    return tuple(marker.args) if marker is not None else ()


def new_account(dovecot: DovecotServer, smtp: SmtpServer) -> Account:
    """A new, empty mailbox, which may also send mail."""
    account = dovecot.add_user()
    smtp.users[account.email] = account.password
    WATCH.secret(account.password)
    return account


@dataclass
class Servers:
    """The session's real servers: accounts on them and the environment pointing there."""

    dovecot: DovecotServer
    smtp: SmtpServer
    dav: dict[str, DavServer]
    certificates: Certificates
    _dav_users: set[tuple[str, str]] = field(default_factory=set)

    def new_account(self) -> Account:
        return new_account(self.dovecot, self.smtp)

    def dav_login(self, server: DavServer, account: Account) -> str:
        """The mail account's login on ``server`` (created once); returns the URL to use."""
        if (server.name, account.email) not in self._dav_users:
            server.add_user(account.email, account.password)
            self._dav_users.add((server.name, account.email))
        return server.url

    def env(
        self,
        account: Account,
        folder: Path,
        families: Sequence[str] = (),
        calendar: str = "radicale",
    ) -> dict[str, str]:
        """The environment Claude Desktop would pass for ``account``; its files go under
        ``folder``. With ``families``, the server offers only those and starts only their
        workers; the calendar is on the ``calendar`` server."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAILBOX_")}
        if families:
            env["MAILBOX_TOOLS"] = ",".join(families)
        dav = self.dav[calendar]
        env.update(
            {
                "MAILBOX_EMAIL": account.email,
                "MAILBOX_PASSWORD": account.password,
                "MAILBOX_IMAP_HOST": "localhost",
                "MAILBOX_IMAP_PORT": str(self.dovecot.imaps_port),
                "MAILBOX_CALDAV_URL": (
                    self.dav_login(dav, account)
                    if not families or {"calendar", "contacts", "tasks"} & set(families)
                    else dav.url
                ),
                "MAILBOX_TIMEZONE": "Europe/Berlin",
                "MAILBOX_SMTP_HOST": "localhost",
                "MAILBOX_SMTP_PORT": str(self.smtp.tls_port),
                "MAILBOX_SMTP_SECURITY": "tls",
                "MAILBOX_SIEVE_HOST": "localhost",
                "MAILBOX_SIEVE_PORT": str(self.dovecot.managesieve_port or 1),
                "MAILBOX_ATTACHMENT_DIR": str(folder / "outgoing"),
                "MAILBOX_CA_FILE": str(self.certificates.ca_file),
                "MAILBOX_DOWNLOAD_DIR": str(folder / "downloads"),
                "MAILBOX_LOG_LEVEL": "info",
            }
        )
        return env

    @asynccontextmanager
    async def shared_session(
        self,
        account: Account,
        folder: Path,
        families: Sequence[str] = (),
        calendar: str = "radicale",
    ) -> AsyncIterator[Shared]:
        """One session for a module's tests, on ``account``; see ``module_session``."""
        env = self.env(account, folder, families, calendar)
        async with module_session(env, folder) as session:
            yield Shared(account, session, calendar, folder, self.dav[calendar])

    def empty_calendar(self, shared: Shared) -> None:
        """Deletes every object in ``shared``'s calendar, as another client would: the
        tests of a module that write to the calendar can then share one server."""
        dav = self.dav[shared.calendar]
        login = shared.dav_login()
        collection = dav.calendar_path(login)
        status, body = dav.request(login, "PROPFIND", collection, _LIST_MEMBERS, {"Depth": "1"})
        if status != 207:
            raise RuntimeError(f"{dav.name}: PROPFIND {collection} gave HTTP {status}")
        for element in ElementTree.fromstring(body).iter("{DAV:}href"):
            path = urlsplit((element.text or "").strip()).path
            if unquote(path).rstrip("/") == unquote(collection).rstrip("/"):
                continue  # the calendar itself
            status, _ = dav.request(login, "DELETE", path)
            if status not in (200, 204, 404):
                raise RuntimeError(f"{dav.name}: DELETE {path} gave HTTP {status}")

    def seeded_session(
        self,
        folder: Path,
        seed: Seed | None = None,
        families: Sequence[str] = (),
    ) -> AbstractAsyncContextManager[Shared]:
        """A shared session on a new account that ``seed`` filled first."""
        account = self.new_account()
        if seed is not None:
            seed(self.dovecot, account)
        return self.shared_session(account, folder, families)


@dataclass(frozen=True)
class Shared:
    """A module's account and the one session its tests share."""

    account: Account
    session: ClientSession
    calendar: str  # the name of the CalDAV server the session's calendar is on
    folder: Path  # the server's own files: outgoing/ (attachments), downloads/, err.log
    dav: DavServer  # that CalDAV server

    def dav_login(self) -> DavAccount:
        """The account's login on the CalDAV server, to store or read objects as another
        client would."""
        return DavAccount(self.account.email, self.account.password, self.dav.url)


_LIST_MEMBERS = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>'
)


Seed = Callable[[DovecotServer, Account], None]
"""Fills a new account's mailbox before its server starts."""


def module_server(seed: Seed | None, families: Sequence[str] = ()) -> Any:
    """A module-scoped fixture, named by what it is assigned to: one server on a new
    account that ``seed`` filled first, shared by the module's tests that ask for it."""

    @pytest.fixture(scope="module")
    async def shared(
        servers: Servers, tmp_path_factory: pytest.TempPathFactory
    ) -> AsyncIterator[Shared]:
        folder = tmp_path_factory.mktemp(seed.__name__ if seed else "shared")
        async with servers.seeded_session(folder, seed, families) as session:
            yield session

    return shared


CalendarSeed = Callable[[DavServer, DavAccount], None]
"""Fills a new account's calendar (on the given server, with the given login)."""


def module_calendar_server(seed: CalendarSeed | None, families: Sequence[str] = ()) -> Any:
    """A module-scoped fixture, named by what it is assigned to, for each CalDAV server in
    turn: one server on a new account whose calendar ``seed`` filled first."""

    @pytest.fixture(scope="module", params=sorted(CALDAV_SERVERS))
    async def shared(
        request: pytest.FixtureRequest, servers: Servers, tmp_path_factory: pytest.TempPathFactory
    ) -> AsyncIterator[Shared]:
        calendar = str(request.param)
        account, dav = servers.new_account(), servers.dav[calendar]
        servers.dav_login(dav, account)
        if seed is not None:
            seed(dav, DavAccount(account.email, account.password, dav.url))
        folder = tmp_path_factory.mktemp(seed.__name__ if seed else "calendar")
        async with servers.shared_session(account, folder, families, calendar) as session:
            yield session

    return shared


@asynccontextmanager
async def module_session(env: dict[str, str], folder: Path) -> AsyncIterator[ClientSession]:
    """One MCP session for many tests (a module-scoped fixture's). Its answers are checked
    for passwords call by call, in the test that made the call; its log when it ends,
    which fails the fixture's teardown if a password is in it."""
    seen = len(WATCH.leaks)
    async with mcp_session(env, folder / "err.log") as session:
        yield session
    assert WATCH.leaks[seen:] == [], WATCH.leaks[seen:]
