"""Running one tool call: validate, serve from the cache if still valid, or ask a worker.

This is where the session cache is consulted, revalidated and invalidated, so
the MCP binding above it only translates, and the workers below it only work.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
import structlog

from protocol.errors import (
    UNREACHED,
    InvalidArgument,
    MailError,
)
from protocol.fingerprint import FreshnessArgs
from supervisor.argument_errors import reworded
from supervisor.cache import CacheEntry, SessionCache
from supervisor.config import Settings
from supervisor.outbox import Outbox
from supervisor.status import server_status
from supervisor.tool_spec import ToolSpec
from supervisor.worker_calls import WorkerCalls
from supervisor.worker_handle import Answer, ProgressCallback, WorkerHandle

log = structlog.get_logger()


@dataclass(frozen=True)
class ToolAnswer:
    """A tool's result and, when served from an old cache entry, a note saying so."""

    result: msgspec.Struct
    note: str | None = None
    cached: bool = False


class ToolRunner:
    """Validates arguments and routes each call through the cache to its worker."""

    def __init__(
        self,
        tools: Mapping[str, ToolSpec],
        workers: Mapping[str, WorkerHandle],
        cache: SessionCache,
        settings: Settings,
        *,
        blocked: MailError | None = None,
    ) -> None:
        self.tools = tools
        self._workers = workers
        self._cache = cache
        self._settings = settings
        # A configuration error: every call reports it, so the model can tell the user.
        self._blocked = blocked
        self._calls = WorkerCalls(workers, cache)
        self._outbox = Outbox(
            self._calls, settings.call_timeout, send_limit_per_hour=settings.send_limit_per_hour
        )

    async def call(
        self,
        name: str,
        arguments: Mapping[str, Any] | None,
        on_progress: ProgressCallback | None = None,
    ) -> ToolAnswer:
        """Run tool ``name``; raises a MailError with a sentence for the user."""
        spec = self.tools.get(name)
        if spec is None:
            raise InvalidArgument(f"There is no tool named {name!r}; call tools/list to see them.")
        try:
            args = msgspec.convert(dict(arguments or {}), spec.args_type)
        except msgspec.ValidationError as exc:
            raise InvalidArgument(
                f"Invalid arguments for {name}: {reworded(str(exc), name)}"
            ) from None
        if spec.local:  # about the server itself: works even when the settings are wrong
            return ToolAnswer(await server_status(self._workers, self._cache))
        if self._blocked is not None:
            raise self._blocked
        if self._settings.read_only and spec.contract.writes_for(args):
            raise InvalidArgument(
                f"{name} cannot change anything here: the server runs read-only "
                "(MAILBOX_READ_ONLY=1); leave out the option that writes."
            )
        if spec.preflight is not None:
            notes = await spec.preflight(self._calls, self._settings, args)
            answer = await self._call_worker(spec, args, on_progress)
            return ToolAnswer(answer.result, note=" ".join(notes) or None)
        if spec.cache is None or spec.contract.writes_for(args):
            answer = await self._call_worker(spec, args, on_progress)
        else:
            answer = await self._call_cached(spec, args, on_progress)
        if spec.afterward is not None:  # not cached: what it adds comes from other workers
            completed = await spec.afterward(self._calls, self._settings, args, answer.result)
            answer = dataclasses.replace(answer, result=completed)
        return answer

    async def _call_worker(
        self, spec: ToolSpec, args: msgspec.Struct, on_progress: ProgressCallback | None
    ) -> ToolAnswer:
        if spec.composite is not None:
            return ToolAnswer(await spec.composite(self._outbox, args))
        return ToolAnswer((await self._run(spec, args, on_progress)).value)

    async def _call_cached(
        self, spec: ToolSpec, args: msgspec.Struct, on_progress: ProgressCallback | None
    ) -> ToolAnswer:
        assert spec.cache is not None
        revalidation = spec.contract.revalidated_by
        assert revalidation is not None  # ToolSpec checks that a cached tool has one
        key = (spec.name, msgspec.msgpack.encode(args))
        entry = self._cache.get(key)
        if entry is not None and entry.validator is not None:
            try:
                check = await self._calls.run(
                    revalidation,
                    FreshnessArgs(entry.validator),
                    timeout=self._settings.call_timeout,
                )
            except UNREACHED as exc:
                return self._stale(entry, exc)
            if check.value.fresh:
                return ToolAnswer(entry.value, cached=True)
            self._cache.discard(key)
        try:
            answer = await self._run(spec, args, on_progress)
        except UNREACHED as exc:
            stale = self._cache.get_stale(key)
            if stale is None:
                raise
            return self._stale(stale, exc)
        if answer.validator is not None:
            self._cache.put(
                key,
                answer.value,
                size=answer.size,
                ttl=spec.cache.ttl(self._settings),
                tags=answer.tags,
                validator=answer.validator,
            )
        return ToolAnswer(answer.value)

    async def _run(
        self, spec: ToolSpec, args: msgspec.Struct, on_progress: ProgressCallback | None
    ) -> Answer[msgspec.Struct]:
        return await self._calls.run(
            spec.contract,
            args,
            timeout=spec.timeout or self._settings.call_timeout,
            on_progress=on_progress,
        )

    def _stale(self, entry: CacheEntry, error: MailError) -> ToolAnswer:
        age = entry.age(time.monotonic())
        log.warning("cache.served_stale", age=round(age), error=error.message)
        return ToolAnswer(
            entry.value,
            note=(
                f"The server could not be reached ({error.message}) so this answer is from "
                f"{_age(age)} ago and may be out of date."
            ),
            cached=True,
        )


def _age(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} seconds"
    return f"{seconds / 60:.0f} minutes"
