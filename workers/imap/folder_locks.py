"""One lock per folder for the writes that take messages out of it.

Dovecot carries out MOVE as a copy followed by an expunge, so two MOVEs of one
message from two connections at once can both copy it: the message ends up in
two folders. Within this worker, moves, deletes and draft claims on one folder
therefore run one after the other; the second then finds the message gone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import anyio


class FolderLocks:
    def __init__(self) -> None:
        self._locks: dict[str, anyio.Lock] = {}

    def __repr__(self) -> str:
        held = sorted(name for name, lock in self._locks.items() if lock.locked())
        return f"<FolderLocks held={held}>"

    @asynccontextmanager
    async def hold(self, *raw_names: str) -> AsyncIterator[None]:
        """Hold the locks of ``raw_names`` (server names), taken in one order so that two
        callers holding overlapping sets never wait for each other in a circle."""
        async with AsyncExitStack() as stack:
            for name in sorted(set(raw_names)):
                await stack.enter_async_context(self._locks.setdefault(name, anyio.Lock()))
            yield
