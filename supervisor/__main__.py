"""``python -m supervisor`` / ``mailbox-mcp-server``: the MCP server, or ``--diagnose``."""

from __future__ import annotations

import argparse
import functools
import os
import sys

import anyio
import structlog

from protocol.errors import ConfigError
from protocol.logs import configure_logging
from supervisor import __version__
from supervisor.config import Settings, load_settings


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="mailbox-mcp-server",
        description=(
            "MCP server (stdio) giving Claude Desktop access to a mailbox.org (or any "
            "IMAP/SMTP/CalDAV) account. Configured by MAILBOX_* environment variables; "
            "see the README."
        ),
    )
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="check the configuration and the connection to the servers, then exit "
        "(status 0 when everything works)",
    )
    parser.add_argument("--json", action="store_true", help="with --diagnose: print JSON")
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="serve against local demo servers (Dovecot if installed, an SMTP relay, "
        "Radicale) instead of your account; in a terminal, prints the Claude Desktop "
        "snippet for it. Needs: pip install 'mailbox-mcp-server[sandbox]'",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.sandbox:
        from supervisor.client_log import CLIENT_LOG
        from supervisor.sandbox.run import run_sandbox

        level = os.environ.get("MAILBOX_LOG_LEVEL", "info")
        configure_logging("supervisor", level, "console", also=(CLIENT_LOG.processor,))

        return run_sandbox(sys.stdout)
    settings: Settings | None
    error: ConfigError | None = None
    try:
        settings = load_settings()
    except ConfigError as exc:
        settings, error = None, exc
    level = settings.log_level if settings else "info"
    fmt = settings.log_format if settings else "console"
    if args.diagnose:
        configure_logging("supervisor", "warning", fmt)
    else:
        from supervisor.client_log import CLIENT_LOG

        configure_logging("supervisor", level, fmt, also=(CLIENT_LOG.processor,))
    for warning in settings.warnings if settings else ():
        structlog.get_logger().warning("config.unknown_variable", message=warning)
    if args.diagnose:
        from supervisor.diagnose import run_diagnose

        return anyio.run(functools.partial(run_diagnose, settings, error, sys.stdout, args.json))
    from supervisor.app import serve_stdio

    anyio.run(serve_stdio, settings, error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
