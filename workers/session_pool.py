"""SessionPool: logged-in sessions with one server, kept a short while for the next call.

Shared by the SMTP, ManageSieve and CalDAV workers (IMAP has its own pool: it
picks a connection by the folder it has selected). A session costs a TCP and a
TLS handshake and a login, and a model makes several calls in a row. A session
that idled longer than ``idle_check_after`` is checked (NOOP) before use, one
idle longer than ``idle_close_after`` is closed, and one a call left unusable
is closed, never returned: its next answer could belong to the abandoned
command. What unusable means is each subclass's to say (``_usable``,
``_survives``), as is how a session is checked and closed.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import ClassVar, Generic, TypeVar

import anyio
import structlog

from protocol.errors import AuthFailed, Unavailable
from protocol.settings import PoolSettings
from workers.login_gate import LoginGate

log = structlog.get_logger()

S = TypeVar("S")


class SessionPool(ABC, Generic[S]):
    """At most ``max_size`` sessions in use; idle ones reused newest first."""

    protocol: ClassVar[str]  # in the login gate's sentence: "No further SMTP logins ..."
    worker: ClassVar[str]  # in the shutting-down sentence: "The SMTP worker is ..."
    stale_errors: ClassVar[tuple[type[Exception], ...]] = ()  # what a failed ``_check`` raises

    def __init__(
        self,
        connect: Callable[[], Awaitable[S]],
        settings: PoolSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._connect = connect
        self._settings = settings
        self._clock = clock
        self._permits = anyio.Semaphore(max(1, settings.max_size))
        self._idle: list[tuple[S, float]] = []  # (session, when it was returned)
        self._closed_pool = False
        self.opened = self.closed = self.failures = self.checkouts = self.noop_checks = 0
        self.waits = 0
        self.in_use = 0
        self.login_gate = LoginGate(self.protocol)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} in_use={self.in_use} idle={len(self._idle)}>"

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
    async def connection(self) -> AsyncIterator[S]:
        """A healthy, logged-in session for one call.

        Raises Unavailable once the pool is closing, and what ``connect`` raises
        (MailErrors); after one refused login, the same AuthFailed without trying
        again (workers/login_gate.py).
        """
        if self._closed_pool:
            raise Unavailable(f"The {self.worker} worker is shutting down; try again in a moment.")
        if self._permits.value == 0:
            self.waits += 1
        async with self._permits:
            self.checkouts += 1
            session = await self._reusable()
            if session is None:
                session = await self._open()
            self.in_use += 1
            survived = True
            try:
                yield session
            except BaseException as exc:
                survived = self._survives(exc)
                raise
            finally:
                self.in_use -= 1
                healthy = survived and self._usable(session)
                if healthy and not self._closed_pool:
                    self._idle.append((session, self._clock()))
                else:
                    self.failures += 0 if healthy else 1
                    await self._close(session)

    async def aclose(self) -> None:
        """Close idle sessions; sessions in use close when they come back."""
        for session in self._shut():
            await self._close(session)

    def _shut(self) -> list[S]:
        """Refuse further checkouts; returns the idle sessions, now the caller's to close."""
        self._closed_pool = True
        idle, self._idle = self._idle, []
        return [session for session, _since in idle]

    async def _open(self) -> S:
        self.login_gate.check()
        try:
            session = await self._connect()
        except AuthFailed as exc:
            raise self.login_gate.record(exc) from None
        self.opened += 1
        return session

    async def _reusable(self) -> S | None:
        now = self._clock()
        while self._idle:
            session, since = self._idle.pop()
            if now - since > self._settings.idle_close_after or not self._usable(session):
                await self._close(session)
                continue
            if now - since <= self._settings.idle_check_after:
                return session
            self.noop_checks += 1
            try:
                await self._check(session)
                return session
            except self.stale_errors as exc:
                log.info("pool.stale_session", pool=type(self).__name__, error=type(exc).__name__)
                self.failures += 1
                await self._close(session)
        return None

    async def _close(self, session: S) -> None:
        self.closed += 1
        await self._close_session(session)

    def _usable(self, session: S) -> bool:
        """Whether the session can take another command (checked after each call)."""
        return True

    def _survives(self, error: BaseException) -> bool:
        """Whether a session stays usable after a call that raised ``error``.

        By default not: a half-read reply would desynchronise the next call.
        """
        return False

    async def _check(self, session: S) -> None:
        """Raises one of ``stale_errors`` if an idle session no longer answers."""

    @abstractmethod
    async def _close_session(self, session: S) -> None:
        """Log out and close; bounded in time and shielded from cancellation, never raises."""
