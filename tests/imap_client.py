"""A bare imapclient connection to the test Dovecot: the "other mail client" in tests."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from imapclient import IMAPClient

from tests.servers.dovecot import Account, DovecotServer


@contextmanager
def other_client(dovecot: DovecotServer, account: Account) -> Iterator[Any]:
    context = ssl.create_default_context(cafile=str(dovecot.certificates.ca_file))
    client = IMAPClient(
        "localhost", port=dovecot.imaps_port, ssl=True, ssl_context=context, timeout=10
    )
    client.login(account.email, account.password)
    try:
        yield client
    finally:
        client.logout()


def simple_message(subject: str, body: str = "Hello.") -> bytes:
    return (
        f"From: Anna <anna@example.test>\r\nTo: you@example.test\r\nSubject: {subject}\r\n"
        f"Message-ID: <{abs(hash(subject))}@example.test>\r\n\r\n{body}\r\n"
    ).encode()
