"""A pool of logged-in IMAP connections, each used by one thread at a time.

imapclient is blocking and not thread-safe, so a call checks a connection out,
runs its whole conversation in one worker thread, and checks it back in. All
bookkeeping happens in small synchronous planning methods (no awaits, so no
interleaving); closing happens outside them, shielded from cancellation.
"""

from __future__ import annotations

import itertools
import random
import select
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager, suppress
from typing import Any, TypeVar

import anyio
import structlog

from protocol.errors import AuthFailed, MailError
from protocol.settings import PoolSettings
from workers.imap.errors import is_connection_broken
from workers.login_gate import LoginGate

T = TypeVar("T")

# Asks for a connection with no folder selected: there, STATUS needs no NOOP
# first, so a freshness check is one round trip (see ImapConnection.sync).
UNSELECTED = "\x00unselected"
log = structlog.get_logger()

OPEN_ATTEMPTS = 3
CLOSE_TIMEOUT = 5.0


class ImapConnection:
    """One logged-in IMAPClient and what we know of its state."""

    _ids = itertools.count(1)

    def __init__(self, client: Any, now: float) -> None:
        self.client = client
        self.id = next(self._ids)
        self.created_at = now
        self.last_used = now
        self.capabilities: frozenset[str] = frozenset(
            c.decode() if isinstance(c, bytes) else str(c) for c in client.capabilities()
        )
        self.selected: tuple[str, bool] | None = None
        self._selected_info: dict[bytes, Any] = {}
        # Whether the session has seen changes made elsewhere during this checkout.
        self.synced = False

    def has(self, capability: str) -> bool:
        return capability.upper() in self.capabilities

    def select(self, folder: str, *, readonly: bool = True, sync: bool = True) -> dict[bytes, Any]:
        """SELECT (or EXAMINE) ``folder`` unless it is already selected that way.

        Returns the SELECT answer (UIDVALIDITY, ...); when already selected, the
        answer from then, whose UIDVALIDITY is still right (a change of it ends
        the selection). ``sync=False`` leaves the sync to the caller (a pipelined
        NOOP, see workers.imap.pipeline). Blocking; call from the thread that holds
        this connection.
        """
        if self.selected == (folder, readonly):
            if sync:
                self.sync()
            return self._selected_info
        self.selected = None
        info: dict[bytes, Any] = self.client.select_folder(folder, readonly=readonly)
        self.selected, self._selected_info, self.synced = (folder, readonly), info, True
        return info

    def sync(self) -> None:
        """Let the session see changes made elsewhere, once per checkout.

        A selected mailbox shows new mail to SORT and STATUS only after the
        session syncs; NOOP does that in one round trip, cheaper than EXAMINE.
        """
        if self.selected is not None and not self.synced:
            self.client.noop()
        self.synced = True

    def __repr__(self) -> str:
        return f"<ImapConnection #{self.id} selected={self.selected!r}>"


class ImapPool:
    """Bounded pool with NOOP health checks, folder-aware reuse and reconnect backoff.

    ``connect`` is a blocking function that returns a logged-in IMAPClient or
    raises a MailError; ``error_boundary`` translates library errors raised by
    the functions run on a connection.
    """

    def __init__(
        self,
        connect: Callable[[], Any],
        settings: PoolSettings,
        error_boundary: Callable[[], AbstractContextManager[None]],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._connect = connect
        self._settings = settings
        self._error_boundary = error_boundary
        self._clock = clock
        self._idle: list[ImapConnection] = []
        self._in_use: set[ImapConnection] = set()
        self._permits = anyio.Semaphore(settings.max_size)
        self._closed_pool = False
        self.opened = 0
        self.closed = 0
        self.failures = 0
        self.waits = 0
        self.checkouts = 0
        self.selected_reuse = 0
        self.login_gate = LoginGate("IMAP")
        self._first_login = anyio.Lock()
        self._opening = 0  # connections being opened: not idle, not in use, but counted

    def __repr__(self) -> str:
        return f"<ImapPool in_use={len(self._in_use)} idle={len(self._idle)}>"

    def metrics(self) -> dict[str, int]:
        return {
            "pool_in_use": len(self._in_use),
            "pool_idle": len(self._idle),
            "pool_max": self._settings.max_size,
            "pool_opened": self.opened,
            "pool_closed": self.closed,
            "pool_failures": self.failures,
            "pool_waits": self.waits,
            "pool_checkouts": self.checkouts,
            "pool_selected_reuse": self.selected_reuse,
            **self.login_gate.metrics(),
        }

    # -- planning: synchronous, the only code that changes pool state --------

    def _plan_checkout(
        self, folder: str | None
    ) -> tuple[ImapConnection | None, list[ImapConnection]]:
        now = self._clock()
        expired = [
            c
            for c in self._idle[: max(0, len(self._idle) - self._settings.min_size)]
            if now - c.last_used > self._settings.idle_close_after
        ]
        for conn in expired:
            self._idle.remove(conn)
        chosen: ImapConnection | None = None
        if folder == UNSELECTED:
            chosen = next((c for c in reversed(self._idle) if c.selected is None), None)
            busy = len(self._idle) + len(self._in_use) + self._opening
            if chosen is None and busy >= self._settings.max_size:
                chosen = self._idle[-1] if self._idle else None
            if chosen is None:  # open one more rather than pay a NOOP on every check
                self.checkouts += 1
                return None, expired
        elif folder is not None:
            chosen = next(
                (c for c in reversed(self._idle) if c.selected and c.selected[0] == folder), None
            )
            if chosen is not None:
                self.selected_reuse += 1
        if chosen is None and self._idle:
            # Keep connections with nothing selected for the STATUS checks.
            chosen = next((c for c in reversed(self._idle) if c.selected), self._idle[-1])
        if chosen is not None:
            self._idle.remove(chosen)
            self._in_use.add(chosen)
        self.checkouts += 1
        return chosen, expired

    def _plan_checkin(self, conn: ImapConnection, broken: bool) -> list[ImapConnection]:
        self._in_use.discard(conn)
        if broken or self._closed_pool:
            return [conn]
        conn.last_used = self._clock()
        self._idle.append(conn)
        return []

    def _plan_close_all(self) -> list[ImapConnection]:
        self._closed_pool = True
        idle, self._idle = self._idle, []
        return idle

    # -- I/O --------------------------------------------------------------------

    @asynccontextmanager
    async def connection(
        self, folder: str | None = None, deadline: float | None = None
    ) -> AsyncIterator[ImapConnection]:
        """Check out a healthy connection, preferring one with ``folder`` selected.

        ``deadline`` (Unix time) caps every socket wait made on it.
        """
        if self._closed_pool:
            raise MailError("The IMAP worker is shutting down; try again in a moment.")
        if self._permits.value == 0:
            self.waits += 1
        async with self._permits:
            conn, expired = self._plan_checkout(folder)
            await self._close(expired)
            while conn is not None and _dropped(conn):
                # The server said BYE or closed it while idle (a restart, an idle timeout):
                # known without a round trip, so no call fails on it.
                log.info("imap.dropped_connection", connection=conn.id)
                self._in_use.discard(conn)
                self.failures += 1
                await self._close([conn])
                conn, expired = self._plan_checkout(folder)
                await self._close(expired)
            if (
                conn is not None
                and self._clock() - conn.last_used > self._settings.idle_check_after
            ):
                conn = await self._checked(conn)
            if conn is None:
                conn = await self._open(deadline)
            broken = False
            conn.synced = False
            try:
                self._apply_deadline(conn, deadline)
                yield conn
            except BaseException as exc:
                broken = is_connection_broken(exc)
                if broken:
                    self.failures += 1
                raise
            finally:
                await self._close(self._plan_checkin(conn, broken))

    async def run(
        self,
        fn: Callable[[ImapConnection], T],
        *,
        folder: str | None = None,
        deadline: float | None = None,
    ) -> T:
        """Run blocking ``fn(connection)`` in a worker thread on a pooled connection."""
        async with self.connection(folder, deadline) as conn:
            return await anyio.to_thread.run_sync(self._guarded, fn, conn)

    def _guarded(self, fn: Callable[[ImapConnection], T], conn: ImapConnection) -> T:
        with self._error_boundary():
            return fn(conn)

    def _apply_deadline(self, conn: ImapConnection, deadline: float | None) -> None:
        timeout = self._settings.read_timeout
        if deadline is not None:
            timeout = max(0.5, min(timeout, deadline - time.time()))
        sock = conn.client.socket()
        if sock is not None:
            sock.settimeout(timeout)

    async def _checked(self, conn: ImapConnection) -> ImapConnection | None:
        """NOOP an idle connection; discard it if the server no longer answers."""
        try:
            await anyio.to_thread.run_sync(self._guarded, lambda c: c.client.noop(), conn)
            return conn
        except MailError as exc:
            log.info("imap.stale_connection", connection=conn.id, error=exc.message)
            self._in_use.discard(conn)
            self.failures += 1
            await self._close([conn])
            return None

    async def _open(self, deadline: float | None) -> ImapConnection:
        # Until one login has worked, logins go one at a time: a wrong password must
        # cost one refused login, not one per connection opened at once.
        if self.opened:
            return await self._open_now(deadline)
        async with self._first_login:
            return await self._open_now(deadline)

    async def _open_now(self, deadline: float | None) -> ImapConnection:
        delay = 0.2
        for attempt in range(1, OPEN_ATTEMPTS + 1):
            self.login_gate.check()
            self._opening += 1
            try:
                client = await anyio.to_thread.run_sync(self._connect)
            except AuthFailed as exc:
                self.failures += 1
                raise self.login_gate.record(exc) from None  # never hammer a login
            except MailError as exc:
                self.failures += 1
                late = deadline is not None and time.time() + delay > deadline
                if attempt == OPEN_ATTEMPTS or late or not exc.retryable:
                    raise
                log.info("imap.connect_retry", attempt=attempt, error=exc.message)
                await anyio.sleep(delay * random.uniform(0.5, 1.5))
                delay *= 2
                continue
            finally:
                self._opening -= 1
            conn = ImapConnection(client, self._clock())
            self._in_use.add(conn)
            self.opened += 1
            log.debug("imap.connected", connection=conn.id)
            return conn
        raise AssertionError("unreachable")

    async def _close(self, connections: list[ImapConnection]) -> None:
        for conn in connections:
            self.closed += 1
            with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_TIMEOUT):
                await anyio.to_thread.run_sync(_logout, conn.client)

    async def prewarm(self) -> None:
        """Open ``min_size`` connections so the first call does not pay for TLS and login."""
        for _ in range(self._settings.min_size - len(self._idle) - len(self._in_use)):
            async with self._permits:
                try:
                    conn = await self._open(None)
                except MailError as exc:
                    log.warning("imap.prewarm_failed", error=exc.message)
                    return
                await self._close(self._plan_checkin(conn, broken=False))

    async def aclose(self) -> None:
        """Log out of idle connections now; in-use ones close when checked in."""
        await self._close(self._plan_close_all())


def _dropped(conn: ImapConnection) -> bool:
    """Whether an idle connection was closed by the server, without a round trip.

    An idle IMAP connection receives nothing until it sends a command, so a
    readable socket means BYE or end of stream has arrived.
    """
    sock = conn.client.socket()
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _logout(client: Any) -> None:
    try:
        client.logout()
    except Exception:
        with suppress(Exception):
            client.shutdown()
