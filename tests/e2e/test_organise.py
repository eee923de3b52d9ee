"""move_email, mark_email and delete_email through a real MCP client against Dovecot."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.mail_factory import BASE_TIME, deliver, message
from tests.mailbox import Mailbox
from tests.mcp_client import error_text, mcp_session, structured

pytestmark = [pytest.mark.anyio, pytest.mark.tool_families("mail")]


async def call(session: Any, tool: str, **args: Any) -> Any:
    return structured(await session.call_tool(tool, args))


async def emails(session: Any, folder: str = "INBOX") -> list[dict[str, Any]]:
    return list((await call(session, "search_emails", folder=folder, limit=200))["emails"])


def fill(mailbox: Mailbox, folder: str, *subjects: str) -> None:
    with mailbox.imap() as imap:
        if not imap.folder_exists(folder):
            imap.create_folder(folder)
        for subject in subjects:
            deliver(imap, folder, message(subject))


async def test_many_emails_move_in_one_call_and_get_new_working_ids(mailbox: Mailbox) -> None:
    fill(mailbox, "INBOX", "one", "two", "three")
    fill(mailbox, "Projects/Budget")
    async with mailbox.session() as session:
        ids = [e["id"] for e in await emails(session)]
        moved = await call(session, "move_email", ids=ids[:2], destination="Projects/Budget")
        new_ids = [m["new_id"] for m in moved["moved"]]
        readable = [await call(session, "get_email", id=new) for new in new_ids]
        old = await session.call_tool("get_email", {"id": ids[0]})
        left = await emails(session)
    assert sorted(m["id"] for m in moved["moved"]) == sorted(ids[:2])
    assert all(n.startswith("Projects/Budget#") for n in new_ids)
    assert sorted(r["subject"] for r in readable) == sorted(["two", "three"])
    assert "no longer in INBOX" in error_text(old)
    assert [e["subject"] for e in left] == ["one"]


async def test_moving_to_a_missing_folder_is_a_clear_error_and_moves_nothing(
    mailbox: Mailbox,
) -> None:
    fill(mailbox, "INBOX", "stay")
    async with mailbox.session() as session:
        (only,) = await emails(session)
        result = await session.call_tool("move_email", {"ids": [only["id"]], "destination": "Nope"})
        still = await emails(session)
    assert "no folder named 'Nope'" in error_text(result)
    assert [e["id"] for e in still] == [only["id"]]


async def test_a_stale_id_in_a_move_is_reported_not_moved(mailbox: Mailbox) -> None:
    fill(mailbox, "INBOX", "real")
    async with mailbox.session() as session:
        (real,) = await emails(session)
        ghost = real["id"].rsplit(".", 1)[0] + ".999"
        moved = await call(session, "move_email", ids=[real["id"], ghost], destination="Archive")
    assert [m["id"] for m in moved["moved"]] == [real["id"]]
    assert moved["not_moved"] == [ghost]


async def test_flags_are_set_and_cleared_as_asked(mailbox: Mailbox) -> None:
    fill(mailbox, "INBOX", "a", "b")
    async with mailbox.session() as session:
        ids = [e["id"] for e in await emails(session)]
        await call(session, "mark_email", ids=ids, read=True, flagged=True)
        both = {e["id"]: e["flags"] for e in await emails(session)}
        await call(session, "mark_email", ids=ids[:1], flagged=False, answered=True)
        after = {e["id"]: e["flags"] for e in await emails(session)}
        unread = await call(session, "search_emails", unread=True)
    assert all(set(f) >= {"seen", "flagged"} for f in both.values())
    assert set(after[ids[0]]) == {"seen", "answered"}
    assert set(after[ids[1]]) == {"seen", "flagged"}
    assert unread["total"] == 0


async def test_mark_email_without_a_change_is_refused(mailbox: Mailbox) -> None:
    async with mailbox.session() as session:
        result = await session.call_tool("mark_email", {"ids": ["INBOX#1.1"]})
    assert "Say what to change" in error_text(result)


async def test_delete_moves_to_trash_and_deleting_in_trash_erases(mailbox: Mailbox) -> None:
    fill(mailbox, "INBOX", "unwanted")
    async with mailbox.session() as session:
        (doomed,) = await emails(session)
        first = await call(session, "delete_email", ids=[doomed["id"]])
        (in_trash,) = await emails(session, "Trash")
        second = await call(session, "delete_email", ids=[in_trash["id"]])
        trash_after = await emails(session, "Trash")
    assert first["deleted"] == [doomed["id"]]
    assert first["moved_to_trash"][0]["new_id"] == in_trash["id"]
    assert second["deleted"] == [in_trash["id"]] and second["moved_to_trash"] == []
    assert trash_after == []


async def test_permanent_delete_erases_exactly_the_given_messages(mailbox: Mailbox) -> None:
    fill(mailbox, "INBOX", "erase me", "marked elsewhere", "keep")
    with mailbox.imap() as imap:
        imap.select_folder("INBOX")
        # Another client marked this one deleted but has not expunged: not ours to erase.
        imap.add_flags([2], [b"\\Deleted"])
    async with mailbox.session() as session:
        by_subject = {e["subject"]: e["id"] for e in await emails(session)}
        result = await call(session, "delete_email", ids=[by_subject["erase me"]], permanent=True)
        left = sorted(e["subject"] for e in await emails(session))
        trash = await emails(session, "Trash")
    assert result["deleted"] == [by_subject["erase me"]]
    assert left == ["keep", "marked elsewhere"] and trash == []


async def test_a_write_forgets_only_the_cached_answers_of_the_folders_it_changed(
    mailbox: Mailbox,
) -> None:
    fill(mailbox, "INBOX", "inbox mail")
    fill(mailbox, "Archive", "archived mail")
    mailbox.env["MAILBOX_LOG_FORMAT"] = "json"
    log = mailbox.folder / "err.log"
    async with mcp_session(mailbox.env, log) as session:
        await emails(session, "INBOX")
        (archived,) = await emails(session, "Archive")
        await call(session, "mark_email", ids=[archived["id"]], flagged=True)
        await emails(session, "INBOX")
        (again,) = await emails(session, "Archive")
    done = [
        json.loads(line)
        for line in log.read_text().splitlines()
        if line.startswith("{") and '"tool.done"' in line and "search_emails" in line
    ]
    assert [d["cached"] for d in done] == [False, False, True, False]
    assert "flagged" in again["flags"]


async def test_a_bulk_move_reports_progress_batch_by_batch(mailbox: Mailbox) -> None:
    raw = [(message(f"Bulk {i}").as_bytes(), BASE_TIME) for i in range(450)]
    mailbox.dovecot.seed_maildir(mailbox.account, "INBOX", raw)
    with mailbox.imap() as imap:
        validity = imap.select_folder("INBOX", readonly=True)[b"UIDVALIDITY"]
        ids = [f"INBOX#{validity}.{uid}" for uid in imap.search("ALL")]
    reports: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, text: str | None) -> None:
        reports.append((done, total, text))

    async with mailbox.session() as session:
        result = await session.call_tool(
            "move_email", {"ids": ids, "destination": "Archive"}, progress_callback=on_progress
        )
    assert len(structured(result)["moved"]) == 450
    assert [(done, total) for done, total, _ in reports] == [(250, 450), (450, 450)]
    assert reports[-1][2] == "450 of 450 messages"
