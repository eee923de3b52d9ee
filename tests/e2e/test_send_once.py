"""Writes that must happen once, under misuse: send_draft given a message that is not a
draft, send_draft called in parallel or twice, and parallel moves of one message."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from tests.imap_client import other_client
from tests.mail_factory import deliver, message
from tests.mailbox import Mailbox
from tests.mcp_client import error_text, mcp_session, structured, text_of
from tests.server_env import Shared, module_server
from tests.servers.dovecot import Account, DovecotServer
from tests.servers.ports import free_port
from tests.servers.smtp import SmtpServer

FAMILIES = ("mail",)
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]


async def call(session: Any, tool: str, **args: Any) -> Any:
    return structured(await session.call_tool(tool, args))


async def emails(session: Any, folder: str = "INBOX") -> list[dict[str, Any]]:
    return list((await call(session, "search_emails", folder=folder))["emails"])


def subjects_in(dovecot: DovecotServer, account: Account, folder: str) -> list[str]:
    with other_client(dovecot, account) as imap:
        imap.select_folder(folder, readonly=True)
        data = imap.fetch(imap.search(), ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
    return sorted(
        item[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().partition(":")[2].strip()
        for item in data.values()
    )


def deliveries(smtp: SmtpServer, subject: str) -> int:
    return sum(1 for d in smtp.received if f"Subject: {subject}".encode() in d.data)


def one_message_in_each_folder(dovecot: DovecotServer, account: Account) -> None:
    """Old news read in INBOX, Sent and Archive; Filed here in Drafts, not flagged a draft."""
    with other_client(dovecot, account) as imap:
        for folder in ("INBOX", "Sent", "Archive"):
            deliver(imap, folder, message("Old news", to="ben@example.test"), flags=("\\Seen",))
        deliver(imap, "Drafts", message("Filed here", to="ben@example.test"))


refusing = module_server(one_message_in_each_folder, FAMILIES)
"""One server for the calls that must be refused (or change nothing) on the messages
of one_message_in_each_folder."""


@pytest.mark.parametrize("folder", ["INBOX", "Sent", "Archive"])
async def test_send_draft_refuses_a_message_outside_drafts_and_keeps_it(
    folder: str, refusing: Shared, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    before = len(smtp.received)
    (original,) = await emails(refusing.session, folder)
    text = error_text(await refusing.session.call_tool("send_draft", {"id": original["id"]}))
    assert "Drafts" in text and text.startswith("Nothing was sent"), text
    assert len(smtp.received) == before
    assert subjects_in(dovecot, refusing.account, folder) == ["Old news"]


async def test_send_draft_refuses_a_message_in_drafts_without_the_draft_flag(
    refusing: Shared, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    before = len(smtp.received)
    (filed,) = await emails(refusing.session, "Drafts")
    text = error_text(await refusing.session.call_tool("send_draft", {"id": filed["id"]}))
    assert "draft" in text.lower() and text.startswith("Nothing was sent"), text
    assert len(smtp.received) == before
    assert subjects_in(dovecot, refusing.account, "Drafts") == ["Filed here"]


async def test_parallel_send_draft_calls_send_the_draft_exactly_once(
    mailbox: Mailbox, smtp: SmtpServer
) -> None:
    answers: list[Any] = []
    async with mailbox.session() as session:
        draft = await call(
            session, "create_draft", to=[mailbox.account.email], subject="Once only", body="x"
        )

        async def send() -> None:
            answers.append(await session.call_tool("send_draft", {"id": draft["id"]}))

        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(send)
    succeeded = [a for a in answers if not a.is_error]
    refused = [text_of(a) for a in answers if a.is_error]
    assert len(succeeded) == 1, [text_of(a) for a in answers]
    assert deliveries(smtp, "Once only") == 1
    for text in refused:
        assert "already" in text and "Sent" in text, text
    assert subjects_in(mailbox.dovecot, mailbox.account, "Drafts") == []
    assert subjects_in(mailbox.dovecot, mailbox.account, "Sent") == ["Once only"]


async def test_a_sent_draft_is_removed_even_when_permanent_delete_is_off_and_not_sent_again(
    mailbox: Mailbox, smtp: SmtpServer
) -> None:
    mailbox.env["MAILBOX_ALLOW_PERMANENT_DELETE"] = "0"
    async with mailbox.session() as session:
        draft = await call(
            session, "create_draft", to=[mailbox.account.email], subject="Just one", body="x"
        )
        sent = await call(session, "send_draft", id=draft["id"])
        again = error_text(await session.call_tool("send_draft", {"id": draft["id"]}))
    assert sent["notes"] == [], sent["notes"]
    assert deliveries(smtp, "Just one") == 1
    assert "Sent" in again, again
    assert subjects_in(mailbox.dovecot, mailbox.account, "Drafts") == []


async def test_parallel_moves_of_one_message_leave_it_in_exactly_one_folder(
    mailbox: Mailbox,
) -> None:
    tries = 6
    with mailbox.imap() as imap:
        for name in ("Left", "Right"):
            imap.create_folder(name)
        for n in range(tries):
            deliver(imap, "INBOX", message(f"Contested {n}"))
    async with mailbox.session() as session:
        for summary in await emails(session):
            answers: list[Any] = []

            async def move(destination: str, email_id: str, into: list[Any]) -> None:
                args = {"ids": [email_id], "destination": destination}
                into.append(await session.call_tool("move_email", args))

            async with anyio.create_task_group() as tg:
                tg.start_soon(move, "Left", summary["id"], answers)
                tg.start_soon(move, "Right", summary["id"], answers)
            moved = [structured(a)["moved"] for a in answers]
            assert sum(len(m) for m in moved) == 1, [text_of(a) for a in answers]
    left = subjects_in(mailbox.dovecot, mailbox.account, "Left")
    right = subjects_in(mailbox.dovecot, mailbox.account, "Right")
    assert sorted(left + right) == sorted(f"Contested {n}" for n in range(tries))
    assert subjects_in(mailbox.dovecot, mailbox.account, "INBOX") == []


async def test_two_servers_sending_one_draft_at_once_send_it_once(
    mailbox: Mailbox, smtp: SmtpServer
) -> None:
    """Two Claude Desktop windows (two server processes): the claim is decided by the
    IMAP server, not by a lock inside one process."""
    answers: list[Any] = []
    async with (
        mcp_session(mailbox.env, mailbox.folder / "one.log") as one,
        mcp_session(mailbox.env, mailbox.folder / "two.log") as two,
    ):
        draft = await call(
            one, "create_draft", to=[mailbox.account.email], subject="Shared", body="x"
        )
        await emails(two, "Drafts")  # both servers logged in and warm

        async def send(session: Any) -> None:
            answers.append(await session.call_tool("send_draft", {"id": draft["id"]}))

        async with anyio.create_task_group() as tg:
            for session in (one, two, one, two):
                tg.start_soon(send, session)
    assert sum(1 for a in answers if not a.is_error) == 1, [text_of(a) for a in answers]
    assert deliveries(smtp, "Shared") == 1
    assert subjects_in(mailbox.dovecot, mailbox.account, "Sent") == ["Shared"]


async def test_moving_into_a_folder_that_holds_only_folders_is_refused_and_nothing_moves(
    mailbox: Mailbox,
) -> None:
    with mailbox.imap() as imap:
        delimiter = imap.namespace().personal[0][1] or "/"
        imap.create_folder(f"Projects{delimiter}Garden")
        deliver(imap, "INBOX", message("Seeds"))
        flags = {name: f for f, _d, name in imap.list_folders()}
    assert b"\\Noselect" in flags["Projects"] or b"\\NoSelect" in flags["Projects"]
    async with mailbox.session() as session:
        (seeds,) = await emails(session)
        answer = await session.call_tool(
            "move_email", {"ids": [seeds["id"]], "destination": "Projects"}
        )
    text = error_text(answer)
    assert text.startswith("Nothing was moved") and "Projects/Garden" in text, text
    assert "b'" not in text and "[" not in text, text
    assert subjects_in(mailbox.dovecot, mailbox.account, "INBOX") == ["Seeds"]


async def test_a_message_sent_while_imap_is_down_is_reported_sent_without_contradiction(
    mailbox: Mailbox, smtp: SmtpServer
) -> None:
    mailbox.env["MAILBOX_IMAP_PORT"] = str(free_port())
    before = len(smtp.received)
    async with mailbox.session() as session:
        # A failed read first, so the server is known to be unreachable.
        assert (await session.call_tool("get_folders", {})).is_error
        sent = await call(
            session, "send_email", to=[mailbox.account.email], subject="Out", body="x"
        )
    assert len(smtp.received) == before + 1
    assert sent["saved_to_sent"] is False
    (note,) = sent["notes"]
    assert "was sent" in note and "could not be reached" in note, note
    assert "Nothing was" not in note and "not changed" not in note.lower(), note


@pytest.mark.parametrize("second", ["move_email", "delete_email", "erase"])
async def test_two_servers_moving_or_deleting_one_message_at_once_leave_exactly_one_copy(
    mailbox: Mailbox, second: str
) -> None:
    tries = 6
    with mailbox.imap() as imap:
        imap.create_folder("Left")
        for n in range(tries):
            deliver(imap, "INBOX", message(f"C{n}"))
    calls = {
        "move_email": ("move_email", {"destination": "Left"}),
        "delete_email": ("delete_email", {}),
        "erase": ("delete_email", {"permanent": True}),
    }
    async with (
        mcp_session(mailbox.env, mailbox.folder / "one.log") as one,
        mcp_session(mailbox.env, mailbox.folder / "two.log") as two,
    ):
        found = await emails(one)
        await emails(two)
        for summary in found:
            answers: list[Any] = []

            async def run(session: Any, tool: str, args: dict[str, Any], into: list[Any]) -> None:
                into.append(await session.call_tool(tool, args))

            tool, extra = calls[second]
            async with anyio.create_task_group() as tg:
                tg.start_soon(
                    run, one, "move_email", {"ids": [summary["id"]], "destination": "Left"}, answers
                )
                tg.start_soon(run, two, tool, {"ids": [summary["id"]], **extra}, answers)
            done = [structured(a) for a in answers]
            claimed = [len(d.get("moved", d.get("deleted", []))) for d in done]
            assert sum(claimed) == 1, [text_of(a) for a in answers]
    everywhere = [
        *subjects_in(mailbox.dovecot, mailbox.account, "Left"),
        *subjects_in(mailbox.dovecot, mailbox.account, "Trash"),
    ]
    expected = sorted(f"C{n}" for n in range(tries))
    if second == "erase":
        assert sorted(everywhere) == sorted(set(everywhere)) and set(everywhere) <= set(expected)
    else:
        assert sorted(everywhere) == expected
    assert subjects_in(mailbox.dovecot, mailbox.account, "INBOX") == []


async def test_flags_changed_while_a_draft_is_claimed_do_not_look_like_a_second_send(
    mailbox: Mailbox, smtp: SmtpServer
) -> None:
    async with mailbox.session() as session:
        for n in range(4):
            draft = await call(
                session, "create_draft", to=[mailbox.account.email], subject=f"MS{n}", body="x"
            )
            answers: list[Any] = []

            async def send(draft_id: str, into: list[Any]) -> None:
                into.append(await session.call_tool("send_draft", {"id": draft_id}))

            async def mark(draft_id: str, k: int) -> None:
                args = {"ids": [draft_id], "read": bool(k % 2), "flagged": bool(k % 3)}
                await session.call_tool("mark_email", args)

            async with anyio.create_task_group() as tg:
                for k in range(4):
                    tg.start_soon(mark, draft["id"], k)
                tg.start_soon(send, draft["id"], answers)
                for k in range(4):
                    tg.start_soon(mark, draft["id"], k)
            assert not answers[0].is_error, text_of(answers[0])
            assert deliveries(smtp, f"MS{n}") == 1


async def test_a_message_that_does_not_exist_is_not_reported_moved_into_its_own_folder(
    refusing: Shared, dovecot: DovecotServer
) -> None:
    (here,) = await emails(refusing.session)
    fake = here["id"].rsplit(".", 1)[0] + ".999"
    result = await call(refusing.session, "move_email", ids=[fake, here["id"]], destination="INBOX")
    assert [m["id"] for m in result["moved"]] == [here["id"]]
    assert result["not_moved"] == [fake]
    assert subjects_in(dovecot, refusing.account, "INBOX") == ["Old news"]


async def test_moving_from_a_folder_that_does_not_exist_says_so(refusing: Shared) -> None:
    session = refusing.session
    result = await call(session, "move_email", ids=["Nope#1.1"], destination="Trash")
    marked = await call(session, "mark_email", ids=["Nope#1.1"], read=True)
    erased = await call(session, "delete_email", ids=["Nope#1.1"], permanent=True)
    assert result["moved"] == [] and result["not_moved"] == ["Nope#1.1"]
    assert result["notes"] == ["There is no folder named 'Nope'; get_folders lists the folders."]
    assert marked["not_found"] == ["Nope#1.1"] and erased["not_found"] == ["Nope#1.1"]


async def test_an_smtp_server_that_cannot_be_reached_is_described_in_our_words(
    mailbox: Mailbox,
) -> None:
    mailbox.env["MAILBOX_SMTP_PORT"] = str(free_port())
    async with mailbox.session() as session:
        text = error_text(
            await session.call_tool("send_email", {"to": [mailbox.account.email], "body": "x"})
        )
    assert "nothing accepted the connection on that port" in text, text
    assert "Errno" not in text and "Error connecting" not in text, text
