"""Benchmark (``tox -e bench``): from process start to the first answers, beside the floor.

The floor is tests/perf/minimal_server.py, the smallest server on the same mcp
SDK (one no-op tool, no workers, no settings). Measured from spawning the
process: to the tools/list answer (target: within 1.2x of the floor), and to the
first successful tool call (get_folders, which waits for the IMAP worker to start
and log in; the floor's first call is its no-op).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.mcp_client import REPO, structured
from tests.perf.bench import REPORT

pytestmark = pytest.mark.anyio

STARTS = 7
OURS = ["-m", "supervisor"]
MINIMAL = [str(REPO / "tests" / "perf" / "minimal_server.py")]

First = Callable[[ClientSession], Awaitable[Any]]


async def start_until(args: list[str], env: dict[str, str], first: First) -> float:
    """Seconds from spawning the server until ``first`` has its answer."""
    params = StdioServerParameters(command=sys.executable, args=args, env=env, cwd=str(REPO))
    start = time.perf_counter()
    with open("/dev/null", "w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            await first(session)
            return time.perf_counter() - start


async def tools_listed(session: ClientSession) -> None:
    assert (await session.list_tools()).tools


async def folders_listed(session: ClientSession) -> None:
    assert structured(await session.call_tool("get_folders", {}))["folders"]


async def noop_answered(session: ClientSession) -> None:
    assert not (await session.call_tool("noop", {})).is_error


async def test_start_up_to_tools_list_and_to_the_first_call(server_env: dict[str, str]) -> None:
    async def starts(args: list[str], first: First) -> list[float]:
        return [await start_until(args, server_env, first) for _ in range(STARTS)]

    REPORT.latency(
        "start to tools/list answer",
        await starts(OURS, tools_listed),
        await starts(MINIMAL, tools_listed),
        floor="minimal SDK server: start to tools/list",
        target=1.2,
    )
    REPORT.latency(
        "start to first get_folders answer",
        await starts(OURS, folders_listed),
        await starts(MINIMAL, noop_answered),
        floor="minimal SDK server: start to its no-op tool's answer",
    )
