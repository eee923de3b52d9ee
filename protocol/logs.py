"""structlog configuration shared by the supervisor and every worker.

stdout is the MCP wire (supervisor) or the pipe (worker), so every log line goes
to stderr. Secrets registered with ``register_secret`` are masked in every
event, including formatted tracebacks.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

import structlog

_secrets: set[str] = set()
MASK = "***"


def register_secret(secret: str | None) -> None:
    """Mask ``secret`` in every log line from now on."""
    if secret and len(secret) >= 3:
        _secrets.add(secret)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by a mask."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    if not _secrets:
        return event_dict
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = redact(value)
        elif not isinstance(value, int | float | bool | type(None)):
            event_dict[key] = redact(repr(value))
    return event_dict


Processor = Callable[[Any, str, MutableMapping[str, Any]], MutableMapping[str, Any]]


def configure_logging(
    process: str, level: str = "info", fmt: str = "console", also: Sequence[Processor] = ()
) -> None:
    """Send structlog and stdlib logging to stderr; bind ``process`` to every line.

    ``also``: processors that see every event after secrets are masked (the
    supervisor forwards warnings to the MCP client this way).
    """
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _redact_processor,
            *also,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(process=process)
    # Libraries (imapclient, caldav) log through stdlib logging; keep them on
    # stderr and quiet unless asked, since imaplib's debug output is verbose.
    handler = logging.StreamHandler(_CurrentStderr())
    handler.addFilter(_StdlibRedactFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric, logging.WARNING))


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time (test harnesses swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _StdlibRedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True
