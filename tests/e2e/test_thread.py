"""get_email_thread through a real MCP client against Dovecot."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.imap_client import other_client
from tests.mail_factory import BASE_TIME, deliver, message
from tests.mcp_client import error_text, mcp_session, structured
from tests.server_env import Shared, module_server
from tests.servers.dovecot import Account, DovecotServer

FAMILIES = ("mail",)
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]

ROOT, R1, R2, R3 = "<root@a.test>", "<r1@me.test>", "<r2@a.test>", "<r3@me.test>"
STEPS = [f"<m{n}@a.test>" for n in range(6)]


def reply(
    subject: str, mid: str, parent: str | None, refs: list[str], hours: int, **kw: Any
) -> Any:
    headers = {}
    if parent:
        headers["In-Reply-To"] = parent
    if refs:
        headers["References"] = " ".join(refs)
    return message(
        subject, message_id=mid, headers=headers, sent=BASE_TIME + timedelta(hours=hours), **kw
    )


def threads(dovecot: DovecotServer, account: Account) -> None:
    """A conversation over INBOX, Sent and Archive, and beside it, in folders of their own:
    Alone (a message without references, and another), Steps (a thread of six)."""
    with other_client(dovecot, account) as imap:
        deliver(imap, "INBOX", reply("Budget", ROOT, None, [], 0, body="Can we cut 10%?"))
        sent_reply = reply(
            "Re: Budget",
            R1,
            ROOT,
            [ROOT],
            1,
            sender="Me <you@example.test>",
            body="Yes, from travel.\n\n> Can we cut 10%?",
        )
        deliver(imap, "Sent", sent_reply)
        deliver(imap, "Archive", sent_reply)  # the same message filed twice
        deliver(imap, "INBOX", reply("Re: Budget", R2, R1, [ROOT, R1], 2, body="Great, thanks."))
        # A reply whose client wrote only In-Reply-To.
        deliver(imap, "Sent", reply("Re: Budget", R3, R2, [], 3, body="Done."))
        deliver(imap, "INBOX", message("Unrelated", body="Lunch?"))
        for folder in ("Alone", "Steps"):
            imap.create_folder(folder)
        deliver(imap, "Alone", message("Alone", body="Just me."))
        deliver(imap, "Alone", message("Other", body="Someone else."))
        for n, mid in enumerate(STEPS):
            parent = STEPS[n - 1] if n else None
            deliver(imap, "Steps", reply(f"Step {n}", mid, parent, STEPS[:n], n))


reading = module_server(threads, FAMILIES)
"""One server for the tests that only read the ``threads`` (or are refused)."""


async def ids_in(session: Any, folder: str) -> list[str]:
    result = structured(await session.call_tool("search_emails", {"folder": folder}))
    return [e["id"] for e in result["emails"]]


async def test_a_thread_spanning_inbox_and_sent_comes_back_once_each_oldest_first(
    reading: Shared,
) -> None:
    inbox = await ids_in(reading.session, "INBOX")
    # Start from the middle of the conversation.
    middle = next(i for i in inbox if i.endswith(".2"))  # r2
    thread = structured(await reading.session.call_tool("get_email_thread", {"id": middle}))
    ids = [m["message_id"] for m in thread["messages"]]
    assert ids == [ROOT, R1, R2, R3]
    assert thread["total"] == 4
    assert [m["folder"] for m in thread["messages"]] == ["INBOX", "Sent", "INBOX", "Sent"]
    assert thread["messages"][1]["excerpt"] == "Yes, from travel."
    assert thread["messages"][0]["from"] == "Anna Berg <anna@example.test>"
    assert set(thread["searched"]) == {"INBOX", "Sent", "Archive"}


async def test_a_message_without_references_is_a_thread_of_its_own(reading: Shared) -> None:
    first = next(i for i in await ids_in(reading.session, "Alone") if i.endswith(".1"))
    thread = structured(await reading.session.call_tool("get_email_thread", {"id": first}))
    assert [m["subject"] for m in thread["messages"]] == ["Alone"]
    assert thread["messages"][0]["excerpt"] == "Just me."


async def test_limit_keeps_the_newest_messages_of_a_long_thread(reading: Shared) -> None:
    last = (await ids_in(reading.session, "Steps"))[0]
    args = {"id": last, "limit": 2}
    thread = structured(await reading.session.call_tool("get_email_thread", args))
    assert thread["total"] == 6
    assert [m["message_id"] for m in thread["messages"]] == STEPS[-2:]


async def test_a_thread_answer_is_cached_until_a_reply_arrives(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    root = "<start@a.test>"
    with other_client(dovecot, account) as imap:
        deliver(imap, "INBOX", reply("Plan", root, None, [], 0))
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        (first,) = await ids_in(session, "INBOX")
        before = structured(await session.call_tool("get_email_thread", {"id": first}))
        with other_client(dovecot, account) as imap:
            deliver(imap, "Sent", reply("Re: Plan", "<answer@me.test>", root, [root], 1))
        after = structured(await session.call_tool("get_email_thread", {"id": first}))
    assert before["total"] == 1
    assert [m["message_id"] for m in after["messages"]] == [root, "<answer@me.test>"]


async def test_a_stale_id_gets_a_clear_error(reading: Shared) -> None:
    result = await reading.session.call_tool("get_email_thread", {"id": "INBOX#1.99"})
    assert result.is_error
    assert "search again" in error_text(result)


async def test_an_id_whose_message_never_existed_is_not_said_to_have_gone(
    reading: Shared, dovecot: DovecotServer
) -> None:
    with other_client(dovecot, reading.account) as imap:
        uidvalidity = imap.folder_status("INBOX", ["UIDVALIDITY"])[b"UIDVALIDITY"]
    made_up = f"INBOX#{uidvalidity}.999"
    result = await reading.session.call_tool("get_email_thread", {"id": made_up})
    assert result.is_error
    assert error_text(result) == (
        "There is no email with that id in INBOX; use an id exactly as search_emails returned it."
    )


async def test_an_id_in_a_folder_that_does_not_exist_gets_a_clear_error(reading: Shared) -> None:
    result = await reading.session.call_tool("get_email_thread", {"id": "Nowhere#1.1"})
    assert result.is_error
    assert error_text(result) == (
        "There is no folder named 'Nowhere'; get_folders lists the folders."
    )
