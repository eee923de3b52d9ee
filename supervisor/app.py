"""Wiring: settings -> worker handles, cache, runner, MCP server; and the stdio main loop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import msgspec
import structlog
from mcp.server.stdio import stdio_server

from protocol.errors import ConfigError
from protocol.logs import register_secret
from supervisor.cache import SessionCache
from supervisor.config import Settings, resolve_password
from supervisor.runner import ToolRunner
from supervisor.server import build_server
from supervisor.tools import available_tools
from supervisor.worker_handle import DEFAULT_POLICY, RestartPolicy, WorkerHandle

log = structlog.get_logger()

# Stands in for real settings when the environment is wrong, so the server can
# still start and every tool call can tell the user what to fix.
PLACEHOLDER_SETTINGS = Settings(email="", password=None, password_command=None)


class PasswordSource:
    """Fetches the password once (running the password command in a thread) and keeps it."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = anyio.Lock()
        self._password: str | None = None

    async def get(self) -> str:
        async with self._lock:
            if self._password is None:
                self._password = await anyio.to_thread.run_sync(resolve_password, self._settings)
                register_secret(self._password)
            return self._password


def build_workers(
    settings: Settings, policy: RestartPolicy = DEFAULT_POLICY, log_level: str | None = None
) -> dict[str, WorkerHandle]:
    """One handle per worker process; none is started yet."""
    password = PasswordSource(settings)

    def settings_for(
        make: Callable[[str], msgspec.Struct],
    ) -> Callable[[], Awaitable[msgspec.Struct]]:
        async def factory() -> msgspec.Struct:
            return make(await password.get())

        return factory

    return {
        "imap": WorkerHandle(
            "imap", settings_for(settings.imap_settings), policy, label="IMAP", log_level=log_level
        ),
        "smtp": WorkerHandle(
            "smtp", settings_for(settings.smtp_settings), policy, label="SMTP", log_level=log_level
        ),
        "dav": WorkerHandle(
            "dav", settings_for(settings.dav_settings), policy, label="CalDAV", log_level=log_level
        ),
    }


async def serve_stdio(settings: Settings | None, config_error: ConfigError | None) -> None:
    """Serve MCP on stdin/stdout until the client closes stdin, then stop the workers."""
    effective = settings or PLACEHOLDER_SETTINGS
    workers = build_workers(effective) if settings is not None else {}
    cache = SessionCache(effective.cache_max_entries, effective.cache_max_bytes)
    runner = ToolRunner(
        available_tools(effective.read_only), workers, cache, effective, blocked=config_error
    )
    server = build_server(runner)
    if config_error is not None:
        log.error("supervisor.config_error", error=config_error.message)
    async with anyio.create_task_group() as tg:
        for worker in workers.values():
            tg.start_soon(worker.run)
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())
        log.info("supervisor.stdin_closed")
        with anyio.CancelScope(shield=True):
            async with anyio.create_task_group() as closing:
                for worker in workers.values():
                    closing.start_soon(worker.aclose)
        tg.cancel_scope.cancel()
    log.info("supervisor.stopped")
