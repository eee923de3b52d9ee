"""Benchmark (``tox -e bench``): the session cache, against a cold call and the bare MCP round trip.

Every cached tool is served only after its entry is validated (supervisor/runner.py:
a worker's ``check_fresh``: one IMAP STATUS, or a CalDAV PROPFIND of the calendars'
ctags); no tool is served from the cache unvalidated. So beside the validated hits
this measures an answer the supervisor gives alone (arguments refused before any
worker is asked): what a plain hit could cost at best. Targets: a validated hit
within 0.2x of the cold call, a cached call within 2x of a no-op on the minimal server.

The no-op answers "ok" and declares no outputSchema; a cached search answers 20
results (about 12 KB of JSON) that the SDK serialises, parses and, in the client,
validates against the declared outputSchema (jsonschema: about 1.5 ms of the
client's time for 20 results). So the hit is also timed beside the minimal server
delivering the very same answer with the same schema: the MCP floor of that answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.imap_client import other_client
from tests.mcp_client import mcp_session, structured
from tests.perf.bench import (
    REPORT,
    ROUNDS,
    BenchAccount,
    beside_bare_work_and_delivery,
    minimal_server,
    timed,
    timed_side_by_side,
)
from tests.perf.seed_mail import frequent_sender
from tests.servers.dovecot import DovecotServer

pytestmark = pytest.mark.anyio

SEARCH = ("search_emails", {"sender": frequent_sender()})
WEEK = ("get_calendar_events", {"start": "2026-03-09", "end": "2026-03-15"})
CALENDAR_ROUNDS = 10


async def minimal_noop() -> list[float]:
    async with minimal_server() as session:
        return await timed(lambda: session.call_tool("noop", {}))


async def test_cache_hits_beside_cold_calls_and_the_mcp_round_trip(
    bench_env: dict[str, str], tmp_path: Path
) -> None:
    cold_env = {
        **bench_env,
        "MAILBOX_CACHE_EMAIL_TTL": "0",
        "MAILBOX_CACHE_CALENDAR_TTL": "0",
        "MAILBOX_CALL_TIMEOUT": "120",
    }
    hit_env = {**bench_env, "MAILBOX_CALL_TIMEOUT": "120"}
    async with (
        mcp_session(cold_env, tmp_path / "cold.log") as cold,
        mcp_session(hit_env, tmp_path / "hits.log") as cached,
    ):
        hit_search, cold_search = await timed_side_by_side(
            lambda: cached.call_tool(*SEARCH), lambda: cold.call_tool(*SEARCH)
        )
        hit_week, cold_week = await timed_side_by_side(
            lambda: cached.call_tool(*WEEK), lambda: cold.call_tool(*WEEK), CALENDAR_ROUNDS
        )
        refused = await timed(lambda: cached.call_tool("search_emails", {"limit": 0}))
        assert (await cached.call_tool("search_emails", {"limit": 0})).is_error
        # The same cached answer delivered by the minimal SDK server: the MCP floor of a hit.
        more_hits = await beside_bare_work_and_delivery(
            "cache: search_emails validated hit",
            cached,
            SEARCH,
            lambda: None,
            floor_is="no server work",
            rounds=ROUNDS,
            target=2.0,
        )
        status: Any = structured(await cached.call_tool("server_status", {}))
    # Every call after the first of each tool was served from the cache.
    hits = len(hit_search) + len(hit_week) + more_hits
    assert status["cache"]["hits"] == hits, status["cache"]
    noop = await minimal_noop()

    REPORT.latency("MCP no-op call on the minimal SDK server", noop)
    REPORT.latency(
        "cache: search_emails validated hit vs cold",
        hit_search,
        cold_search,
        floor="the same search_emails, cache off",
        target=0.2,
    )
    REPORT.latency(
        "cache: search_emails validated hit vs MCP no-op",
        hit_search,
        noop,
        floor="no-op tool on the minimal SDK server",
        target=2.0,
    )
    REPORT.latency(
        "cache: get_calendar_events week validated hit vs cold",
        hit_week,
        cold_week,
        floor="the same get_calendar_events, cache off",
        target=0.2,
    )
    REPORT.latency(
        "supervisor alone (arguments refused) vs MCP no-op",
        refused,
        noop,
        floor="no-op tool on the minimal SDK server",
        target=2.0,
    )


async def test_what_a_freshness_check_costs_the_server(
    dovecot: DovecotServer, bench_account: BenchAccount
) -> None:
    """The one round trip of a validated mail hit, by bare imapclient: STATUS of the
    100,000-message INBOX from a connection with nothing selected (where our worker
    checks), beside NOOP + STATUS on a connection that has INBOX selected."""
    items = ["MESSAGES", "UIDNEXT", "UIDVALIDITY", "HIGHESTMODSEQ"]
    with other_client(dovecot, bench_account.account) as imap:

        async def status() -> None:
            assert imap.folder_status("INBOX", items)[b"MESSAGES"] == bench_account.mail.inbox

        unselected = await timed(status)
        imap.select_folder("INBOX", readonly=True)

        async def noop_and_status() -> None:
            imap.noop()
            await status()

        selected = await timed(noop_and_status)
    REPORT.latency(
        "IMAP STATUS INBOX with nothing selected (bare)",
        unselected,
        selected,
        floor="NOOP + STATUS INBOX with INBOX selected (bare)",
    )
