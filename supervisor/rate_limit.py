"""A token bucket per protocol, so a model calling tools in a loop cannot hammer the provider.

mailbox.org allows about 1,500 CalDAV requests per 300 s per account; going over
it gets the account throttled for everyone using it. Short bursts pass at once,
a steady stream is slowed down: a call waits its turn as long as it can still
finish within its own deadline, and only one that could not gets a clear error
instead of a queue that grows without end.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio

from protocol.errors import RateLimited


class TokenBucket:
    """``per_minute`` requests a minute on average, ``burst`` at once.

    A request that would have to wait longer than ``max_wait`` is refused with
    RateLimited; a shorter wait is slept through.
    """

    def __init__(
        self,
        label: str,
        per_minute: float,
        burst: int,
        *,
        max_wait: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._label = label
        self._rate = per_minute / 60.0
        self._capacity = float(max(1, burst))
        self._tokens = self._capacity
        self._max_wait = max_wait
        self._clock = clock
        self._stamp = clock()
        self.delayed = 0
        self.refused = 0

    def __repr__(self) -> str:
        return f"<TokenBucket {self._label} tokens={self._tokens:.1f}/{self._capacity:.0f}>"

    def reserve(self, max_wait: float | None = None) -> float:
        """Book one request; returns how long it must wait first.

        Raises RateLimited when the wait would pass ``max_wait`` (the bucket's own
        limit when not given): a call that could not finish in time anyway.
        """
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        wait = (1.0 - self._tokens) / self._rate if self._tokens < 1.0 else 0.0
        if wait > (self._max_wait if max_wait is None else max_wait):
            self.refused += 1
            raise RateLimited(
                f"Too many {self._label} requests in a short time (the limit is "
                f"{self._rate * 60:.0f} a minute, to protect the account from being throttled); "
                f"wait about {wait:.0f} s and ask for fewer, larger results."
            )
        self._tokens -= 1.0  # may go below zero: later callers queue behind this one
        if wait > 0:
            self.delayed += 1
        return wait

    async def acquire(self, max_wait: float | None = None) -> None:
        """Wait for a token, at most ``max_wait`` seconds. Raises RateLimited."""
        wait = self.reserve(max_wait)
        if wait > 0:
            await anyio.sleep(wait)

    def metrics(self) -> dict[str, int | float]:
        return {
            "rate_tokens": round(max(0.0, self._tokens), 1),
            "rate_delayed": self.delayed,
            "rate_refused": self.refused,
        }
