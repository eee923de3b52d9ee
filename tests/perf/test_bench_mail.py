"""Benchmarks (``tox -e bench``): search_emails and get_email beside their floors.

The floor is the same server work done by bare imapclient over one warm
connection in the same run: UID SORT + one page FETCH for a search, the
structure/header FETCH + text-part FETCH for a message. MESSAGES sets the
mailbox size (the 100,000-message run belongs to the performance issue).
"""

from __future__ import annotations

import json
import os
import random
import statistics
from pathlib import Path
from typing import Any

import pytest

from tests.imap_client import other_client
from tests.mail_factory import BASE_TIME, message
from tests.mcp_client import mcp_session, structured
from tests.perf.test_bench_folders import RESULTS, summary, timed
from tests.servers.dovecot import Account, DovecotServer

pytestmark = pytest.mark.anyio

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "5000"))
SENDERS = [f"Person {i} <person{i}@example.test>" for i in range(200)]
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


def seed(dovecot: DovecotServer, account: Account) -> None:
    rng = random.Random(4711)
    with other_client(dovecot, account) as imap:
        batch = []
        for i in range(MESSAGES):
            subject = " ".join(rng.choice(WORDS) for _ in range(4)) + f" #{i}"
            sent = BASE_TIME.replace(year=2022) + (BASE_TIME - BASE_TIME.replace(year=2022)) * (
                i / MESSAGES
            )
            msg = message(
                subject, sender=rng.choice(SENDERS), body=f"Body of {subject}.\n" * 20, sent=sent
            )
            batch.append({"msg": msg.as_bytes(), "date": sent})
            if len(batch) == 500:
                imap.multiappend("INBOX", batch)
                batch = []
        if batch:
            imap.multiappend("INBOX", batch)


async def test_bench_search_and_read(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    seed(dovecot, account)
    sender = "person42@example.test"
    rows: dict[str, dict[str, float]] = {}
    with other_client(dovecot, account) as imap:
        imap.select_folder("INBOX", readonly=True)

        async def bare_search() -> list[int]:
            uids = imap.sort(["REVERSE", "ARRIVAL"], ["FROM", sender])
            imap.fetch(
                uids[:20],
                ["ENVELOPE", "FLAGS", "RFC822.SIZE", "BODYSTRUCTURE", "INTERNALDATE", "PREVIEW"],
            )
            return uids

        uid = (await bare_search())[0]

        async def bare_read() -> None:
            imap.fetch([uid], ["BODYSTRUCTURE", "BODY.PEEK[HEADER]"])
            imap.fetch([uid], ["BODY.PEEK[1]"])

        search_floor = await timed(bare_search)
        read_floor = await timed(bare_read)

    cold_env = {**server_env, "MAILBOX_CACHE_EMAIL_TTL": "0"}
    async with mcp_session(cold_env, tmp_path / "cold.log") as session:

        async def search() -> Any:
            return await session.call_tool("search_emails", {"sender": sender})

        found = structured(await search())
        email_id = found["emails"][0]["id"]
        cold_search = await timed(search)
        cold_read = await timed(lambda: session.call_tool("get_email", {"id": email_id}))
    async with mcp_session(server_env, tmp_path / "warm.log") as session:
        warm_search = await timed(lambda: session.call_tool("search_emails", {"sender": sender}))

    rows["search_emails sender (cold)"] = {
        **summary(cold_search),
        "floor_p50_ms": statistics.median(search_floor) * 1000,
    }
    rows["get_email (cold)"] = {
        **summary(cold_read),
        "floor_p50_ms": statistics.median(read_floor) * 1000,
    }
    rows["search_emails validated hit vs cold"] = {
        "p50_ms": statistics.median(warm_search) * 1000,
        "floor_p50_ms": statistics.median(cold_search) * 1000,
    }
    print(f"\n{MESSAGES} messages in INBOX, {found['total']} from {sender}")
    print(f"{'measure':<38} {'p50 ms':>9} {'floor ms':>9} {'ratio':>7}")
    for name, row in rows.items():
        row["ratio"] = row["p50_ms"] / row["floor_p50_ms"]
        print(f"{name:<38} {row['p50_ms']:9.2f} {row['floor_p50_ms']:9.2f} {row['ratio']:7.2f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "mail.json").write_text(json.dumps({"messages": MESSAGES, **rows}, indent=2))
