"""DavPool: caldav clients (each its own keep-alive HTTP session), one per concurrent call.

The pooling is workers/session_pool.py; what differs here is that clients are
blocking (calls run in worker threads under one deadline) and log in lazily,
on their first request, so a refused login surfaces during a call. A client
whose call failed on the network is dropped, never reused; the next checkout
opens a fresh one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import TypeVar

import anyio
import msgspec
from caldav.davclient import DAVClient

from protocol.errors import AuthFailed, MailError, ServerTimeout
from protocol.settings import DavSettings
from workers.dav.client import dav_errors, open_client
from workers.session_pool import SessionPool

T = TypeVar("T")


class DavPool(SessionPool[DAVClient]):
    protocol = "CalDAV"
    worker = "calendar"

    def __init__(self, settings: DavSettings) -> None:
        async def connect() -> DAVClient:
            return open_client(settings)  # no request yet: caldav connects on first use

        # The HTTP session reconnects a dropped keep-alive connection by itself, so an
        # idle client needs no check, only closing once it idled ``idle_close_after``.
        pool = msgspec.structs.replace(
            settings.pool, idle_check_after=settings.pool.idle_close_after
        )
        super().__init__(connect, pool)
        self._dav_settings = settings

    async def run(self, fn: Callable[[DAVClient], T], *, deadline: float) -> T:
        """Run blocking ``fn(client)`` in a thread; raises MailErrors only."""
        self.login_gate.check()  # every call may be the one that logs in
        async with self.connection() as client:
            try:
                with anyio.fail_after(max(0.5, deadline - time.time())):
                    # Abandoned on timeout: the thread ends at its socket timeout; the
                    # client is closed, never reused.
                    return await anyio.to_thread.run_sync(
                        self._guarded, fn, client, abandon_on_cancel=True
                    )
            except TimeoutError:
                raise ServerTimeout(
                    "The calendar server did not answer in time; try again or ask for a shorter range."
                ) from None
            except AuthFailed as exc:
                raise self.login_gate.record(exc) from None

    def close(self) -> None:
        """Close idle clients; clients in use close when their call ends."""
        for client in self._shut():
            self.closed += 1
            _close(client)

    def _survives(self, error: BaseException) -> bool:
        # A plain refusal (404, 412, 403) leaves the session usable.
        return (
            isinstance(error, MailError)
            and not error.retryable
            and not isinstance(error, AuthFailed)
        )

    async def _close_session(self, session: DAVClient) -> None:
        _close(session)

    def _guarded(self, fn: Callable[[DAVClient], T], client: DAVClient) -> T:
        with dav_errors(self._dav_settings):
            return fn(client)


def _close(client: DAVClient) -> None:
    # Closing a broken session must not mask the real error.
    with contextlib.suppress(Exception):
        client.close()
