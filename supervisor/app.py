"""Wiring: settings -> worker handles, cache, runner, MCP server; and the stdio main loop."""

from __future__ import annotations

from collections.abc import Mapping

import anyio
import structlog
from mcp.server.stdio import stdio_server

from protocol.errors import ConfigError, MailError
from supervisor.cache import SessionCache
from supervisor.config import Settings
from supervisor.runner import ToolRunner
from supervisor.server import build_server
from supervisor.tools import available_tools
from supervisor.worker_setup import PasswordSource, build_workers, restart_policy

log = structlog.get_logger()

# Stands in for real settings when the environment is wrong, so the server can
# still start and every tool call can tell the user what to fix.
PLACEHOLDER_SETTINGS = Settings(email="", password=None, password_command=None)


async def serve_stdio(
    settings: Settings | None,
    config_error: ConfigError | None,
    *,
    unavailable: Mapping[str, MailError] | None = None,
) -> None:
    """Serve MCP on stdin/stdout until the client closes stdin, then stop the workers.

    Workers named in ``unavailable`` are not started; their tools answer with the
    error given for them.
    """
    effective = settings or PLACEHOLDER_SETTINGS
    password = PasswordSource(effective)
    workers = (
        build_workers(
            effective,
            restart_policy(effective),
            password=password,
            limited=True,
            unavailable=unavailable,
        )
        if settings is not None
        else {}
    )
    cache = SessionCache(effective.cache_max_entries, effective.cache_max_bytes)
    runner = ToolRunner(
        available_tools(effective.read_only, effective.tool_families),
        workers,
        cache,
        effective,
        blocked=config_error,
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
