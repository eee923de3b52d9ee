"""``python -m supervisor`` / ``mailbox-mcp-server``: the MCP server, or ``--diagnose``."""

from __future__ import annotations

import argparse
import functools
import gc
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from supervisor import __version__

if TYPE_CHECKING:
    from protocol.errors import ConfigError
    from supervisor.config import Settings

USAGE = "mailbox-mcp-server [--sandbox] [--diagnose [--json] [--verbose]] | --version"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, where argparse prints the usage and the error on two."""
        self.exit(2, f"{self.prog}: {message} (usage: {USAGE})\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(
        prog="mailbox-mcp-server",
        usage=USAGE,
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
        "(status 0 when everything works); with --sandbox, check the sandbox",
    )
    parser.add_argument("--json", action="store_true", help="with --diagnose: print JSON")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="with --diagnose: also the worker processes, and every skipped check on its line",
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="serve against local demo servers (Dovecot if installed, an SMTP relay, "
        "Radicale) instead of your account; in a terminal, prints the Claude Desktop "
        "snippet for it. Needs: pip install 'mailbox-mcp-server[sandbox]'",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    args = parser.parse_args(argv)
    for option in ("json", "verbose"):
        if getattr(args, option) and not args.diagnose:
            parser.error(f"--{option} works only with --diagnose")
    return args


def main(argv: list[str] | None = None) -> int:
    # Start-up is mostly imports (the MCP SDK alone builds hundreds of pydantic models):
    # with the cyclic collector paused while they load, then frozen out of its reach, a
    # start costs about 0.35 s less CPU and the exit skips traversing them once more.
    # Paused only here, in the process that is the server, and resumed before it serves.
    gc.disable()
    try:
        run = _prepare(parse_args(argv))
    finally:
        gc.freeze()
        gc.enable()
    return run()


def _prepare(args: argparse.Namespace) -> Callable[[], int]:
    """Everything before serving: the imports, the settings, the logging; returns what
    serves (or diagnoses) to its end."""
    import anyio
    import structlog

    from protocol.errors import ConfigError
    from protocol.logs import configure_logging
    from supervisor.config import load_settings

    if args.sandbox:
        from supervisor.client_log import CLIENT_LOG
        from supervisor.sandbox.run import run_sandbox

        level = "warning" if args.diagnose else os.environ.get("MAILBOX_LOG_LEVEL", "info")
        configure_logging("supervisor", level, "console", also=(CLIENT_LOG.processor,))

        return functools.partial(
            run_sandbox, sys.stdout, diagnose=args.diagnose, as_json=args.json, verbose=args.verbose
        )
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

        check = functools.partial(
            run_diagnose, settings, error, sys.stdout, args.json, verbose=args.verbose
        )
        return functools.partial(anyio.run, check)
    from supervisor.app import serve_stdio

    def serve() -> int:
        anyio.run(serve_stdio, settings, error)
        return 0

    return serve


if __name__ == "__main__":
    sys.exit(main())
