"""Benchmark (``tox -e bench``): 50 searches at once in one MCP session, beside 50 in a row.

Fifty distinct sender searches on the 100,000-message INBOX (cache off, so each
reaches IMAP), first one after another, then all at once in one session, as a
model that fans out would send them. The IMAP worker serves them over its pool
(4 connections by default). For scale: the same 50 searches by bare imapclient,
one after another over one connection.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.imap_client import other_client
from tests.mcp_client import mcp_session, structured
from tests.perf.bench import REPORT, BenchAccount
from tests.perf.imap_floors import sort_and_page
from tests.perf.seed_mail import inbox_senders
from tests.servers.dovecot import DovecotServer

pytestmark = pytest.mark.anyio

CALLS = 50


async def test_fifty_concurrent_searches_beside_fifty_in_a_row(
    bench_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, bench_account: BenchAccount
) -> None:
    queries = [{"sender": sender} for sender in inbox_senders()[:CALLS]]
    with other_client(dovecot, bench_account.account) as imap:
        imap.select_folder("INBOX", readonly=True)
        started = time.perf_counter()
        expected = [sort_and_page(["FROM", q["sender"]])(imap) for q in queries]
        bare = time.perf_counter() - started

    cold_env = {**bench_env, "MAILBOX_CACHE_EMAIL_TTL": "0"}
    async with mcp_session(cold_env, tmp_path / "concurrency.log") as session:

        async def search(args: dict[str, Any]) -> int:
            return int(structured(await session.call_tool("search_emails", args))["total"])

        await search(queries[-1])  # the pool warmed up
        started = time.perf_counter()
        in_a_row = [await search(q) for q in queries]
        sequential = time.perf_counter() - started

        at_once = [0] * CALLS

        async def one(i: int) -> None:
            at_once[i] = await search(queries[i])

        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for i in range(CALLS):
                tg.start_soon(one, i)
        concurrent = time.perf_counter() - started

    assert in_a_row == at_once == expected
    REPORT.figure(
        "50 search_emails one after another: wall time",
        sequential,
        "s",
        f"{CALLS / sequential:.1f} calls/s",
    )
    REPORT.figure(
        "50 search_emails at once, one session: wall time",
        concurrent,
        "s",
        f"{CALLS / concurrent:.1f} calls/s, {sequential / concurrent:.2f}x faster",
    )
    REPORT.figure(
        "50 searches by bare imapclient, one connection", bare, "s", f"{CALLS / bare:.1f} calls/s"
    )
