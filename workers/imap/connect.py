"""Opening one logged-in IMAP connection (blocking)."""

from __future__ import annotations

from typing import Any

from imapclient import IMAPClient, SocketTimeout

from protocol.settings import ImapSettings
from workers.imap.errors import imap_errors
from workers.tls import client_tls_context


def open_client(settings: ImapSettings) -> Any:
    """Connect over implicit TLS and log in; raises a MailError on any failure.

    imapclient's default timeout is None (wait forever), so both the connect
    and the read timeout are always set.
    """
    timeout = SocketTimeout(connect=settings.pool.connect_timeout, read=settings.pool.read_timeout)
    with imap_errors(settings.host, settings.port, settings.username):
        client = IMAPClient(
            settings.host,
            port=settings.port,
            ssl=True,
            ssl_context=client_tls_context(settings.ca_file),
            timeout=timeout,
        )
        client.normalise_times = False  # keep INTERNALDATE's offset: we report aware times
        try:
            client.login(settings.username, settings.password)
        except BaseException:
            client.shutdown()
            raise
        return client
