"""Drive ``python -m supervisor`` exactly as Claude Desktop does: stdio and ClientSession."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import mcp_types as types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

REPO = Path(__file__).resolve().parent.parent


@asynccontextmanager
async def mcp_session(
    env: dict[str, str], stderr_path: Path, args: tuple[str, ...] = ()
) -> AsyncIterator[ClientSession]:
    """An initialized MCP session with a fresh server; its stderr goes to ``stderr_path``."""
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "supervisor", *args], env=env, cwd=str(REPO)
    )
    with open(stderr_path, "a") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


def structured(result: types.CallToolResult) -> Any:
    """The structured result of a successful call; fails the test with the error text otherwise."""
    text = " ".join(c.text for c in result.content if isinstance(c, types.TextContent))
    assert not result.is_error, text
    return result.structured_content


def error_text(result: types.CallToolResult) -> str:
    assert result.is_error, f"expected an error, got {result.structured_content!r}"
    return " ".join(c.text for c in result.content if isinstance(c, types.TextContent))
