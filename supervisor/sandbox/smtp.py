"""A real SMTP submission server for the tests: aiosmtpd with AUTH over TLS.

Two listeners, as providers offer them: implicit TLS (like port 465) and
required STARTTLS (like 587). Every accepted message is delivered into Dovecot
over LMTP for the recipients that have a mailbox there, so a sent message can
be found with search_emails; every message is also kept in ``received``.
Faults for tests: refuse chosen recipients, or drop the connection right after
the message data arrived (delivered, but the client never hears so).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from supervisor.sandbox.dovecot import DovecotServer
from supervisor.sandbox.ports import free_port


@dataclass
class Delivery:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class SmtpBehaviour:
    """What the server does; tests change it for faults."""

    refuse: set[str] = field(default_factory=set)
    drop_after_data: bool = False
    # Run once a message is delivered, before "250" goes back (e.g. a proxy cutting the line).
    after_delivery: Callable[[], None] | None = None


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.lower() in self.server.behaviour.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        data = bytes(envelope.original_content or b"")
        self.server.deliver(Delivery(str(envelope.mail_from), list(envelope.rcpt_tos), data))
        if self.server.behaviour.after_delivery is not None:
            self.server.behaviour.after_delivery()
        if self.server.behaviour.drop_after_data:
            assert isinstance(smtp.transport, asyncio.Transport)
            smtp.transport.abort()
        return "250 2.0.0 Queued"


class _Authenticator:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    def __call__(
        self, smtp: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            self.server.logins.append(login)
            if self.server.users.get(login) == password:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


def _not_a_deprecation(record: logging.LogRecord) -> bool:
    """aiosmtpd 1.4 warns on its own logger, at every login, that the ``login_data``
    it sets itself is deprecated: nothing its user can act on."""
    return "is deprecated" not in record.getMessage()


class SmtpServer:
    def __init__(self, dovecot: DovecotServer) -> None:
        logging.getLogger("mail.log").addFilter(_not_a_deprecation)
        self.dovecot = dovecot
        self.users: dict[str, str] = {}
        self.received: list[Delivery] = []
        self.logins: list[str] = []  # every AUTH attempt, by login name
        self.behaviour = SmtpBehaviour()
        self._lock = threading.Lock()
        certs = dovecot.certificates
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(certs.cert_file), str(certs.key_file))
        self.tls_port = free_port()
        self.starttls_port = free_port()
        self.plaintext_port = free_port()  # offers no STARTTLS: clients must refuse it
        auth = _Authenticator(self)
        self._controllers = [
            Controller(
                _Handler(self),
                hostname="127.0.0.1",
                port=self.tls_port,
                ssl_context=context,
                server_hostname="localhost",
                authenticator=auth,
                # The whole connection is TLS; aiosmtpd only counts STARTTLS as TLS.
                auth_require_tls=False,
            ),
            Controller(
                _Handler(self),
                hostname="127.0.0.1",
                port=self.starttls_port,
                tls_context=context,
                require_starttls=True,
                authenticator=auth,
                auth_require_tls=True,
            ),
            Controller(_Handler(self), hostname="127.0.0.1", port=self.plaintext_port),
        ]

    def start(self) -> None:
        for controller in self._controllers:
            controller.start()

    def stop(self) -> None:
        for controller in self._controllers:
            controller.stop()

    def deliver(self, delivery: Delivery) -> None:
        with self._lock:
            self.received.append(delivery)
        local = [r for r in delivery.rcpt_tos if r in self.users]
        if local:
            with smtplib.LMTP("127.0.0.1", self.dovecot.lmtp_port) as lmtp:
                lmtp.sendmail(delivery.mail_from, local, delivery.data)

    def messages_for(self, address: str) -> list[Delivery]:
        with self._lock:
            return [d for d in self.received if address in d.rcpt_tos]
