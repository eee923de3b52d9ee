"""Benchmark (``tox -e bench``): calendar tools on a 5,000-event calendar beside the floor.

The calendar (a third of it recurring, fixed random seed) lives on Radicale.
The floor is the same calendar-query REPORT sent by a bare caldav DAVClient
over a warm session in the same run; our figure adds local recurrence
expansion, the pipe and MCP. Results: a table and tests/perf/results/calendar.json.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from protocol.settings import DavSettings, PoolSettings
from tests.mcp_client import mcp_session, structured
from tests.perf.bench import RESULTS, summary, timed
from tests.servers.dav import DavAccount, DavServer, RadicaleServer
from tests.servers.dovecot import Account
from workers.dav import client as dav

pytestmark = pytest.mark.anyio

EVENTS = int(os.environ.get("BENCH_EVENTS", "5000"))
FIRST = datetime(2025, 1, 1, tzinfo=UTC)
RULES = [
    "FREQ=WEEKLY",
    "FREQ=DAILY;COUNT=30",
    "FREQ=MONTHLY",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=40",
]


def event(i: int, rng: random.Random) -> str:
    start = FIRST + timedelta(days=rng.randrange(0, 730), hours=rng.randrange(7, 19))
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//bench//EN",
        "BEGIN:VEVENT",
        f"UID:bench-{i}@tests",
        "DTSTAMP:20250101T000000Z",
        f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
        f"DTEND:{start + timedelta(minutes=rng.choice([30, 60, 90])):%Y%m%dT%H%M%SZ}",
        f"SUMMARY:Event {i} {rng.choice(['budget', 'review', 'sync', 'lunch', 'call'])}",
    ]
    if i % 3 == 0:
        lines.append(f"RRULE:{rng.choice(RULES)}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"


async def test_bench_calendar(
    server_env: dict[str, str], tmp_path: Path, dav_servers: dict[str, DavServer], account: Account
) -> None:
    server = dav_servers["radicale"]
    login = DavAccount(account.email, account.password, server.url)
    rng = random.Random(4711)
    started = time.perf_counter()
    assert isinstance(server, RadicaleServer)
    server.seed_files(login, {f"bench-{i}.ics": event(i, rng) for i in range(EVENTS)})
    seeded = time.perf_counter() - started
    settings = DavSettings(
        url=server.url,
        username=account.email,
        password=account.password,
        ca_file=str(server.certificates.ca_file),
        pool=PoolSettings(read_timeout=120),
    )
    client = dav.open_client(settings)
    home = dav.discover_home(client)
    (calendar,) = dav.list_calendars(client, home)
    week = (datetime(2026, 3, 9, tzinfo=UTC), datetime(2026, 3, 16, tzinfo=UTC))
    month = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    fortnight = (datetime(2026, 3, 9, tzinfo=UTC), datetime(2026, 3, 23, tzinfo=UTC))

    def floor(span: tuple[datetime, datetime]) -> Any:
        async def run() -> int:
            return len(dav.query(client, calendar.url, *span).objects)

        return run

    floors = {
        name: await timed(floor(span), rounds=10)
        for name, span in (("week", week), ("month", month), ("fortnight", fortnight))
    }
    env = {**server_env, "MAILBOX_CACHE_CALENDAR_TTL": "0", "MAILBOX_CALL_TIMEOUT": "120"}
    rows: dict[str, dict[str, float]] = {}
    counts: dict[str, int] = {}
    async with mcp_session(env, tmp_path / "bench.log") as session:
        cases = {
            "get_calendar_events week": (
                "get_calendar_events",
                {"start": "2026-03-09", "end": "2026-03-15"},
                "week",
            ),
            "get_calendar_events month": (
                "get_calendar_events",
                {"start": "2026-03-01", "end": "2026-03-31"},
                "month",
            ),
            "get_free_busy two weeks": (
                "get_free_busy",
                {"start": "2026-03-09", "end": "2026-03-22"},
                "fortnight",
            ),
        }
        for name, (tool, args, span) in cases.items():
            answer = structured(await session.call_tool(tool, args))
            counts[name] = len(answer.get("events", answer.get("busy", [])))
            samples = await timed(
                lambda tool=tool, args=args: session.call_tool(tool, args), rounds=10
            )
            rows[name] = {
                **summary(samples),
                "floor_p50_ms": statistics.median(floors[span]) * 1000,
            }
    print(f"\n{EVENTS} events (a third recurring) written in {seeded:.1f} s; results: {counts}")
    print(f"{'measure':<32} {'p50 ms':>9} {'p95 ms':>9} {'floor ms':>9} {'ratio':>7}")
    for name, row in rows.items():
        row["ratio"] = row["p50_ms"] / row["floor_p50_ms"]
        print(
            f"{name:<32} {row['p50_ms']:9.1f} {row['p95_ms']:9.1f} {row['floor_p50_ms']:9.1f} {row['ratio']:7.2f}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "calendar.json").write_text(json.dumps({"events": EVENTS, **rows}, indent=2))
