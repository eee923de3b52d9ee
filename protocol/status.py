"""``server_status``: how the server's own parts are doing (no mail is read)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from protocol.contract import SUPERVISOR, Contract


class ServerStatusArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    pass


class WorkerStatus(msgspec.Struct, frozen=True):
    name: Annotated[str, msgspec.Meta(description="imap, smtp or dav (calendar).")]
    state: Annotated[
        str,
        msgspec.Meta(description="ready, starting, not configured, or paused after failures."),
    ]
    pid: int | None
    restarts: Annotated[int, msgspec.Meta(description="Restarts after a crash or a hang.")]
    recycled: Annotated[
        int, msgspec.Meta(description="Planned replacements (memory ceiling, new password).")
    ]
    uptime_s: float | None = None
    metrics: dict[str, int | float | str] = {}


class CacheStatus(msgspec.Struct, frozen=True):
    entries: int
    bytes: int
    hits: int
    misses: int


class ServerStatusResult(msgspec.Struct, frozen=True):
    version: str
    workers: list[WorkerStatus]
    cache: CacheStatus


SERVER_STATUS = Contract("server_status", SUPERVISOR, ServerStatusArgs, ServerStatusResult)
