"""SmtpPool: authenticated aiosmtplib connections, reused while healthy.

A connection that idled longer than ``idle_check_after`` is checked with NOOP
before use; one that saw any error is closed, never returned (a half-read reply
would desynchronise the next message). The pooling is workers/session_pool.py.
"""

from __future__ import annotations

import anyio
from aiosmtplib import SMTP, SMTPException

from workers.session_pool import SessionPool

CLOSE_TIMEOUT = 5.0


class SmtpPool(SessionPool[SMTP]):
    protocol = "SMTP"
    worker = "SMTP"
    stale_errors = (SMTPException, OSError, TimeoutError)

    def _usable(self, session: SMTP) -> bool:
        return session.is_connected

    async def _check(self, session: SMTP) -> None:
        with anyio.fail_after(self._settings.connect_timeout):
            await session.noop()

    async def _close_session(self, session: SMTP) -> None:
        with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_TIMEOUT):
            try:
                if session.is_connected:
                    await session.quit()
            except (SMTPException, OSError):
                session.close()
