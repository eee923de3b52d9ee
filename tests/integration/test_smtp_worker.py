"""The SMTP worker's pool and send path against the real aiosmtpd server."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from protocol.errors import AuthFailed, ProtocolViolation
from protocol.settings import PoolSettings, SmtpSettings
from protocol.writing import ComposeRequest, SendEmailArgs
from tests.servers.dovecot import Account
from tests.servers.smtp import SmtpServer
from workers.runtime import CallContext
from workers.smtp.connect import open_smtp
from workers.smtp.handlers import SmtpState, open_smtp_state, send_message

pytestmark = pytest.mark.anyio


def smtp_settings(smtp: SmtpServer, account: Account, **changes: Any) -> SmtpSettings:
    pool = PoolSettings(
        **{
            "min_size": 0,
            "max_size": 2,
            "connect_timeout": 5,
            "read_timeout": 10,
            **changes.pop("pool", {}),
        }
    )
    values: dict[str, Any] = {
        "host": "localhost",
        "port": smtp.tls_port,
        "security": "tls",
        "username": account.email,
        "password": account.password,
        "from_address": account.email,
        "ca_file": str(smtp.dovecot.certificates.ca_file),
        "pool": pool,
        **changes,
    }
    return SmtpSettings(**values)


def context() -> CallContext:
    async def ignore(_message: Any) -> None:
        return None

    return CallContext(request_id=1, deadline=time.time() + 30, _send=ignore)


@asynccontextmanager
async def state_for(settings: SmtpSettings) -> AsyncIterator[SmtpState]:
    async with open_smtp_state(settings) as state:
        yield state


def note(account: Account, subject: str) -> ComposeRequest:
    return ComposeRequest(SendEmailArgs(to=[account.email], subject=subject, body="x"))


async def test_an_authenticated_connection_is_reused_for_the_next_message(
    smtp: SmtpServer, account: Account
) -> None:
    async with state_for(smtp_settings(smtp, account)) as state:
        await send_message(note(account, "one"), state, context())
        await send_message(note(account, "two"), state, context())
        metrics = state.pool.metrics()
    assert metrics["pool_opened"] == 1 and metrics["pool_checkouts"] == 2
    assert len(smtp.messages_for(account.email)) == 2


async def test_an_idle_connection_is_checked_with_noop_before_reuse(
    smtp: SmtpServer, account: Account
) -> None:
    settings = smtp_settings(smtp, account, pool={"idle_check_after": 0})
    async with state_for(settings) as state:
        await send_message(note(account, "one"), state, context())
        await send_message(note(account, "two"), state, context())
        metrics = state.pool.metrics()
    assert metrics["pool_noop_checks"] == 1 and metrics["pool_opened"] == 1


async def test_a_connection_dropped_before_data_is_replaced_and_the_message_sent_once(
    smtp: SmtpServer, account: Account
) -> None:
    async with state_for(smtp_settings(smtp, account)) as state:
        await send_message(note(account, "one"), state, context())
        (pooled, _since) = state.pool._idle[0]
        assert pooled.transport is not None
        pooled.transport.abort()  # the server side sees a reset; the pool does not know yet
        await send_message(note(account, "two"), state, context())
        metrics = state.pool.metrics()
    subjects = [
        d.data.split(b"Subject: ")[1].split(b"\r\n")[0] for d in smtp.messages_for(account.email)
    ]
    assert subjects == [b"one", b"two"]
    assert metrics["pool_opened"] == 2


async def test_a_wrong_password_is_one_clear_error(smtp: SmtpServer, account: Account) -> None:
    with pytest.raises(AuthFailed, match="refused the login") as caught:
        await open_smtp(smtp_settings(smtp, account, password="wrong-secret"))
    assert "wrong-secret" not in str(caught.value)


async def test_starttls_is_required_where_configured_never_skipped(
    smtp: SmtpServer, account: Account
) -> None:
    settings = smtp_settings(smtp, account, security="starttls", port=smtp.plaintext_port)
    with pytest.raises(ProtocolViolation, match="cannot be used securely"):
        await open_smtp(settings)
