"""The account password: MAILBOX_PASSWORD, or what MAILBOX_PASSWORD_COMMAND prints.

The command runs once when the first worker starts, and again after a refused
login so that a password fixed in the keyring is picked up by a later call,
without a restart. Reruns are throttled (at most one every RERUN_INTERVAL
seconds, however many calls are refused meanwhile): a model calling tools in a
loop must not run the command in a loop, and a refused login costs nothing
until the password actually changes (the workers' login gates try no login
with the old one).

The command is a child process of the supervisor (supervisor.config.fetch_password):
whoever waits for it may give up, and a caller that is cancelled (a call at its
deadline, the server shutting down) kills it at once. A rerun abandoned that way
still counts for the throttle.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio
import structlog

from protocol.errors import ConfigError
from protocol.logs import register_secret
from supervisor.config import Settings, fetch_password

log = structlog.get_logger()

RERUN_INTERVAL = 5.0  # seconds between two reruns of the password command


class PasswordSource:
    """Fetches the password once, keeps it, and runs the command again on ``refresh``;
    the clock and the resolver are passed in for tests."""

    def __init__(
        self,
        settings: Settings,
        *,
        rerun_interval: float = RERUN_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        resolve: Callable[[Settings], Awaitable[str]] = fetch_password,
    ) -> None:
        self._settings = settings
        self._rerun_interval = rerun_interval
        self._clock = clock
        self._resolve = resolve
        self._lock = anyio.Lock()
        self._password: str | None = None
        self._failure: ConfigError | None = None  # why the command gave no password yet
        self._last_rerun: float | None = None
        self.reruns = 0

    def __repr__(self) -> str:
        source = "command" if self._settings.password_command else "fixed"
        return f"<PasswordSource {source} reruns={self.reruns}>"

    async def get(self) -> str:
        """The password, from the first run of the command (or the setting).

        Raises ConfigError when the command failed; that failure is kept, so only
        ``refresh`` (throttled) runs the command again. Once there is a password, a
        rerun under way does not hold this up: the kept one is returned.
        """
        if self._password is not None:
            return self._password
        async with self._lock:
            if self._password is None:
                if self._failure is not None:
                    raise self._failure
                try:
                    password = await self._resolve(self._settings)
                except ConfigError as exc:
                    self._failure = exc
                    raise
                register_secret(password)
                self._password = password
            return self._password

    async def refresh(self) -> bool:
        """After a refused login (or a failed command): run the password command again,
        unless it already ran again less than ``rerun_interval`` seconds ago.

        True if it printed a password other than the one kept (or the first one, after
        a failure); False without a command, when throttled, when nothing changed or
        when the command failed again. Cancelling the caller kills the command.
        """
        async with self._lock:
            if self._settings.password_command is None:
                return False
            now = self._clock()
            if self._last_rerun is not None and now - self._last_rerun < self._rerun_interval:
                return False
            self._last_rerun = now
            self.reruns += 1
            try:
                fresh = await self._resolve(self._settings)
            except anyio.get_cancelled_exc_class():
                log.info("password.refresh_abandoned")
                raise
            except ConfigError as exc:
                log.warning("password.refresh_failed", error=exc.message)
                if self._password is None:
                    self._failure = exc  # the newest reason is the one to tell
                return False
            register_secret(fresh)
            changed = fresh != self._password
            self._password, self._failure = fresh, None
            log.info("password.refreshed", changed=changed)
            return changed
