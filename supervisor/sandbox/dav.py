"""Private CalDAV servers (Radicale and Xandikos) for the tests.

Each runs as a subprocess of this Python with its own folder, on a random
loopback port, serving HTTPS with the test CA's certificate and asking for HTTP
Basic credentials from an htpasswd file. Both servers check that file again when
it changes, so ``add_user`` gives each test a fresh account without a restart.
Both are multi-user: discovery from ``url`` (current-user-principal, then
calendar-home-set) leads each user to their own home, which holds one empty
calendar named "Calendar" and nobody else's data; addressbook-home-set leads to one
empty address book named "Contacts". Radicale also gives each user a read-only
"Global address book" (as mailbox.org does), through a rights file; Xandikos grants
every user all privileges on every collection they can reach, so it has none.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import importlib.util
import itertools
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote

from supervisor.sandbox.dav_documents import (
    ADDRESS_BOOK_NAME,
    CALENDAR_NAME,
    GLOBAL_BOOK_NAME,
    LOG_TAIL_LINES,
    MKADDRESSBOOK,
    MKCALENDAR,
    RADICALE_CONFIG,
    RADICALE_RIGHTS,
    SET_DISPLAYNAME,
    STARTUP_TIMEOUT,
)
from supervisor.sandbox.leftovers import private_dir
from supervisor.sandbox.ports import ServerProcess, free_port, stop_with_parent
from supervisor.sandbox.tls import Certificates


@dataclass(frozen=True)
class DavAccount:
    """A user on a test CalDAV server; clients start discovery at ``url``."""

    username: str
    password: str
    url: str


class DavServer(ServerProcess, ABC):
    """One running CalDAV server; ``add_user`` gives each test a fresh account."""

    name: ClassVar[str]
    module: ClassVar[str]  # what ``python -m`` runs

    def __init__(self, certificates: Certificates) -> None:
        self.certificates = certificates
        self.root = private_dir(self.name)
        self.port = free_port()
        self.htpasswd = self.root / "htpasswd"
        self.log_file = self.root / f"{self.name}.log"
        self.startup_seconds: float | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._counter = itertools.count(1)
        self._entries: list[str] = []
        self._last_mtime_ns = 0
        self._write_htpasswd()

    @classmethod
    def available(cls) -> bool:
        """Whether the server's Python package is installed."""
        return importlib.util.find_spec(cls.module) is not None

    @property
    def url(self) -> str:
        """Where a CalDAV client starts discovery (the same for every user)."""
        return f"https://localhost:{self.port}/"

    @property
    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return "\n".join(self.log.splitlines()[-lines:])

    def start(self) -> None:
        if self._process is not None:
            raise RuntimeError(f"{self.name} is already running")
        began = time.monotonic()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(self.log_file, "ab") as log:  # the child keeps its own handle
            self._process = subprocess.Popen(
                [sys.executable, "-m", self.module, *self._arguments()],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                env=env,
                preexec_fn=stop_with_parent,
            )
        try:
            self._wait_until_serving()
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"{self.name} did not start: {exc}\n{self.log_tail()}") from exc
        self.startup_seconds = time.monotonic() - began

    def add_user(self, username: str | None = None, password: str | None = None) -> DavAccount:
        """A new account whose home holds one empty calendar named "Calendar".

        The account is written to the htpasswd file (which the server rereads)
        and then used once, so its home exists when this returns. Give the
        mail account's name and password to have one login for every protocol.
        """
        if self._process is None:
            raise RuntimeError(f"start {self.name} before adding users")
        number = next(self._counter)
        account = DavAccount(
            username=username or f"user{number}-{secrets.token_hex(3)}@example.test",
            password=password or secrets.token_urlsafe(12),
            url=self.url,
        )
        self._entries.append(self._htpasswd_entry(account))
        self._write_htpasswd()
        self._provision(account)
        return account

    def request(
        self,
        account: DavAccount,
        method: str,
        path: str,
        body: str = "",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """One HTTPS request as ``account``: (status, body)."""
        context = self.certificates.client_context()
        connection = http.client.HTTPSConnection(
            "localhost", self.port, context=context, timeout=120
        )
        token = base64.b64encode(f"{account.username}:{account.password}".encode()).decode()
        all_headers = {
            "Authorization": f"Basic {token}",
            "Content-Type": "application/xml; charset=utf-8",
            **(headers or {}),
        }
        try:
            connection.request(method, path, body=body.encode(), headers=all_headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def calendar_path(self, account: DavAccount) -> str:
        """The account's default calendar."""
        return f"{self.home_path(account)}calendar/"

    def put_object(self, account: DavAccount, name: str, ics: str) -> None:
        """Store an iCalendar object as another client would (no checks of ours involved)."""
        status, answer = self.request(
            account,
            "PUT",
            f"{self.calendar_path(account)}{name}",
            ics,
            {"Content-Type": "text/calendar; charset=utf-8"},
        )
        if status not in (201, 204):
            raise RuntimeError(f"{self.name}: PUT {name} gave HTTP {status}: {answer[:300]!r}")

    def home_path(self, account: DavAccount) -> str:
        """The user's calendar home (what calendar-home-set names)."""
        return f"/{quote(account.username, safe='@')}/"

    def address_book_path(self, account: DavAccount) -> str:
        """The account's address book "Contacts"."""
        return f"/{quote(account.username, safe='@')}/contacts/"

    def global_book_path(self, account: DavAccount) -> str | None:
        """The account's read-only "Global address book"; None where the server has none."""
        return None

    def put_card(
        self, account: DavAccount, name: str, vcf: str, book: str | None = None
    ) -> tuple[int, bytes]:
        """Store a card as another client would (no checks of ours): (status, body)."""
        return self.request(
            account,
            "PUT",
            f"{book or self.address_book_path(account)}{name}",
            vcf,
            {"Content-Type": "text/vcard; charset=utf-8"},
        )

    @abstractmethod
    def _arguments(self) -> list[str]:
        """Command-line arguments after ``python -m <module>``."""

    @abstractmethod
    def _htpasswd_entry(self, account: DavAccount) -> str:
        """The account's htpasswd line, without the newline."""

    @abstractmethod
    def _provision(self, account: DavAccount) -> None:
        """Log in once as the new account so its home and calendar exist."""

    def _expect(self, account: DavAccount, method: str, path: str, body: str, status: int) -> None:
        got, answer = self.request(account, method, path, body)
        if got != status:
            raise RuntimeError(
                f"{self.name}: {method} {path} as {account.username} gave HTTP {got}, "
                f"expected {status}: {answer[:500]!r}\n{self.log_tail()}"
            )

    def _write_htpasswd(self) -> None:
        """Replace the htpasswd file in one step, with an mtime it never had before:
        servers that reload on a changed mtime must not miss two quick additions."""
        self._last_mtime_ns = max(time.time_ns(), self._last_mtime_ns + 1_000_000)
        draft = self.htpasswd.with_suffix(".new")
        draft.write_text("".join(f"{entry}\n" for entry in self._entries))
        os.utime(draft, ns=(self._last_mtime_ns, self._last_mtime_ns))
        os.replace(draft, self.htpasswd)

    def _wait_until_serving(self) -> None:
        """Block until the port completes a TLS handshake trusted by the test CA."""
        assert self._process is not None
        context = self.certificates.client_context()
        limit = time.monotonic() + STARTUP_TIMEOUT
        while True:
            status = self._process.poll()
            if status is not None:
                raise RuntimeError(f"the process exited with status {status}")
            try:
                with (
                    socket.create_connection(("127.0.0.1", self.port), timeout=2) as raw,
                    context.wrap_socket(raw, server_hostname="localhost"),
                ):
                    return
            except ssl.SSLCertVerificationError as exc:
                raise RuntimeError(
                    f"it serves a certificate the test CA did not issue: {exc}"
                ) from exc
            except OSError as exc:
                if time.monotonic() > limit:
                    raise RuntimeError(
                        f"no TLS on 127.0.0.1:{self.port} after {STARTUP_TIMEOUT} s ({exc})"
                    ) from None
                time.sleep(0.05)


class RadicaleServer(DavServer):
    """Radicale 3: TLS and htpasswd (plain) are its own; it reads the file at each login.

    The calendar home is the principal, ``/<username>/``; Radicale creates it at
    the user's first request and ``add_user`` adds ``/<username>/calendar/``.
    """

    name = "radicale"
    module = "radicale"

    def __init__(self, certificates: Certificates) -> None:
        super().__init__(certificates)
        tls_dir = self.root / "tls"
        tls_dir.mkdir()
        cert = shutil.copy(certificates.cert_file, tls_dir / "server.pem")
        key = shutil.copy(certificates.key_file, tls_dir / "server.key")
        self.config = self.root / "radicale.conf"
        rights = self.root / "rights"
        rights.write_text(RADICALE_RIGHTS)
        self.config.write_text(
            RADICALE_CONFIG.format(
                port=self.port,
                cert=cert,
                key=key,
                htpasswd=self.htpasswd,
                root=self.root,
                rights=rights,
            )
        )

    def _arguments(self) -> list[str]:
        return ["--config", str(self.config)]

    def _htpasswd_entry(self, account: DavAccount) -> str:
        return f"{account.username}:{account.password}"

    def seed_files(self, account: DavAccount, objects: dict[str, str]) -> None:
        """Write objects straight into Radicale's storage (seconds for thousands, where
        one PUT each takes minutes); Radicale reads them on the next request."""
        folder = self.root / "collections" / "collection-root" / account.username / "calendar"
        for name, text in objects.items():
            (folder / name).write_text(text, newline="")

    def global_book_path(self, account: DavAccount) -> str | None:
        return f"{self.home_path(account)}global/"

    def seed_global_card(self, account: DavAccount, name: str, vcf: str) -> None:
        """Put a card into the read-only global address book, as its administrator would
        (straight into the storage: the user may not write there)."""
        folder = self._collection_folder(account, "global")
        (folder / name).write_text(vcf, newline="")

    def _collection_folder(self, account: DavAccount, name: str) -> Path:
        return self.root / "collections" / "collection-root" / account.username / name

    def _provision(self, account: DavAccount) -> None:
        self._expect(account, "MKCALENDAR", f"{self.home_path(account)}calendar/", MKCALENDAR, 201)
        self._expect(account, "MKCOL", self.address_book_path(account), MKADDRESSBOOK, 201)
        # The user may only read the global book: it is made in the storage, as an
        # administrator would.
        folder = self._collection_folder(account, "global")
        folder.mkdir(parents=True, exist_ok=True)
        props = {"tag": "VADDRESSBOOK", "D:displayname": GLOBAL_BOOK_NAME}
        (folder / ".Radicale.props").write_text(json.dumps(props))


class XandikosServer(DavServer):
    """Xandikos in multi-user mode: its own TLS (``--autocert``, which serves the
    certificate it finds in its state folder, here the test CA's) and its own Basic
    auth (``--htpasswd``, SHA1 entries, reread when the file's mtime changes).

    Each user's principal is ``/<username>/`` and the calendar home
    ``/<username>/calendars/``; ``--defaults`` creates ``calendars/calendar`` at
    the first request, and ``add_user`` names it "Calendar". Users cannot reach
    other principals' paths; Xandikos 0.4.10 answers those with HTTP 500 (its
    access check raises outside its error handling), not 403. Needs a Xandikos
    whose ``multi-user`` command takes ``--autocert`` and ``--htpasswd``.
    """

    name = "xandikos"
    module = "xandikos"

    def __init__(self, certificates: Certificates) -> None:
        super().__init__(certificates)
        from xandikos.autocert import CERT_FILENAME, KEY_FILENAME

        self.data = self.root / "data"
        self.state = self.root / "state"
        certs = self.state / "certs"
        certs.mkdir(parents=True)
        shutil.copy(certificates.cert_file, certs / CERT_FILENAME)
        shutil.copy(certificates.key_file, certs / KEY_FILENAME)

    def home_path(self, account: DavAccount) -> str:
        return f"{super().home_path(account)}calendars/"

    def address_book_path(self, account: DavAccount) -> str:
        return f"/{quote(account.username, safe='@')}/contacts/addressbook/"

    def _arguments(self) -> list[str]:
        return [
            "multi-user",
            "--directory",
            str(self.data),
            "--state-dir",
            str(self.state),
            "--defaults",
            "--autocert",
            "--htpasswd",
            str(self.htpasswd),
            "--listen-address",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-detect-systemd",
        ]

    def _htpasswd_entry(self, account: DavAccount) -> str:
        digest = base64.b64encode(hashlib.sha1(account.password.encode()).digest()).decode()
        return f"{account.username}:{{SHA}}{digest}"

    def _provision(self, account: DavAccount) -> None:
        calendar = f"{self.home_path(account)}calendar/"
        self._expect(
            account, "PROPPATCH", calendar, SET_DISPLAYNAME.format(name=CALENDAR_NAME), 207
        )
        self._expect(
            account,
            "PROPPATCH",
            self.address_book_path(account),
            SET_DISPLAYNAME.format(name=ADDRESS_BOOK_NAME),
            207,
        )


SERVER_TYPES: tuple[type[DavServer], ...] = (RadicaleServer, XandikosServer)
