"""Benchmarks (``tox -e bench``): start-up, get_folders and the cache, each beside its floor.

Figures are ratios against a floor measured in the same run, never absolute targets:
- start-up: spawn to tools/list answer, against a minimal server on the same mcp SDK;
- get_folders: through MCP, against the same LIST-STATUS done by bare imapclient over one
  warm connection;
- a validated cache hit, against the uncached call and against a no-op call on the minimal
  server (the MCP round trip itself).
Results are printed as a table and written to tests/perf/results/folders.json.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.imap_client import other_client
from tests.mcp_client import REPO, mcp_session, structured
from tests.perf.bench import RESULTS, summary, timed
from tests.servers.dovecot import Account, DovecotServer

pytestmark = pytest.mark.anyio

STARTS = 5


async def time_to_tools_list(args: list[str], env: dict[str, str]) -> float:
    params = StdioServerParameters(command=sys.executable, args=args, env=env, cwd=str(REPO))
    start = time.perf_counter()
    with open("/dev/null", "w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            await session.list_tools()
            return time.perf_counter() - start


def seed_folders(dovecot: DovecotServer, account: Account, count: int = 20) -> None:
    with other_client(dovecot, account) as imap:
        for i in range(count):
            imap.create_folder(f"Projects/P{i:02d}")


async def test_bench_startup_folders_and_cache(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    seed_folders(dovecot, account)
    floor_script = str(REPO / "tests" / "perf" / "minimal_server.py")
    rows: dict[str, dict[str, float]] = {}

    ours = [await time_to_tools_list(["-m", "supervisor"], server_env) for _ in range(STARTS)]
    floor = [await time_to_tools_list([floor_script], server_env) for _ in range(STARTS)]
    rows["start to tools/list"] = {**summary(ours), "floor_p50_ms": statistics.median(floor) * 1000}

    with other_client(dovecot, account) as imap:
        bare = imap._imap

        async def list_status() -> None:
            typ, _ = bare._simple_command(
                "LIST",
                '""',
                '"*"',
                "RETURN",
                "(SPECIAL-USE STATUS (MESSAGES UNSEEN UIDNEXT UIDVALIDITY HIGHESTMODSEQ))",
            )
            bare.untagged_responses.clear()
            assert typ == "OK"

        imap_floor = await timed(list_status)

    uncached_env = {**server_env, "MAILBOX_CACHE_EMAIL_TTL": "0"}
    async with mcp_session(uncached_env, tmp_path / "uncached.log") as session:
        uncached = await timed(lambda: session.call_tool("get_folders", {}))
        assert len(structured(await session.call_tool("get_folders", {}))["folders"]) == 27
    rows["get_folders (uncached)"] = {
        **summary(uncached),
        "floor_p50_ms": statistics.median(imap_floor) * 1000,
    }

    async with mcp_session(server_env, tmp_path / "cached.log") as session:
        cached = await timed(lambda: session.call_tool("get_folders", {}))
    params = StdioServerParameters(command=sys.executable, args=[floor_script], cwd=str(REPO))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as floor_session:
        await floor_session.initialize()
        noop = await timed(lambda: floor_session.call_tool("noop", {}))
    rows["get_folders (validated cache hit)"] = {
        **summary(cached),
        "floor_p50_ms": statistics.median(noop) * 1000,
    }
    rows["get_folders cache hit vs uncached"] = {
        "p50_ms": statistics.median(cached) * 1000,
        "floor_p50_ms": statistics.median(uncached) * 1000,
    }

    print(f"\n{'measure':<36} {'p50 ms':>9} {'floor ms':>9} {'ratio':>7}")
    for name, row in rows.items():
        row["ratio"] = row["p50_ms"] / row["floor_p50_ms"]
        print(f"{name:<36} {row['p50_ms']:9.2f} {row['floor_p50_ms']:9.2f} {row['ratio']:7.2f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "folders.json").write_text(json.dumps(rows, indent=2))
