"""respond_to_invitation and get_email's invitation lines, end to end: invitations built
the way Outlook, Google and OX send them are delivered into Dovecot; the REPLY the SMTP
fixture records is taken apart; the calendar is read back. On Radicale and Xandikos.

Every test answers its own invitation (its own UID and organizer address) on one shared
server per CalDAV server, so what one test sends or places is never seen by another.
"""

from __future__ import annotations

import email
import uuid
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import anyio
import pytest
from icalendar import Calendar

from tests.calendar_calls import call, events
from tests.imap_client import other_client
from tests.mail_factory import deliver, message
from tests.mcp_client import error_text, mcp_session, structured, text_of
from tests.server_env import Servers, Shared, module_calendar_server, module_server
from tests.servers.dav import DavAccount
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp import SmtpServer

FAMILIES = ("mail", "calendar")
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]
DATA = Path(__file__).resolve().parents[1] / "data" / "invitations"

served = module_calendar_server(None, FAMILIES)
"""One server per CalDAV server; each test answers invitations of its own."""


class Invitation:
    """One invitation of a test: its UID, organizer and what is filled into the templates."""

    def __init__(self, shared: Shared) -> None:
        token = uuid.uuid4().hex[:10]
        self.uid = f"inv-{token}@example.test"
        self.organizer = f"olga-{token}@example.test"
        self.me = shared.account.email
        self.token = token

    def ics(self, template: str, **fields: str) -> str:
        text = (DATA / template).read_text()
        values = {"UID": self.uid, "ORGANIZER": self.organizer, "ME": self.me, **fields}
        for name, value in values.items():
            text = text.replace("{" + name + "}", value)
        return text.replace("\r\n", "\n").replace("\n", "\r\n")


def outlook_mail(inv: Invitation, ics: str, subject: str) -> bytes:
    """Outlook: multipart/alternative of text, HTML and the invitation (base64)."""
    root = MIMEMultipart("alternative")
    root.attach(MIMEText("When: Wednesday, 10 March 2027\n", "plain", "utf-8"))
    root.attach(MIMEText("<p>When: Wednesday, 10 March 2027</p>", "html", "utf-8"))
    part = MIMEText(ics, "calendar", "utf-8")
    part.set_param("method", "REQUEST")
    root.attach(part)
    return _headers(root, inv, subject)


def google_mail(inv: Invitation, ics: str, subject: str) -> bytes:
    """Google: mixed of (text, HTML, invitation) and the same as invite.ics."""
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText("Weekly planning\n", "plain", "utf-8"))
    alternative.attach(MIMEText("<p>Weekly planning</p>", "html", "utf-8"))
    part = MIMEText(ics, "calendar", "utf-8")
    part.set_param("method", "REQUEST")
    alternative.attach(part)
    root = MIMEMultipart("mixed")
    root.attach(alternative)
    attached = MIMEApplication(ics.encode(), "ics", name="invite.ics")
    attached.add_header("Content-Disposition", "attachment", filename="invite.ics")
    root.attach(attached)
    return _headers(root, inv, subject)


def ox_mail(inv: Invitation, ics: str, subject: str, method: str = "REQUEST") -> bytes:
    """OX App Suite: mixed of (text, HTML) and the invitation part."""
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText("You have been invited.\n", "plain", "utf-8"))
    alternative.attach(MIMEText("<p>You have been invited.</p>", "html", "utf-8"))
    root = MIMEMultipart("mixed")
    root.attach(alternative)
    part = MIMEText(ics, "calendar", "utf-8")
    part.set_param("method", method)
    root.attach(part)
    return _headers(root, inv, subject)


def _headers(root: Message, inv: Invitation, subject: str) -> bytes:
    root["From"] = f"Olga Organiser <{inv.organizer}>"
    root["To"] = inv.me
    root["Subject"] = subject
    root["Date"] = "Fri, 01 Jan 2027 10:00:00 +0100"
    root["Message-ID"] = make_msgid(domain="example.test")
    return root.as_bytes()


async def delivered(shared: Shared, dovecot: DovecotServer, raw: bytes, subject: str) -> str:
    """Put the mail into INBOX as the organizer's server would; returns its email id."""
    with other_client(dovecot, shared.account) as imap:
        deliver(imap, "INBOX", raw)
    found = await call(shared.session, "search_emails", subject=subject)
    (only,) = found["emails"]
    return str(only["id"])


async def respond(shared: Shared, email_id: str, response: str, **more: Any) -> Any:
    return structured(
        await shared.session.call_tool(
            "respond_to_invitation", {"email_id": email_id, "response": response, **more}
        )
    )


def replies(smtp: SmtpServer, inv: Invitation) -> list[Message]:
    return [email.message_from_bytes(d.data) for d in smtp.messages_for(inv.organizer)]


def reply_event(mail: Message) -> tuple[Calendar, Any]:
    """The REPLY's VCALENDAR and its VEVENT, from the text/calendar part."""
    (part,) = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REPLY"
    assert (part.get_content_charset() or "").lower() == "utf-8"
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    calendar = Calendar.from_ical(payload.decode())
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def attendees(event: Any) -> list[Any]:
    found = event.get("ATTENDEE")
    return found if isinstance(found, list) else [found]


def stored(servers: Servers, shared: Shared, inv: Invitation) -> str:
    """The calendar object this server placed, as the CalDAV server holds it."""
    dav = servers.dav[shared.calendar]
    account = DavAccount(shared.account.email, shared.account.password, dav.url)
    status, body = dav.request(account, "GET", f"{dav.calendar_path(account)}{inv.uid}.ics")
    assert status == 200, status
    return body.decode()


async def test_get_email_shows_an_outlook_invitation_in_the_users_zone(
    served: Shared, dovecot: DovecotServer
) -> None:
    inv = Invitation(served)
    subject = f"Invitation: Budget review {inv.token}"
    email_id = await delivered(
        served, dovecot, outlook_mail(inv, inv.ics("outlook-request.ics"), subject), subject
    )
    await call(
        served.session,
        "create_event",
        summary=f"Dentist {inv.token}",
        start="2027-03-10T10:30",
        end="2027-03-10T11:30",
    )
    text = text_of(await served.session.call_tool("get_email", {"id": email_id}))
    assert "Invitation (METHOD:REQUEST): Budget review" in text
    assert f"Conflicts with: Dentist {inv.token} (Wed 2027-03-10 10:30 CET" in text
    assert "Organizer: Olga Organiser <" in text
    assert "When: Wed 2027-03-10 10:00 CET to 11:00 CET" in text
    assert "Where: Room 4.01" in text and "Repeats: no" in text
    assert "Your answer: not answered yet" in text
    assert "respond_to_invitation" in text


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
    assert "Invitation (METHOD:REQUEST): Budget review" in text
    assert "Conflicts" not in text
    tools = {t.name for t in (await mail_only.session.list_tools()).tools}
    assert "respond_to_invitation" not in tools and "get_email" in tools


async def test_accepting_an_outlook_invitation_mails_the_organizer_a_reply_and_adds_the_event(
    served: Shared, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    inv = Invitation(served)
    subject = f"Invitation: Budget review {inv.token}"
    email_id = await delivered(
        served, dovecot, outlook_mail(inv, inv.ics("outlook-request.ics"), subject), subject
    )
    answer = await respond(served, email_id, "accept", comment="See you there.")
    assert answer["reply_sent"] is True and answer["saved_to_sent"] is True
    assert answer["calendar_change"] == "added"
    (mail,) = replies(smtp, inv)
    assert mail["Subject"] == "Accepted: Budget review"
    assert mail.get_content_type() == "multipart/alternative"
    calendar, event = reply_event(mail)
    assert str(calendar["METHOD"]) == "REPLY"
    assert str(event["UID"]) == inv.uid and int(event["SEQUENCE"]) == 0
    assert event.get("RECURRENCE-ID") is None
    (me,) = attendees(event)
    assert str(me).lower() == f"mailto:{inv.me}".lower()
    assert me.params["PARTSTAT"] == "ACCEPTED" and "RSVP" not in me.params
    assert str(event["COMMENT"]) == "See you there."
    assert str(event["ORGANIZER"]).lower() == f"mailto:{inv.organizer}"
    (placed,) = [
        e for e in await events(served.session, "2027-03-10", "2027-03-10") if e["uid"] == inv.uid
    ]
    assert placed["start"] == "2027-03-10T10:00:00+01:00" and placed["summary"] == "Budget review"


async def test_declining_the_moved_occurrence_of_a_google_series_replies_for_that_occurrence(
    served: Shared, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    inv = Invitation(served)
    subject = f"Invitation: Weekly planning {inv.token}"
    email_id = await delivered(
        served, dovecot, google_mail(inv, inv.ics("google-series.ics"), subject), subject
    )
    answer = await respond(served, email_id, "decline", occurrence="2027-03-15")
    assert answer["reply_sent"] is True
    (mail,) = replies(smtp, inv)
    assert mail["Subject"] == "Declined: Weekly planning"
    _calendar, event = reply_event(mail)
    assert str(event["UID"]) == inv.uid and int(event["SEQUENCE"]) == 1
    rid = event["RECURRENCE-ID"].dt
    assert (rid.year, rid.month, rid.day, rid.hour) == (2027, 3, 15, 9)
    (me,) = attendees(event)
    assert me.params["PARTSTAT"] == "DECLINED"
    busy = await call(served.session, "get_free_busy", start="2027-03-15", end="2027-03-16")
    starts = [b["start"] for b in busy["busy"]]
    assert "2027-03-16T14:00:00+01:00" not in starts  # the declined, moved occurrence
    assert "2027-03-22T09:00:00+01:00" not in starts


async def test_free_busy_shows_an_accepted_event_and_not_once_it_is_declined(
    served: Shared, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    inv = Invitation(served)
    subject = f"Invitation: Design review {inv.token}"
    ics = inv.ics("ox-request.ics", SEQUENCE="0", SUMMARY="Design review")
    email_id = await delivered(served, dovecot, ox_mail(inv, ics, subject), subject)
    await respond(served, email_id, "accept")
    before = await call(served.session, "get_free_busy", start="2027-03-11", end="2027-03-11")
    assert ("2027-03-11T14:00:00+01:00", False) in [
        (b["start"], b["tentative"]) for b in before["busy"]
    ]
    answer = await respond(served, email_id, "decline")
    assert answer["reply_sent"] is True and answer["calendar_change"] == "updated"
    after = await call(served.session, "get_free_busy", start="2027-03-11", end="2027-03-11")
    assert "2027-03-11T14:00:00+01:00" not in [b["start"] for b in after["busy"]]
    assert [reply_event(m)[1]["ATTENDEE"].params["PARTSTAT"] for m in replies(smtp, inv)] == [
        "ACCEPTED",
        "DECLINED",
    ]


async def test_a_later_update_replaces_the_copy_and_keeps_the_users_alarm_and_an_older_one_is_refused(
    served: Shared, dovecot: DovecotServer, smtp: SmtpServer, servers: Servers
) -> None:
    inv = Invitation(served)
    first_subject = f"Invitation: Planning {inv.token}"
    first = await delivered(
        served,
        dovecot,
        ox_mail(inv, inv.ics("ox-request.ics", SEQUENCE="0", SUMMARY="Planning"), first_subject),
        first_subject,
    )
    await respond(served, first, "tentative")
    # The user adds an alarm in their calendar app.
    dav = servers.dav[served.calendar]
    account = DavAccount(served.account.email, served.account.password, dav.url)
    with_alarm = stored(servers, served, inv).replace(
        "END:VEVENT",
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Soon\r\nTRIGGER:-PT10M\r\nEND:VALARM\r\n"
        "END:VEVENT",
    )
    dav.put_object(account, f"{inv.uid}.ics", with_alarm)
    later_subject = f"Updated invitation: Planning {inv.token}"
    later = await delivered(
        served,
        dovecot,
        ox_mail(
            inv,
            inv.ics("ox-request.ics", SEQUENCE="2", SUMMARY="Planning (new room)"),
            later_subject,
        ),
        later_subject,
    )
    answer = await respond(served, later, "accept")
    assert answer["calendar_change"] == "updated"
    held = stored(servers, served, inv)
    assert "Planning (new room)" in held and "TRIGGER:-PT10M" in held
    assert int(reply_event(replies(smtp, inv)[-1])[1]["SEQUENCE"]) == 2
    sent = len(replies(smtp, inv))
    text = error_text(
        await served.session.call_tool(
            "respond_to_invitation", {"email_id": first, "response": "decline"}
        )
    )
    assert "older version" in text and "Nothing was sent or changed." in text, text
    assert len(replies(smtp, inv)) == sent
    assert "Planning (new room)" in stored(servers, served, inv)


async def test_remove_takes_a_cancelled_event_out_of_the_calendar(
    served: Shared, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    inv = Invitation(served)
    subject = f"Invitation: Offsite {inv.token}"
    ics = inv.ics("ox-request.ics", SEQUENCE="0", SUMMARY="Offsite")
    await respond(
        served, await delivered(served, dovecot, ox_mail(inv, ics, subject), subject), "accept"
    )
    cancel_subject = f"Cancelled: Offsite {inv.token}"
    cancel = inv.ics("ox-cancel.ics", SEQUENCE="1", SUMMARY="Offsite")
    cancel_id = await delivered(
        served, dovecot, ox_mail(inv, cancel, cancel_subject, "CANCEL"), cancel_subject
    )
    text = text_of(await served.session.call_tool("get_email", {"id": cancel_id}))
    assert "Cancellation (METHOD:CANCEL): Offsite" in text
    answer = await respond(served, cancel_id, "remove")
    assert answer["calendar_change"] == "removed" and answer["reply_sent"] is False
    assert len(replies(smtp, inv)) == 1  # the acceptance only: a removal mails no one
    found = await events(served.session, "2027-03-11", "2027-03-11")
    assert inv.uid not in [e["uid"] for e in found]


async def test_answering_twice_at_once_sends_one_reply(
    served: Shared, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    inv = Invitation(served)
    subject = f"Invitation: Retro {inv.token}"
    ics = inv.ics("ox-request.ics", SEQUENCE="0", SUMMARY="Retro")
    email_id = await delivered(served, dovecot, ox_mail(inv, ics, subject), subject)
    answers: list[Any] = []

    async def answer() -> None:
        answers.append(await respond(served, email_id, "accept"))

    async with anyio.create_task_group() as group:
        group.start_soon(answer)
        group.start_soon(answer)
    assert sorted(a["reply_sent"] for a in answers) == [False, True]
    assert [a["already_sent"] for a in answers if not a["reply_sent"]] == [True]
    again = await served.session.call_tool(
        "respond_to_invitation", {"email_id": email_id, "response": "accept"}
    )
    assert "had already been sent" in text_of(again)
    assert len(replies(smtp, inv)) == 1


async def test_wrong_calls_are_refused_in_one_sentence_and_send_nothing(
    served: Shared, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    inv = Invitation(served)
    plain_subject = f"Lunch? {inv.token}"
    with other_client(dovecot, served.account) as imap:
        deliver(imap, "INBOX", message(plain_subject, to=inv.me))
    plain_id = (await call(served.session, "search_emails", subject=plain_subject))["emails"][0][
        "id"
    ]
    request_subject = f"Invitation: Sync {inv.token}"
    request = await delivered(
        served,
        dovecot,
        ox_mail(inv, inv.ics("ox-request.ics", SEQUENCE="0", SUMMARY="Sync"), request_subject),
        request_subject,
    )
    stranger = Invitation(served)
    stranger.me = "someone-else@example.test"
    other_subject = f"Invitation: Not yours {inv.token}"
    not_mine = await delivered(
        served,
        dovecot,
        ox_mail(
            stranger,
            stranger.ics("ox-request.ics", SEQUENCE="0", SUMMARY="Not yours"),
            other_subject,
        ),
        other_subject,
    )
    mine = Invitation(served)
    mine.organizer = inv.me
    own_subject = f"Invitation: My own {inv.token}"
    own = await delivered(
        served,
        dovecot,
        ox_mail(mine, mine.ics("ox-request.ics", SEQUENCE="0", SUMMARY="My own"), own_subject),
        own_subject,
    )
    cancel_subject = f"Cancelled: Sync {inv.token}"
    cancel = await delivered(
        served,
        dovecot,
        ox_mail(
            inv, inv.ics("ox-cancel.ics", SEQUENCE="1", SUMMARY="Sync"), cancel_subject, "CANCEL"
        ),
        cancel_subject,
    )
    cases = [
        (plain_id, "accept", {}, "no calendar invitation"),
        (not_mine, "accept", {}, "does not name you"),
        (own, "decline", {}, "organise"),
        (request, "remove", {}, "'remove' answers only a cancellation"),
        (cancel, "accept", {}, "cancels 'Sync'"),
        (request, "accept", {"occurrence": "2027-03-11"}, "does not repeat"),
    ]
    before = len(smtp.received)
    for email_id, response, more, expected in cases:
        text = error_text(
            await served.session.call_tool(
                "respond_to_invitation", {"email_id": email_id, "response": response, **more}
            )
        )
        assert expected in text, text
        assert text.count(". ") <= 1 and "unexpectedly" not in text, text
    assert len(smtp.received) == before
    found = await events(served.session, "2027-03-11", "2027-03-11")
    assert inv.uid not in [e["uid"] for e in found]


async def test_a_reply_outside_mailbox_send_allow_is_not_sent_and_changes_nothing(
    server_env: dict[str, str],
    account: Any,
    dovecot: DovecotServer,
    smtp: SmtpServer,
    tmp_path: Path,
) -> None:
    server_env["MAILBOX_SEND_ALLOW"] = "colleagues.example"
    organizer = f"olga-{uuid.uuid4().hex[:8]}@example.test"
    inv = Invitation.__new__(Invitation)
    inv.uid, inv.organizer, inv.me = f"allow-{organizer}", organizer, account.email
    subject = "Invitation: Design review"
    ics = inv.ics("ox-request.ics", SEQUENCE="0", SUMMARY="Design review")
    with other_client(dovecot, account) as imap:
        deliver(imap, "INBOX", ox_mail(inv, ics, subject))
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        (found,) = (await call(session, "search_emails"))["emails"]
        args = {"email_id": found["id"], "response": "accept"}
        first = error_text(await session.call_tool("respond_to_invitation", args))
        assert first.startswith("Nothing was sent") and "MAILBOX_SEND_ALLOW" in first, first
        # The answer was not marked as sent: once allowed, it would go out.
        again = error_text(await session.call_tool("respond_to_invitation", args))
        assert "MAILBOX_SEND_ALLOW" in again, again
        assert await events(session, "2027-03-11", "2027-03-11") == []
    assert smtp.messages_for(organizer) == []


async def test_read_only_mode_does_not_offer_respond_to_invitation(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    server_env["MAILBOX_READ_ONLY"] = "1"
    async with mcp_session(server_env, tmp_path / "err.log") as session:
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
    inv = Invitation.__new__(Invitation)
    inv.uid, inv.organizer, inv.me = f"alias-{alias}", f"olga-{alias}", alias
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
