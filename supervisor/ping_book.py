"""Pings waiting for their Pong, matched by id.

The supervisor pings each worker for liveness (the heartbeat) and for fresh
metrics (server_status), sometimes both at once. A Pong answers only the Ping
with its own id: one that arrives after its Ping gave up never counts as the
answer to a newer one, which could keep a hung worker alive or leave a newer
Ping waiting for an answer already used up.
"""

from __future__ import annotations

import itertools

import anyio


class PingBook:
    """The ids of Pings sent and not yet answered, each with the event its Pong sets."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._waiting: dict[int, anyio.Event] = {}

    def __repr__(self) -> str:
        return f"<PingBook waiting={sorted(self._waiting)}>"

    def new(self) -> tuple[int, anyio.Event]:
        """A fresh ping id and the event its Pong sets."""
        ping_id = next(self._ids)
        self._waiting[ping_id] = answered = anyio.Event()
        return ping_id, answered

    def answer(self, ping_id: int) -> bool:
        """Record a Pong; False if no Ping with that id is waiting (a stale Pong)."""
        answered = self._waiting.pop(ping_id, None)
        if answered is None:
            return False
        answered.set()
        return True

    def forget(self, ping_id: int) -> None:
        """The Ping gave up or was answered: a Pong for it is stale from now on."""
        self._waiting.pop(ping_id, None)
