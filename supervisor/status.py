"""The answer of ``server_status`` and the metrics part of ``--diagnose``."""

from __future__ import annotations

from collections.abc import Mapping

import anyio

from protocol.status import CacheStatus, ServerStatusResult, WorkerStatus
from supervisor import __version__
from supervisor.cache import SessionCache
from supervisor.worker_handle import WorkerHandle

_SHOWN = (  # the metrics worth a line, in this order
    "rss_bytes",
    "requests_served",
    "requests_failed",
    "requests_in_flight",
    "pool_in_use",
    "pool_idle",
    "pool_waits",
    "pool_failures",
    "login_refused",
    "rate_delayed",
    "rate_refused",
)


def worker_statuses(workers: Mapping[str, WorkerHandle]) -> list[WorkerStatus]:
    return [worker.status() for worker in workers.values()]


async def refresh_metrics(workers: Mapping[str, WorkerHandle]) -> None:
    """Fresh metrics from every running worker at once (a ping each, at most a second)."""
    async with anyio.create_task_group() as tg:
        for worker in workers.values():
            tg.start_soon(worker.refresh_metrics, 1.0)


async def server_status(
    workers: Mapping[str, WorkerHandle], cache: SessionCache
) -> ServerStatusResult:
    await refresh_metrics(workers)
    return ServerStatusResult(
        version=__version__,
        workers=worker_statuses(workers),
        cache=CacheStatus(len(cache), cache.size_bytes, cache.hits, cache.misses),
    )


def describe(status: WorkerStatus) -> str:
    """One line for a person: state, process, restarts and the useful metrics."""
    parts = [f"{status.name}: {status.state}", f"pid {status.pid}", f"restarts {status.restarts}"]
    for key in _SHOWN:
        value = status.metrics.get(key)
        if value is None:
            continue
        if key == "rss_bytes" and isinstance(value, int | float):
            parts.append(f"memory {value / 2**20:.0f} MB")
        else:
            parts.append(f"{key.replace('_', ' ')} {value}")
    return ", ".join(parts)


def render_status(result: ServerStatusResult) -> str:
    lines = [f"mailbox-mcp-server {result.version}"]
    lines += [describe(w) for w in result.workers]
    c = result.cache
    lines.append(f"cache: {c.entries} entries, {c.bytes} bytes, {c.hits} hits, {c.misses} misses")
    return "\n".join(lines)
