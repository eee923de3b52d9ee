"""SievePool: logged-in ManageSieve sessions, kept a short while for the next call.

A session is cheap, but each costs a TCP and a TLS handshake and a login; a
model editing filters makes several calls in a row. A session that idled longer
than ``idle_check_after`` is checked with NOOP before use, one idle longer than
``idle_close_after`` is closed, and one left ``broken`` (timeout, lost
connection, unreadable answer) is closed, never returned: its next answer could
belong to the abandoned command. A server's NO leaves the session usable. The
pooling is workers/session_pool.py.
"""

from __future__ import annotations

from protocol.errors import MailError
from workers.session_pool import SessionPool
from workers.sieve.client import SieveClient


class SievePool(SessionPool[SieveClient]):
    protocol = "ManageSieve"
    worker = "filters"
    stale_errors = (MailError,)

    def _usable(self, session: SieveClient) -> bool:
        return not session.broken

    def _survives(self, error: BaseException) -> bool:
        # The client marks itself broken when an error leaves the session unusable.
        return True

    async def _check(self, session: SieveClient) -> None:
        await session.noop()  # under the client's own deadline

    async def _close_session(self, session: SieveClient) -> None:
        await session.aclose()  # LOGOUT; shielded and bounded, never raises
