"""respond_to_invitation where the server's configuration decides: without the calendar
tools, outside MAILBOX_SEND_ALLOW, in read-only mode, and for an alias the CalDAV
principal lists. Each test starts a server of its own."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.calendar_calls import call, events
from tests.imap_client import other_client
from tests.invitation_mail import Invitation, attendees, outlook_mail, ox_mail, replies, reply_event
from tests.mail_factory import deliver
from tests.mailbox import Mailbox
from tests.mcp_client import error_text, mcp_session, structured, text_of
from tests.server_env import Servers, Shared, module_server
from tests.servers.dav import DavAccount
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp import SmtpServer

FAMILIES = ("mail", "calendar")
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]


def an_outlook_invitation(dovecot: DovecotServer, account: Any) -> None:
    with other_client(dovecot, account) as imap:
        inv = Invitation.__new__(Invitation)
        inv.uid, inv.organizer, inv.me = (
            "mail-only@example.test",
            "olga@example.test",
            account.email,
        )
        raw = outlook_mail(inv, inv.ics("outlook-request.ics"), "Invitation: Budget review")
        deliver(imap, "INBOX", raw)


mail_only = module_server(an_outlook_invitation, ("mail",))
"""A server without the calendar tools."""


@pytest.mark.tool_families("mail")
async def test_without_the_calendar_tools_get_email_says_nothing_about_conflicts(
    mail_only: Shared,
) -> None:
    (found,) = (await call(mail_only.session, "search_emails"))["emails"]
    text = text_of(await mail_only.session.call_tool("get_email", {"id": found["id"]}))
    assert "Invitation (METHOD:REQUEST):" in text and "\nTitle: Budget review\n" in text
    assert "Conflicts" not in text
    tools = {t.name for t in (await mail_only.session.list_tools()).tools}
    assert "respond_to_invitation" not in tools and "get_email" in tools


async def test_a_reply_outside_mailbox_send_allow_is_not_sent_and_changes_nothing(
    mailbox: Mailbox, smtp: SmtpServer
) -> None:
    mailbox.env["MAILBOX_SEND_ALLOW"] = "colleagues.example"
    organizer = f"olga-{uuid.uuid4().hex[:8]}@example.test"
    inv = Invitation(me=mailbox.account.email)
    inv.organizer = organizer
    subject = "Invitation: Design review"
    ics = inv.ics("ox-request.ics", SEQUENCE="0", SUMMARY="Design review")
    mailbox.deliver("INBOX", ox_mail(inv, ics, subject))
    async with mailbox.session() as session:
        (found,) = (await call(session, "search_emails"))["emails"]
        args = {"email_id": found["id"], "response": "accept"}
        first = error_text(await session.call_tool("respond_to_invitation", args))
        assert first.startswith("Nothing was sent") and "MAILBOX_SEND_ALLOW" in first, first
        # The answer was not marked as sent: once allowed, it would go out.
        again = error_text(await session.call_tool("respond_to_invitation", args))
        assert "MAILBOX_SEND_ALLOW" in again, again
        assert await events(session, "2027-03-11", "2027-03-11") == []
    assert smtp.messages_for(organizer) == []


async def test_read_only_mode_does_not_offer_respond_to_invitation(mailbox: Mailbox) -> None:
    mailbox.env["MAILBOX_READ_ONLY"] = "1"
    async with mailbox.session() as session:
        tools = {t.name for t in (await session.list_tools()).tools}
        refused = error_text(
            await session.call_tool(
                "respond_to_invitation", {"email_id": "INBOX#1.1", "response": "accept"}
            )
        )
    assert "respond_to_invitation" not in tools and "get_email" in tools
    assert "respond_to_invitation" in refused, refused


ADDRESSES = """<?xml version="1.0" encoding="utf-8"?>
<d:propertyupdate xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop>
<c:calendar-user-address-set><d:href>mailto:{me}</d:href><d:href>mailto:{alias}</d:href>
</c:calendar-user-address-set></d:prop></d:set></d:propertyupdate>"""


async def test_an_invitation_to_an_alias_the_principal_lists_is_answered_as_the_user(
    servers: Servers, dovecot: DovecotServer, smtp: SmtpServer, tmp_path: Path
) -> None:
    # Xandikos keeps calendar-user-address-set as set (RFC 6638: the user's addresses);
    # Radicale gives only its own path there.
    account, dav = servers.new_account(), servers.dav["xandikos"]
    env = servers.env(account, tmp_path, FAMILIES, "xandikos")
    alias = f"alias-{uuid.uuid4().hex[:8]}@example.test"
    login = DavAccount(account.email, account.password, dav.url)
    status, body = dav.request(
        login, "PROPPATCH", f"/{account.email}/", ADDRESSES.format(me=account.email, alias=alias)
    )
    assert status == 207 and b"200" in body, (status, body[:300])
    inv = Invitation(me=alias)
    subject = "Invitation: Alias review"
    with other_client(dovecot, account) as imap:
        deliver(
            imap,
            "INBOX",
            ox_mail(inv, inv.ics("ox-request.ics", SEQUENCE="0", SUMMARY="Alias review"), subject),
        )
    async with mcp_session(env, tmp_path / "err.log") as session:
        (found,) = (await call(session, "search_emails"))["emails"]
        answer = structured(
            await session.call_tool(
                "respond_to_invitation", {"email_id": found["id"], "response": "accept"}
            )
        )
    assert answer["reply_sent"] is True
    (mail,) = replies(smtp, inv)
    (me,) = attendees(reply_event(mail)[1])
    assert str(me).lower() == f"mailto:{alias}" and me.params["PARTSTAT"] == "ACCEPTED"
