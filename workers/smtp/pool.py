"""SmtpPool: authenticated aiosmtplib connections, reused while healthy.

A connection that idled longer than ``idle_check_after`` is checked with NOOP
before use; one that saw any error is closed, never returned (a half-read reply
would desynchronise the next message).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import structlog
from aiosmtplib import SMTP, SMTPException

from protocol.errors import AuthFailed, MailError
from protocol.settings import PoolSettings
from workers.login_gate import LoginGate

log = structlog.get_logger()

CLOSE_TIMEOUT = 5.0


class SmtpPool:
    def __init__(
        self,
        connect: Callable[[], Awaitable[SMTP]],
        settings: PoolSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._connect = connect
        self._settings = settings
        self._clock = clock
        self._permits = anyio.Semaphore(settings.max_size)
        self._idle: list[tuple[SMTP, float]] = []
        self._closed_pool = False
        self.opened = self.closed = self.failures = self.checkouts = self.noop_checks = 0
        self.waits = 0
        self.in_use = 0
        self.login_gate = LoginGate("SMTP")

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
    async def connection(self) -> AsyncIterator[SMTP]:
        """A healthy, logged-in connection for one message."""
        if self._closed_pool:
            raise MailError("The SMTP worker is shutting down; try again in a moment.")
        if self._permits.value == 0:
            self.waits += 1
        async with self._permits:
            self.checkouts += 1
            conn = await self._reusable()
            if conn is None:
                self.login_gate.check()
                try:
                    conn = await self._connect()
                except AuthFailed as exc:
                    raise self.login_gate.record(exc) from None
                self.opened += 1
            self.in_use += 1
            healthy = False
            try:
                yield conn
                healthy = conn.is_connected
            finally:
                self.in_use -= 1
                if healthy and not self._closed_pool:
                    self._idle.append((conn, self._clock()))
                else:
                    self.failures += 0 if healthy else 1
                    await self._close(conn)

    async def _reusable(self) -> SMTP | None:
        now = self._clock()
        while self._idle:
            conn, since = self._idle.pop()
            if now - since > self._settings.idle_close_after or not conn.is_connected:
                await self._close(conn)
                continue
            if now - since <= self._settings.idle_check_after:
                return conn
            self.noop_checks += 1
            try:
                with anyio.fail_after(self._settings.connect_timeout):
                    await conn.noop()
                return conn
            except (SMTPException, OSError, TimeoutError) as exc:
                log.info("smtp.stale_connection", error=type(exc).__name__)
                self.failures += 1
                await self._close(conn)
        return None

    async def _close(self, conn: SMTP) -> None:
        self.closed += 1
        with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_TIMEOUT):
            try:
                if conn.is_connected:
                    await conn.quit()
            except (SMTPException, OSError):
                conn.close()

    async def aclose(self) -> None:
        """Say QUIT on idle connections; in-use ones close when they come back."""
        self._closed_pool = True
        idle, self._idle = self._idle, []
        for conn, _since in idle:
            await self._close(conn)
