"""The one way the supervisor runs a contract in a worker.

Every call goes through ``WorkerCalls.run``, tools and the Outbox's steps alike,
so the cache is invalidated in exactly one place: after a write (or a read that
wrote, like ``get_email`` with ``mark_read``), every cached answer carrying a
tag the write reported is dropped; when the write failed without saying what it
touched, every answer of the kinds its contract says it may change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

from protocol.contract import Contract
from supervisor.cache import SessionCache
from supervisor.worker_handle import Answer, ProgressCallback, WorkerHandle

R = TypeVar("R")


class WorkerCalls:
    """Routes a contract to its worker and keeps the session cache honest about writes."""

    def __init__(self, workers: Mapping[str, WorkerHandle], cache: SessionCache) -> None:
        self._workers = workers
        self._cache = cache

    def serves(self, worker: str) -> bool:
        """Whether ``worker`` runs in this session (its tool families are on)."""
        return worker in self._workers

    async def run(
        self,
        contract: Contract[Any, R],
        args: msgspec.Struct,
        *,
        timeout: float,
        on_progress: ProgressCallback | None = None,
        follow_up: bool = False,
    ) -> Answer[R]:
        worker = self._workers[contract.worker]
        if not contract.writes_for(args):
            return await worker.call(
                contract, args, timeout=timeout, on_progress=on_progress, follow_up=follow_up
            )
        answer: Answer[R] | None = None
        try:
            answer = await worker.call(
                contract, args, timeout=timeout, on_progress=on_progress, follow_up=follow_up
            )
            return answer
        finally:
            if answer is not None:
                self._cache.invalidate(*answer.tags)
            else:
                # A failed write may have changed something it could not name.
                self._cache.invalidate_kinds(*contract.changes)
