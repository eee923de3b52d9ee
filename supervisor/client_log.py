"""Warnings for the MCP client's log (``notifications/message``), besides stderr.

Claude Desktop shows the server's stderr only in a log file; warnings sent over
MCP appear in its own server log view, next to the calls. Since the 2026 spec,
log messages ride the answer to a request the client opted in on, so warnings
are kept here as they happen (a worker restarted, a cached answer served
stale, an unknown setting) and sent with the next tool answer. The SDK drops
them where the client did not ask for them.
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import MutableMapping
from typing import Any

import mcp_types as types
import structlog
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPDeprecationWarning

LOGGER_NAME = "mailbox-mcp-server"
MAX_PENDING = 50
_LEVELS: dict[str, types.LoggingLevel] = {
    "warning": "warning",
    "error": "error",
    "critical": "critical",
}
# Fields every line has; the client learns nothing from them.
_DROPPED = ("timestamp", "process", "level")

log = structlog.get_logger()


class ClientLog:
    """A bounded queue of warnings waiting for the next tool answer."""

    def __init__(self) -> None:
        self._pending: deque[tuple[types.LoggingLevel, dict[str, Any]]] = deque(maxlen=MAX_PENDING)

    def processor(
        self, _logger: Any, method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        """structlog processor; runs after secrets are masked, before rendering."""
        level = _LEVELS.get(method)
        if level is not None:
            data = {k: v for k, v in event_dict.items() if k not in _DROPPED}
            self._pending.append((level, data))
        return event_dict

    async def flush(self, ctx: ServerRequestContext[Any]) -> None:
        """Send what is pending with the answer to the request of ``ctx``."""
        while self._pending:
            level, data = self._pending.popleft()
            try:
                with warnings.catch_warnings():
                    # Deprecated in favour of exactly this per-request delivery.
                    warnings.simplefilter("ignore", MCPDeprecationWarning)
                    await ctx.session.send_log_message(
                        level, data, logger=LOGGER_NAME, related_request_id=ctx.request_id
                    )
            except Exception as exc:  # a client gone away must not fail the answer
                log.debug("client_log.not_sent", error=type(exc).__name__)
                return


CLIENT_LOG = ClientLog()
