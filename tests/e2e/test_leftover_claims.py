"""Claim keywords left behind by a call that died (a killed worker) lock nothing for good:
the next delete or send waits them out and goes ahead; a draft that may have been sent
is still never sent again."""

from __future__ import annotations

from typing import Any

import pytest

from tests.mail_factory import message
from tests.mailbox import Mailbox
from tests.mcp_client import error_text, structured
from tests.servers.smtp import SmtpServer

pytestmark = [pytest.mark.anyio, pytest.mark.tool_families("mail")]

MOVING = "$MailboxMcpMoving"
SENDING = "$MailboxMcpSending"


async def only_email(session: Any, folder: str) -> dict[str, Any]:
    (found,) = structured(await session.call_tool("search_emails", {"folder": folder}))["emails"]
    return dict(found)


def flags_in(mailbox: Mailbox, folder: str) -> list[set[str]]:
    with mailbox.imap() as imap:
        imap.select_folder(folder, readonly=True)
        data = imap.fetch(imap.search(), ["FLAGS"])
    return [{bytes(f).decode().lower() for f in item[b"FLAGS"]} for item in data.values()]


async def test_a_message_with_a_leftover_move_claim_can_be_deleted(mailbox: Mailbox) -> None:
    mailbox.deliver("INBOX", message("Stuck"), flags=(MOVING,))
    async with mailbox.session() as session:
        stuck = await only_email(session, "INBOX")
        answer = structured(await session.call_tool("delete_email", {"ids": [stuck["id"]]}))
    assert answer["deleted"] == [stuck["id"]], answer
    assert flags_in(mailbox, "INBOX") == []
    assert [MOVING.lower() in f for f in flags_in(mailbox, "Trash")] == [False]


async def test_a_draft_with_a_leftover_move_claim_is_sent_once(
    mailbox: Mailbox, smtp: SmtpServer
) -> None:
    draft = message("Left mid-move", to=mailbox.account.email)
    mailbox.deliver("Drafts", draft, flags=("\\Draft", MOVING))
    async with mailbox.session() as session:
        found = await only_email(session, "Drafts")
        sent = await session.call_tool("send_draft", {"id": found["id"]})
        assert not sent.is_error, sent
    assert sum(1 for d in smtp.received if b"Subject: Left mid-move" in d.data) == 1
    assert flags_in(mailbox, "Drafts") == []


async def test_a_draft_that_may_have_been_sent_is_refused_but_can_be_deleted(
    mailbox: Mailbox, smtp: SmtpServer
) -> None:
    draft = message("Maybe out", to=mailbox.account.email)
    mailbox.deliver("Drafts", draft, flags=("\\Draft", SENDING))
    before = len(smtp.received)
    async with mailbox.session() as session:
        found = await only_email(session, "Drafts")
        refused = error_text(await session.call_tool("send_draft", {"id": found["id"]}))
        deleted = structured(await session.call_tool("delete_email", {"ids": [found["id"]]}))
    assert "Sent" in refused, refused
    assert len(smtp.received) == before
    assert deleted["deleted"] == [found["id"]], deleted
    # It keeps its mark in Trash: moved back to Drafts, it is still never sent again.
    assert [SENDING.lower() in f for f in flags_in(mailbox, "Trash")] == [True]
