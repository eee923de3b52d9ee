"""ImapPool against the real Dovecot: reuse, health checks, limits, failures."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import msgspec
import pytest

from protocol.errors import AuthFailed, Refused, Unavailable
from protocol.settings import ImapSettings, PoolSettings
from tests.fake_clock import FakeClock
from tests.servers.dovecot import Account, DovecotServer
from workers.imap.connect import open_client
from workers.imap.errors import imap_errors
from workers.imap.pool import ImapConnection, ImapPool

pytestmark = pytest.mark.anyio


def imap_settings(dovecot: DovecotServer, account: Account, **pool: Any) -> ImapSettings:
    return ImapSettings(
        host="localhost",
        port=dovecot.imaps_port,
        username=account.email,
        password=account.password,
        ca_file=str(dovecot.certificates.ca_file),
        pool=PoolSettings(
            **{"min_size": 0, "max_size": 2, "connect_timeout": 5, "read_timeout": 10, **pool}
        ),
    )


def make_pool(settings: ImapSettings, clock: FakeClock | None = None) -> ImapPool:
    return ImapPool(
        lambda: open_client(settings),
        settings.pool,
        lambda: imap_errors(settings.host, settings.port, settings.username),
        clock=clock or FakeClock(),
    )


@pytest.fixture
async def pool(dovecot: DovecotServer, account: Account) -> AsyncIterator[ImapPool]:
    pool = make_pool(imap_settings(dovecot, account))
    yield pool
    await pool.aclose()


def noop(conn: ImapConnection) -> int:
    conn.client.noop()
    return conn.id


async def test_a_connection_is_reused_by_the_next_call(pool: ImapPool) -> None:
    first = await pool.run(noop)
    second = await pool.run(noop)
    assert first == second
    assert pool.opened == 1
    assert repr(pool) == "<ImapPool in_use=0 idle=1>"


async def test_a_connection_with_the_wanted_folder_selected_is_preferred(pool: ImapPool) -> None:
    ids: dict[str, int] = {}
    both_held = anyio.Event()

    async def hold(folder: str) -> None:
        async with pool.connection(folder) as conn:
            await anyio.to_thread.run_sync(conn.select, folder)
            ids[folder] = conn.id
            if len(ids) == 2:
                both_held.set()
            with anyio.fail_after(10):
                await both_held.wait()  # keep both checked out so two connections exist

    async with anyio.create_task_group() as tg:
        tg.start_soon(hold, "INBOX")
        tg.start_soon(hold, "Archive")
    assert pool.opened == 2
    for folder in ("Archive", "INBOX", "Archive"):
        async with pool.connection(folder) as conn:
            assert conn.id == ids[folder]
    assert pool.selected_reuse == 3


async def test_the_pool_never_opens_more_than_its_maximum(pool: ImapPool) -> None:
    def slow(conn: ImapConnection) -> None:
        conn.client.noop()
        time.sleep(0.1)  # runs in the connection's thread, holding it

    async with anyio.create_task_group() as tg:
        for _ in range(6):
            tg.start_soon(lambda: pool.run(slow))
    assert pool.opened == 2
    assert pool.waits >= 1
    assert repr(pool) == "<ImapPool in_use=0 idle=2>"


async def test_an_idle_connection_the_server_dropped_is_replaced_transparently(
    dovecot: DovecotServer, account: Account
) -> None:
    clock = FakeClock()
    pool = make_pool(imap_settings(dovecot, account, idle_check_after=60), clock)
    async with pool.connection() as conn:
        conn.client.socket().shutdown(socket.SHUT_RDWR)  # as if the server timed us out
    clock.now += 61
    assert await pool.run(lambda c: c.client.folder_exists("INBOX")) is True
    assert (pool.opened, pool.closed, pool.failures) == (2, 1, 1)
    await pool.aclose()


async def test_a_connection_that_failed_is_not_returned_to_the_pool(pool: ImapPool) -> None:
    def break_it(conn: ImapConnection) -> None:
        conn.client.socket().shutdown(socket.SHUT_RDWR)
        conn.client.noop()

    with pytest.raises(Unavailable, match="was lost"):
        await pool.run(break_it)
    assert repr(pool) == "<ImapPool in_use=0 idle=0>"
    await pool.run(noop)
    assert pool.opened == 2


async def test_a_server_refusal_keeps_the_connection(pool: ImapPool) -> None:
    with pytest.raises(Refused):
        await pool.run(lambda c: c.select("No such folder"))
    assert repr(pool) == "<ImapPool in_use=0 idle=1>"


async def test_an_unreachable_server_is_tried_a_few_times_then_reported(
    dovecot: DovecotServer, account: Account
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    pool = make_pool(msgspec.structs.replace(imap_settings(dovecot, account), port=port))
    with anyio.fail_after(10), pytest.raises(Unavailable, match="refused the connection"):
        await pool.run(noop)
    assert pool.failures == 3 and pool.opened == 0


async def test_a_wrong_password_is_tried_exactly_once(
    dovecot: DovecotServer, account: Account
) -> None:
    pool = make_pool(msgspec.structs.replace(imap_settings(dovecot, account), password="not-it"))
    with pytest.raises(AuthFailed):
        await pool.run(noop)
    assert pool.failures == 1
    with anyio.fail_after(10):
        while f"user=<{account.email}>" not in dovecot.log:
            await anyio.sleep(0.05)
    attempts = [
        line
        for line in dovecot.log.splitlines()
        if f"user=<{account.email}>" in line and "auth failed" in line
    ]
    assert len(attempts) == 1 and "1 attempts" in attempts[0]


async def test_closing_the_pool_logs_out_idle_connections(pool: ImapPool) -> None:
    await pool.run(noop)
    await pool.aclose()
    assert (pool.opened, pool.closed) == (1, 1)
    assert repr(pool) == "<ImapPool in_use=0 idle=0>"
