"""Benchmarks (``tox -e bench``): search_emails and get_email beside their floors.

The mailbox is seeded straight into Dovecot's Maildir (100,000 messages by
default, ``BENCH_MESSAGES`` to change it) with a fixed random seed: senders,
subjects and dates over five years. Each floor is the same server work done by
bare imapclient over one warm connection in the same run: UID SORT + one page
FETCH for a search, the structure/header FETCH + text-part FETCH for a message.
Results: a table on stdout and tests/perf/results/mail.json.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from tests.imap_client import other_client
from tests.mail_factory import BASE_TIME
from tests.mcp_client import mcp_session, structured
from tests.perf.bench import RESULTS, summary, timed
from tests.servers.dovecot import Account, DovecotServer

pytestmark = pytest.mark.anyio

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "100000"))
SENDERS = [f"Person {i} <person{i}@example.test>" for i in range(500)]
WORDS = [
    "budget",
    "invoice",
    "meeting",
    "report",
    "travel",
    "lunch",
    "project",
    "contract",
    "review",
    "draft",
]
START = BASE_TIME - timedelta(days=5 * 365)
PAGE_ITEMS = ["ENVELOPE", "FLAGS", "RFC822.SIZE", "BODYSTRUCTURE", "INTERNALDATE", "PREVIEW"]


def mailbox(count: int) -> Iterator[tuple[bytes, datetime]]:
    rng = random.Random(4711)
    step = (BASE_TIME - START) / count
    for i in range(count):
        sent = START + step * i
        subject = " ".join(rng.choice(WORDS) for _ in range(4)) + f" #{i}"
        body = f"Body of {subject}.\r\n" * rng.randint(3, 30)
        raw = (
            f"From: {rng.choice(SENDERS)}\r\nTo: you@example.test\r\nSubject: {subject}\r\n"
            f"Date: {format_datetime(sent)}\r\nMessage-ID: <m{i}@example.test>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
        )
        yield raw.encode(), sent


SEARCHES: dict[str, dict[str, Any]] = {
    "sender": {"sender": "person42@example.test"},
    "subject": {"subject": "contract #4"},
    "date range": {"since": "2025-03-01", "before": "2025-03-15"},
}


def imap_criteria(args: dict[str, Any]) -> list[Any]:
    if "sender" in args:
        return ["FROM", args["sender"]]
    if "subject" in args:
        return ["SUBJECT", args["subject"]]
    return [
        "SINCE",
        date.fromisoformat(args["since"]),
        "BEFORE",
        date.fromisoformat(args["before"]),
    ]


async def test_bench_search_and_read(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    started = time.perf_counter()
    dovecot.seed_maildir(account, "INBOX", mailbox(MESSAGES))
    seeded = time.perf_counter() - started
    rows: dict[str, dict[str, float]] = {}
    floors: dict[str, list[float]] = {}
    with other_client(dovecot, account) as imap:
        started = time.perf_counter()
        imap.select_folder("INBOX", readonly=True)
        indexed = time.perf_counter() - started
        for name, args in SEARCHES.items():

            async def bare_search(args: dict[str, Any] = args) -> list[int]:
                uids: list[int] = imap.sort(["ARRIVAL"], imap_criteria(args))[::-1]
                imap.fetch(uids[:20], PAGE_ITEMS)
                return uids

            floors[name] = await timed(bare_search)
        uid = imap.search(["FROM", "person42@example.test"])[-1]

        async def bare_read() -> None:
            imap.fetch([uid], ["BODYSTRUCTURE", "BODY.PEEK[HEADER]"])
            imap.fetch([uid], ["BODY.PEEK[1]"])

        read_floor = await timed(bare_read)

    cold_env = {**server_env, "MAILBOX_CACHE_EMAIL_TTL": "0"}
    totals: dict[str, int] = {}
    async with mcp_session(cold_env, tmp_path / "cold.log") as session:
        for name, args in SEARCHES.items():
            totals[name] = structured(await session.call_tool("search_emails", args))["total"]
            samples = await timed(lambda args=args: session.call_tool("search_emails", args))
            rows[f"search_emails {name}"] = {
                **summary(samples),
                "floor_p50_ms": statistics.median(floors[name]) * 1000,
            }
        found = structured(await session.call_tool("search_emails", SEARCHES["sender"]))
        email_id = found["emails"][0]["id"]
        cold_read = await timed(lambda: session.call_tool("get_email", {"id": email_id}))
    rows["get_email"] = {**summary(cold_read), "floor_p50_ms": statistics.median(read_floor) * 1000}
    async with mcp_session(server_env, tmp_path / "warm.log") as session:
        hits = await timed(lambda: session.call_tool("search_emails", SEARCHES["sender"]))
    rows["search_emails validated hit vs cold"] = {
        **summary(hits),
        "floor_p50_ms": rows["search_emails sender"]["p50_ms"],
    }

    print(
        f"\n{MESSAGES} messages in INBOX: written in {seeded:.1f} s, indexed by Dovecot in "
        f"{indexed:.1f} s; matches: {totals}"
    )
    print(f"{'measure':<38} {'p50 ms':>9} {'p95 ms':>9} {'floor ms':>9} {'ratio':>7}")
    for name, row in rows.items():
        row["ratio"] = row["p50_ms"] / row["floor_p50_ms"]
        print(
            f"{name:<38} {row['p50_ms']:9.2f} {row['p95_ms']:9.2f} "
            f"{row['floor_p50_ms']:9.2f} {row['ratio']:7.2f}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "mail.json").write_text(json.dumps({"messages": MESSAGES, **rows}, indent=2))
