"""How often a worker may be restarted: backoff with jitter, a circuit per protocol, and
the failures no restart can fix.

A worker that keeps failing (a server that refuses it, a message that crashes
its parser) is not restarted in a tight loop: the delay doubles, and too many
restarts in a window pause that protocol alone for a cool-down, with a clear
error for its tools (gunicorn's and uvicorn's rules). A worker that cannot start
for a reason a restart cannot fix is not restarted at all (gunicorn's
WORKER_BOOT_ERROR): its tools answer that reason.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from protocol.errors import AuthFailed, ConfigError, MailError

log = structlog.get_logger()


@dataclass(frozen=True)
class RestartPolicy:
    """Backoff between restarts and the restart-intensity circuit."""

    boot_timeout: float = 30.0
    first_backoff: float = 0.05
    max_backoff: float = 10.0
    window: float = 60.0
    max_restarts_in_window: int = 5
    circuit_cooldown: float = 30.0
    ping_interval: float = 15.0
    ping_timeout: float = 10.0
    shutdown_timeout: float = 5.0
    # Grace beyond the worker's own deadline, so its precise timeout message wins.
    reply_grace: float = 1.0
    # A worker whose resident memory grows past this is replaced between requests (0: never).
    max_rss_bytes: int = 0


DEFAULT_POLICY = RestartPolicy()


class RestartBudget:
    """Plans each restart of one worker; the clock is passed in so tests need no sleeps."""

    def __init__(self, policy: RestartPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self._policy = policy
        self._clock = clock
        self._times: deque[float] = deque()
        self._circuit_until = 0.0
        self.restarts = 0

    def plan(self, worker: str) -> float:
        """Count one restart; returns how long to wait before it (the cool-down when the
        circuit opens)."""
        now = self._clock()
        self.restarts += 1
        self._times.append(now)
        while self._times and now - self._times[0] > self._policy.window:
            self._times.popleft()
        recent = len(self._times)
        if recent > self._policy.max_restarts_in_window:
            self._circuit_until = now + self._policy.circuit_cooldown
            self._times.clear()
            log.error("worker.circuit_open", worker=worker, cooldown=self._policy.circuit_cooldown)
            return self._policy.circuit_cooldown
        backoff = min(self._policy.max_backoff, self._policy.first_backoff * 2.0 ** (recent - 1))
        return backoff * random.uniform(0.8, 1.2)

    def paused_for(self) -> float:
        """Seconds the circuit stays open; 0 when calls may go to the worker."""
        return max(0.0, self._circuit_until - self._clock())


def restart_cannot_fix(error: MailError) -> bool:
    """Whether a worker that failed with ``error`` would fail the same way if started again.

    Wrong settings (ConfigError) and a refused login (AuthFailed, where trying again
    could lock the account) are fixed only by new settings: the worker is left
    stopped, or its logins paused, until a new password arrives. A certificate that
    cannot be verified comes as Unavailable, not final: a network that intercepts TLS
    (a hotel's sign-in page) or a certificate the provider renews goes away without
    a restart, and it costs no login to find out.
    """
    return isinstance(error, ConfigError | AuthFailed)


class MemoryCeiling:
    """Whether a worker grew past ``policy.max_rss_bytes`` and should be replaced (between
    requests), from the sizes its Pongs report.

    The first size after a start is the worker's fresh size: if that is above the
    ceiling already, replacing it would only start another just as big, again and
    again, so such a worker is never replaced for its size.
    """

    def __init__(self, worker: str, limit: int) -> None:
        self._worker = worker
        self.limit = limit
        self._fresh: int | None = None

    def __repr__(self) -> str:
        return f"<MemoryCeiling {self._worker} limit={self.limit} fresh={self._fresh}>"

    def started(self) -> None:
        """A new worker: its next report is its fresh size."""
        self._fresh = None

    def exceeded(self, rss: int) -> bool:
        """Record a report of ``rss`` bytes; True if the worker is past the ceiling."""
        if not self.limit:
            return False
        if self._fresh is None:
            self._fresh = rss
            if rss > self.limit:
                log.warning(
                    "worker.ceiling_below_fresh_size",
                    worker=self._worker,
                    rss_mb=rss // 2**20,
                    limit_mb=self.limit // 2**20,
                )
            return False
        return rss > self.limit and self._fresh <= self.limit
