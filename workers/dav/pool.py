"""DavPool: caldav clients (each its own keep-alive HTTP session), one per concurrent call.

A client whose call failed on the network is dropped, never reused; the next
checkout opens a fresh one. Calls run in worker threads under one deadline.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import TypeVar

import anyio
from caldav.davclient import DAVClient

from protocol.errors import AuthFailed, MailError, ServerTimeout, Unavailable
from protocol.settings import DavSettings
from workers.dav.client import dav_errors, open_client
from workers.login_gate import LoginGate

T = TypeVar("T")


class DavPool:
    def __init__(self, settings: DavSettings) -> None:
        self._settings = settings
        self._permits = anyio.Semaphore(max(1, settings.pool.max_size))
        self._idle: list[DAVClient] = []
        self._closed = False
        self.opened = self.failures = self.checkouts = self.waits = 0
        self.in_use = 0
        self.login_gate = LoginGate("CalDAV")

    def metrics(self) -> dict[str, int]:
        return {
            "pool_idle": len(self._idle),
            "pool_in_use": self.in_use,
            "pool_opened": self.opened,
            "pool_failures": self.failures,
            "pool_checkouts": self.checkouts,
            "pool_waits": self.waits,
            **self.login_gate.metrics(),
        }

    async def run(self, fn: Callable[[DAVClient], T], *, deadline: float) -> T:
        """Run blocking ``fn(client)`` in a thread; raises MailErrors only."""
        if self._closed:
            raise Unavailable("The calendar worker is shutting down; try again in a moment.")
        self.login_gate.check()
        if self._permits.value == 0:
            self.waits += 1
        async with self._permits:
            self.checkouts += 1
            client = self._idle.pop() if self._idle else None
            if client is None:
                client = open_client(self._settings)
                self.opened += 1
            self.in_use += 1
            healthy = False
            try:
                with anyio.fail_after(max(0.5, deadline - time.time())):
                    # Abandoned on timeout: the thread ends at its socket timeout and the
                    # client is then closed, never reused.
                    result = await anyio.to_thread.run_sync(
                        self._guarded, fn, client, abandon_on_cancel=True
                    )
                healthy = True
                return result
            except TimeoutError:
                raise ServerTimeout(
                    "The calendar server did not answer in time; try again or ask for a shorter range."
                ) from None
            except AuthFailed as exc:
                raise self.login_gate.record(exc) from None
            except MailError as exc:
                # A plain refusal (404, 412, 403) leaves the session usable.
                healthy = not exc.retryable
                raise
            finally:
                self.in_use -= 1
                if healthy and not self._closed:
                    self._idle.append(client)
                else:
                    self.failures += 0 if healthy else 1
                    _close(client)

    def _guarded(self, fn: Callable[[DAVClient], T], client: DAVClient) -> T:
        with dav_errors(self._settings):
            return fn(client)

    def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for client in idle:
            _close(client)


def _close(client: DAVClient) -> None:
    # Closing a broken session must not mask the real error.
    with contextlib.suppress(Exception):
        client.close()
