"""A 5,000-event calendar (``BENCH_EVENTS``), a third of it recurring, fixed random seed.

Events start over 2025 and 2026 between 07:00 and 19:00 UTC; the recurring ones
repeat weekly, daily for 30 days, monthly, or three times a week for 40 times.
Written straight into Radicale's storage (RadicaleServer.seed_files).
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime, timedelta

from tests.ics_factory import calendar
from tests.servers.dav import DavAccount, RadicaleServer

EVENTS = int(os.environ.get("BENCH_EVENTS", "5000"))
FIRST = datetime(2025, 1, 1, tzinfo=UTC)
RULES = [
    "FREQ=WEEKLY",
    "FREQ=DAILY;COUNT=30",
    "FREQ=MONTHLY",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=40",
]
TOPICS = ["budget", "review", "sync", "lunch", "call"]


def event(i: int, rng: random.Random) -> str:
    start = FIRST + timedelta(days=rng.randrange(0, 730), hours=rng.randrange(7, 19))
    lines = [
        f"UID:bench-{i}@tests",
        "DTSTAMP:20250101T000000Z",
        f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
        f"DTEND:{start + timedelta(minutes=rng.choice([30, 60, 90])):%Y%m%dT%H%M%SZ}",
        f"SUMMARY:Event {i} {rng.choice(TOPICS)}",
    ]
    if i % 3 == 0:
        lines.append(f"RRULE:{rng.choice(RULES)}")
    return calendar(lines)


def seed_calendar(server: RadicaleServer, login: DavAccount, count: int = EVENTS) -> float:
    """Write ``count`` events into ``login``'s default calendar; returns the seconds taken."""
    rng = random.Random(4711)
    started = time.perf_counter()
    server.seed_files(login, {f"bench-{i}.ics": event(i, rng) for i in range(count)})
    return time.perf_counter() - started
