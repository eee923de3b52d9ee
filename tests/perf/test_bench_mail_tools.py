"""Benchmark (``tox -e bench``): every reading mail tool through MCP, beside its floor.

On the seeded mailbox (a 100,000-message INBOX and 20 folders of 1,000; see
seed_mail.py), each tool is called through a real MCP client over stdio with the
cache off, and each floor is the same server work done by bare imapclient over
one warm connection in the same run: for a search, UID SORT and one FETCH of the
page; for get_email, the structure/header FETCH and the text-part FETCH. Before
timing, one call of each is recorded in Dovecot's rawlog, so the table shows how
many IMAP commands ours and the floor sent (``cmds``) and bench.json lists them.

For the tools whose bare floor is under a millisecond (less than the MCP round
trip of a no-op), a second row ("vs bare + MCP") times the same call beside the
bare work followed by the minimal SDK server delivering the very same answer
(tests/perf/minimal_server.py's ``replay``): the floor of a tool served over MCP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
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
    commands_of,
    recording,
    timed_side_by_side,
)
from tests.perf.imap_floors import (
    PAGE,
    Imap,
    gather_thread,
    list_status,
    read_message,
    read_part,
    sent_between,
    sort_and_page,
    sort_everywhere,
)
from tests.perf.seed_mail import LANDMARKS, frequent_sender
from tests.servers.dovecot import DovecotServer

pytestmark = pytest.mark.anyio

SENDER = frequent_sender()
SLOW_ROUNDS = 15  # for the tools that search the whole mailbox, a second or more each


@dataclass(frozen=True)
class Case:
    """One tool call and its floor: the same server work over a bare, warm connection."""

    tool: str
    args: dict[str, Any]
    floor: Callable[[Imap], int]  # returns what it found (hits, parts), for a sanity check
    floor_is: str
    check: Callable[[Any, int], None]
    target: float | None = None
    # Selected before the floor is timed, as a warm client has it: Dovecot answers STATUS
    # of a selected folder from memory, of another by opening it anew (see test_bench_cache).
    folder: str = "INBOX"
    rounds: int = ROUNDS
    # Also timed beside the bare work plus the minimal SDK server delivering the same
    # answer: for the tools whose bare floor is below a millisecond, under the MCP round
    # trip itself, this shows what is ours.
    with_mcp_floor: bool = False


# -- sanity checks on our answers -----------------------------------------------------


def same_total(answer: Any, floor_hits: int) -> None:
    assert answer["total"] == floor_hits > 0
    assert len(answer["emails"]) == min(PAGE, floor_hits)


def folder_count(answer: Any, listed: int) -> None:
    assert len(answer["folders"]) == listed, listed


def has_body(answer: Any, text_bytes: int) -> None:
    assert answer["body"] and text_bytes > 0


def whole_thread(answer: Any, floor_hits: int) -> None:
    assert answer["total"] == LANDMARKS.thread_messages == floor_hits


def attachment_text(answer: Any, part_bytes: int) -> None:
    assert answer["text"].startswith("1. ") and 0 < answer["size"] <= part_bytes


# -- the benchmark --------------------------------------------------------------------


async def test_mail_tools_beside_their_floors(
    bench_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, bench_account: BenchAccount
) -> None:
    account = bench_account.account
    cold_env = {**bench_env, "MAILBOX_CACHE_EMAIL_TTL": "0"}
    with other_client(dovecot, account) as imap:
        imap.select_folder("INBOX", readonly=True)

        def newest(subject: str) -> int:
            return int(imap.sort(["DATE"], ["SUBJECT", subject])[-1])

        uids = {name: newest(name) for name in (LANDMARKS.typical, LANDMARKS.thread)}
        uids[LANDMARKS.text_attachment] = newest(LANDMARKS.text_attachment)
        newsletter_uid = int(imap.sort(["DATE"], ["FROM", LANDMARKS.newsletter_sender])[-1])

    async with mcp_session(cold_env, tmp_path / "ids.log") as session:

        async def newest_id(**args: Any) -> str:
            found = structured(await session.call_tool("search_emails", {**args, "limit": 1}))
            return str(found["emails"][0]["id"])

        typical = await newest_id(subject=LANDMARKS.typical)
        thread = await newest_id(subject=LANDMARKS.thread)
        minutes = await newest_id(subject=LANDMARKS.text_attachment)
        newsletter = await newest_id(sender=LANDMARKS.newsletter_sender)

    since, before = date(2025, 3, 1), date(2025, 3, 15)
    cases = {
        "get_folders": Case(
            "get_folders",
            {},
            list_status,
            "LIST-STATUS, answer not parsed",
            folder_count,
            with_mcp_floor=True,
        ),
        "search_emails sender (INBOX)": Case(
            "search_emails",
            {"sender": SENDER},
            sort_and_page(["FROM", SENDER]),
            "UID SORT DATE FROM + FETCH page",
            same_total,
            1.3,
        ),
        "search_emails subject (INBOX)": Case(
            "search_emails",
            {"subject": "contract"},
            sort_and_page(["SUBJECT", "contract"]),
            "UID SORT DATE SUBJECT + FETCH page",
            same_total,
            1.3,
        ),
        "search_emails date range, 2 weeks (INBOX)": Case(
            "search_emails",
            {"since": since.isoformat(), "before": before.isoformat()},
            sort_and_page(sent_between(since, before)),
            "UID SORT DATE SENTSINCE SENTBEFORE + FETCH page",
            same_total,
            1.3,
        ),
        "search_emails subject, all 26 folders": Case(
            "search_emails",
            {"folder": "*", "subject": "invoice"},
            sort_everywhere(["SUBJECT", "invoice"]),
            "LIST; per folder EXAMINE + SORT DATE + FETCH dates; FETCH page",
            same_total,
            rounds=SLOW_ROUNDS,
        ),
        "get_email typical": Case(
            "get_email",
            {"id": typical},
            read_message(uids[LANDMARKS.typical]),
            "FETCH BODYSTRUCTURE+HEADER, FETCH text part",
            has_body,
            1.3,
            with_mcp_floor=True,
        ),
        "get_email newsletter (HTML)": Case(
            "get_email",
            {"id": newsletter},
            read_message(newsletter_uid),
            "FETCH BODYSTRUCTURE+HEADER, FETCH HTML part",
            has_body,
            1.3,
            with_mcp_floor=True,
        ),
        "get_email_thread (6 messages, INBOX+Sent)": Case(
            "get_email_thread",
            {"id": thread},
            gather_thread(uids[LANDMARKS.thread]),
            "FETCH headers; per folder SEARCH HEADER ids + FETCH; FETCH excerpts",
            whole_thread,
            rounds=SLOW_ROUNDS,
        ),
        "get_attachment text": Case(
            "get_attachment",
            {"id": minutes, "part": "2"},
            read_part(uids[LANDMARKS.text_attachment], "2"),
            "FETCH BODYSTRUCTURE, FETCH part",
            attachment_text,
            with_mcp_floor=True,
        ),
    }

    recorded: dict[str, tuple[list[str], list[str]]] = {}
    # One call of each, recorded: what ours and the floor send. Not timed (rawlog writes).
    with recording(dovecot, account):
        async with mcp_session(cold_env, tmp_path / "recorded.log") as session:
            with other_client(dovecot, account) as imap:
                for name, case in cases.items():
                    imap.select_folder(case.folder, readonly=True)
                    floor_found = case.floor(imap)
                    case.check(
                        structured(await session.call_tool(case.tool, case.args)), floor_found
                    )
                    with commands_of(dovecot, account) as sent:
                        await session.call_tool(case.tool, case.args)
                    imap.select_folder(case.folder, readonly=True)
                    with commands_of(dovecot, account) as floor_sent:
                        case.floor(imap)
                    recorded[name] = (sent, floor_sent)

    async with mcp_session(cold_env, tmp_path / "timed.log") as session:
        with other_client(dovecot, account) as imap:
            for name, case in cases.items():

                async def our_call(case: Case = case) -> object:
                    return await session.call_tool(case.tool, case.args)

                async def floor_call(case: Case = case) -> int:
                    return case.floor(imap)

                imap.select_folder(case.folder, readonly=True)
                ours, floor = await timed_side_by_side(our_call, floor_call, case.rounds)
                REPORT.latency(name, ours, floor, floor=case.floor_is, target=case.target)
                REPORT.record_commands(name, *recorded[name])
                if not case.with_mcp_floor:
                    continue

                def bare_work(case: Case = case) -> int:
                    return case.floor(imap)

                imap.select_folder(case.folder, readonly=True)
                await beside_bare_work_and_delivery(
                    name,
                    session,
                    (case.tool, case.args),
                    bare_work,
                    floor_is=case.floor_is,
                    rounds=case.rounds,
                    target=case.target,
                )
