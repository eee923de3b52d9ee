"""What most mail tests begin with: a fresh account on Dovecot, mail put into it as
another client would, and the environment of a server for it that the test starts itself.

The ``mailbox`` fixture is offered to tests/e2e, tests/security and tests/resilience by
their conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.imap_client import other_client
from tests.mail_factory import deliver
from tests.mcp_client import mcp_session
from tests.servers.dovecot import Account, DovecotServer


class Mailbox:
    """A fresh account, and ``env``, the environment of a server for it (a test may change
    it before it starts one)."""

    def __init__(
        self, env: dict[str, str], folder: Path, dovecot: DovecotServer, account: Account
    ) -> None:
        self.env = env
        self.folder = folder
        self.dovecot = dovecot
        self.account = account

    @contextmanager
    def imap(self) -> Iterator[Any]:
        """Another client's IMAP connection to the account."""
        with other_client(self.dovecot, self.account) as imap:
            yield imap

    def deliver(
        self, folder: str, *messages: EmailMessage | bytes, flags: tuple[str, ...] = ()
    ) -> None:
        """Puts ``messages`` into ``folder``, as another client would."""
        with self.imap() as imap:
            for msg in messages:
                deliver(imap, folder, msg, flags=flags)

    def session(self) -> AbstractAsyncContextManager[Any]:
        """A server started with ``env``, and an MCP session with it; its log in err.log."""
        return mcp_session(self.env, self.folder / "err.log")


@pytest.fixture
def mailbox(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> Mailbox:
    return Mailbox(server_env, tmp_path, dovecot, account)
