"""SievePool: logged-in ManageSieve sessions, kept a short while for the next call.

A session is cheap, but each costs a TCP and a TLS handshake and a login; a
model editing filters makes several calls in a row. A session that idled longer
than ``idle_check_after`` is checked with NOOP before use, one idle longer than
``idle_close_after`` is closed, and one left ``broken`` (timeout, lost
connection, unreadable answer) is closed, never returned: its next answer could
belong to the abandoned command. A server's NO leaves the session usable.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import structlog

from protocol.errors import AuthFailed, MailError, Unavailable
from protocol.settings import PoolSettings
from workers.login_gate import LoginGate
from workers.sieve.client import SieveClient

log = structlog.get_logger()


class SievePool:
    def __init__(
        self,
        connect: Callable[[], Awaitable[SieveClient]],
        settings: PoolSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._connect = connect
        self._settings = settings
        self._clock = clock
        self._permits = anyio.Semaphore(max(1, settings.max_size))
        self._idle: list[tuple[SieveClient, float]] = []
        self._closed_pool = False
        self.opened = self.closed = self.failures = self.checkouts = self.noop_checks = 0
        self.waits = 0
        self.in_use = 0
        self.login_gate = LoginGate("ManageSieve")

    def __repr__(self) -> str:
        return f"<SievePool in_use={self.in_use} idle={len(self._idle)}>"

    def metrics(self) -> dict[str, int]:
        return {
            "pool_idle": len(self._idle),
            "pool_in_use": self.in_use,
            "pool_opened": self.opened,
            "pool_closed": self.closed,
            "pool_failures": self.failures,
            "pool_checkouts": self.checkouts,
            "pool_noop_checks": self.noop_checks,
            "pool_waits": self.waits,
            **self.login_gate.metrics(),
        }

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[SieveClient]:
        """A healthy, logged-in session for one call.

        Raises what ``connect`` raises (MailErrors); after one refused login, the
        same AuthFailed without trying again (workers/login_gate.py).
        """
        if self._closed_pool:
            raise Unavailable("The filters worker is shutting down; try again in a moment.")
        if self._permits.value == 0:
            self.waits += 1
        async with self._permits:
            self.checkouts += 1
            client = await self._reusable()
            if client is None:
                self.login_gate.check()
                try:
                    client = await self._connect()
                except AuthFailed as exc:
                    raise self.login_gate.record(exc) from None
                self.opened += 1
            self.in_use += 1
            try:
                yield client
            finally:
                self.in_use -= 1
                if not client.broken and not self._closed_pool:
                    self._idle.append((client, self._clock()))
                else:
                    self.failures += 1 if client.broken else 0
                    await self._close(client)

    async def _reusable(self) -> SieveClient | None:
        now = self._clock()
        while self._idle:
            client, since = self._idle.pop()
            if now - since > self._settings.idle_close_after or client.broken:
                await self._close(client)
                continue
            if now - since <= self._settings.idle_check_after:
                return client
            self.noop_checks += 1
            try:
                await client.noop()  # under the client's own deadline
                return client
            except MailError as exc:
                log.info("sieve.stale_connection", error=type(exc).__name__)
                self.failures += 1
                await self._close(client)
        return None

    async def _close(self, client: SieveClient) -> None:
        self.closed += 1
        await client.aclose()  # shielded and bounded; never raises

    async def aclose(self) -> None:
        """LOGOUT on idle sessions; sessions in use close when they come back."""
        self._closed_pool = True
        idle, self._idle = self._idle, []
        for client, _since in idle:
            await self._close(client)
