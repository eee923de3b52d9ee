"""Drive ``python -m supervisor`` exactly as Claude Desktop does: stdio and ClientSession."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import mcp_types as types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.leak_watch import WATCH
from tests.preloaded_server import ServerStarts

REPO = Path(__file__).resolve().parent.parent
SERVER = (sys.executable, "-m", "supervisor")
"""The server as Claude Desktop starts it from a checkout."""

SERVER_STARTS = ServerStarts(SERVER)
"""How a server started with no ``command`` starts: forked from the session's preloaded
process, or (for the tests about the server's own process) as ``SERVER``."""


def run_server(
    env: dict[str, str],
    *args: str,
    command: tuple[str, ...] | None = None,
    cwd: Path = REPO,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``command`` with ``args`` (``--diagnose``, say) run to its end as from a terminal,
    with no input; what it printed is checked for passwords (tests/leak_watch.py)."""
    WATCH.secret(env.get("MAILBOX_PASSWORD"))
    done = subprocess.run(
        [*(command or SERVER_STARTS.command()), *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    WATCH.output(" ".join(["output of", *args]), done.stdout + done.stderr)
    return done


@asynccontextmanager
async def mcp_session(
    env: dict[str, str],
    stderr_path: Path,
    args: tuple[str, ...] = (),
    *,
    command: tuple[str, ...] | None = None,
    cwd: Path = REPO,
    **session_options: Any,
) -> AsyncIterator[ClientSession]:
    """An initialized MCP session with a fresh server; its stderr goes to ``stderr_path``.

    ``command`` starts the server (an installed script, say); ``session_options``
    go to the ClientSession (a logging callback, say). Every answer and the log
    are checked for passwords (tests/leak_watch.py).
    """
    WATCH.secret(env.get("MAILBOX_PASSWORD"))
    command = command or SERVER_STARTS.command()
    params = StdioServerParameters(
        command=command[0], args=[*command[1:], *args], env=env, cwd=str(cwd)
    )
    try:
        with open(stderr_path, "a") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                WatchedSession(read, write, **session_options) as session,
            ):
                await session.initialize()
                yield session
    finally:
        WATCH.log(stderr_path)


class WatchedSession(ClientSession):
    """A ClientSession whose tool answers are checked for passwords."""

    async def call_tool(self, name: str, *args: Any, **kwargs: Any) -> types.CallToolResult:
        result = await super().call_tool(name, *args, **kwargs)
        WATCH.output(f"{name} answer", [c.model_dump() for c in result.content])
        WATCH.output(f"{name} structured answer", result.structured_content)
        return result


def structured(result: types.CallToolResult) -> Any:
    """The structured result of a successful call; fails the test with the error text otherwise."""
    text = " ".join(c.text for c in result.content if isinstance(c, types.TextContent))
    assert not result.is_error, text
    return result.structured_content


def text_of(result: types.CallToolResult) -> str:
    """The text of an answer, error or not."""
    return " ".join(c.text for c in result.content if isinstance(c, types.TextContent))


def error_text(result: types.CallToolResult) -> str:
    assert result.is_error, f"expected an error, got {result.structured_content!r}"
    return text_of(result)
