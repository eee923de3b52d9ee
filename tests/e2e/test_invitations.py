"""respond_to_invitation and get_email's invitation lines, end to end: invitations built
the way Outlook, Google and OX send them are delivered into Dovecot; the REPLY the SMTP
fixture records is taken apart; the calendar is read back. On Radicale and Xandikos.

Every test answers its own invitation (its own UID and organizer address) on one shared
server per CalDAV server, so what one test sends or places is never seen by another.
"""

from __future__ import annotations

from typing import Any

import anyio
import mcp_types as types
import pytest
from icalendar import Calendar

from tests import invitation_mail
from tests.calendar_calls import call, events
from tests.imap_client import other_client
from tests.mail_factory import deliver, message
from tests.mcp_client import error_text, structured, text_of
from tests.server_env import Servers, Shared, module_calendar_server
from tests.servers.dav import DavAccount
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp import SmtpServer

FAMILIES = ("mail", "calendar")
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]

served = module_calendar_server(None, FAMILIES)
"""One server per CalDAV server; each test answers invitations of its own."""


async def delivered(shared: Shared, dovecot: DovecotServer, raw: bytes, subject: str) -> str:
    """Put the mail into INBOX as the organizer's server would; returns its email id."""
    with other_client(dovecot, shared.account) as imap:
        deliver(imap, "INBOX", raw)
    found = await call(shared.session, "search_emails", subject=subject)
    (only,) = found["emails"]
    return str(only["id"])


async def answered(
    shared: Shared, email_id: str, response: str, **more: Any
) -> types.CallToolResult:
    """respond_to_invitation's whole answer: a result or a refusal."""
    return await shared.session.call_tool(
        "respond_to_invitation", {"email_id": email_id, "response": response, **more}
    )


async def respond(shared: Shared, email_id: str, response: str, **more: Any) -> Any:
    return structured(await answered(shared, email_id, response, **more))


async def outlook_budget_review(
    served: Shared, dovecot: DovecotServer
) -> tuple[invitation_mail.Invitation, str]:
    """Outlook's invitation to "Budget review" (2027-03-10 10:00 CET), mailed; its email id."""
    inv = invitation_mail.Invitation(served)
    subject = f"Invitation: Budget review {inv.token}"
    raw = invitation_mail.outlook_mail(inv, inv.ics("outlook-request.ics"), subject)
    return inv, await delivered(served, dovecot, raw, subject)


async def google_planning(
    served: Shared, dovecot: DovecotServer, inv: invitation_mail.Invitation, update: str = ""
) -> str:
    """Google's mail of ``inv``'s weekly series "Weekly planning", or of the update to it
    in the template ``update``; its email id."""
    label = "Updated invitation" if update else "Invitation"
    subject = f"{label}: Weekly planning {inv.token}"
    ics = inv.ics(update or "google-series.ics")
    return await delivered(served, dovecot, invitation_mail.google_mail(inv, ics, subject), subject)


async def ox_mailed(
    served: Shared,
    dovecot: DovecotServer,
    inv: invitation_mail.Invitation,
    summary: str,
    sequence: str = "0",
    method: str = "REQUEST",
) -> str:
    """OX's mail of ``inv``'s event ``summary``: a request, or with method CANCEL a
    cancellation; its email id."""
    cancel = method == "CANCEL"
    subject = f"{'Cancelled' if cancel else 'Invitation'}: {summary} {inv.token}"
    template = "ox-cancel.ics" if cancel else "ox-request.ics"
    ics = inv.ics(template, SEQUENCE=sequence, SUMMARY=summary)
    return await delivered(
        served, dovecot, invitation_mail.ox_mail(inv, ics, subject, method), subject
    )


def stored(servers: Servers, shared: Shared, inv: invitation_mail.Invitation) -> str:
    """The calendar object this server placed, as the CalDAV server holds it."""
    dav = servers.dav[shared.calendar]
    account = DavAccount(shared.account.email, shared.account.password, dav.url)
    status, body = dav.request(account, "GET", f"{dav.calendar_path(account)}{inv.uid}.ics")
    assert status == 200, status
    return body.decode()


async def test_get_email_shows_an_outlook_invitation_in_the_users_zone(
    served: Shared, dovecot: DovecotServer
) -> None:
    inv, email_id = await outlook_budget_review(served, dovecot)
    await call(
        served.session,
        "create_event",
        summary=f"Dentist {inv.token}",
        start="2027-03-10T10:30",
        end="2027-03-10T11:30",
    )
    text = text_of(await served.session.call_tool("get_email", {"id": email_id}))
    assert "Invitation (METHOD:REQUEST):" in text and "\nTitle: Budget review\n" in text
    assert "Conflicts with these events in your calendar:" in text
    assert f"\nDentist {inv.token} (Wed 2027-03-10 10:30 CET" in text
    assert "Organizer: Olga Organiser <" in text
    assert "When: Wed 2027-03-10 10:00 CET to 11:00 CET" in text
    assert "Where: Room 4.01" in text and "Repeats: no" in text
    assert "Your answer: not answered yet" in text
    assert "respond_to_invitation" in text


async def test_accepting_an_outlook_invitation_mails_the_organizer_a_reply_and_adds_the_event(
    served: Shared, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    inv, email_id = await outlook_budget_review(served, dovecot)
    result = await answered(served, email_id, "accept", comment="See you there.")
    answer = structured(result)
    assert answer["reply_sent"] is True and answer["saved_to_sent"] is True
    assert answer["calendar_change"] == "added"
    assert text_of(result).startswith(
        f"Your acceptance was sent to {inv.organizer} (a copy is in Sent). "
        "The event was added to Calendar with your answer."
    ), text_of(result)
    assert "\nTitle: Budget review\n" in text_of(result)
    (mail,) = invitation_mail.replies(smtp, inv)
    assert mail["Subject"] == "Accepted: Budget review"
    assert mail.get_content_type() == "multipart/alternative"
    calendar, event = invitation_mail.reply_event(mail)
    assert str(calendar["METHOD"]) == "REPLY"
    assert str(event["UID"]) == inv.uid and int(event["SEQUENCE"]) == 0
    assert event.get("RECURRENCE-ID") is None
    (me,) = invitation_mail.attendees(event)
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
    inv = invitation_mail.Invitation(served)
    email_id = await google_planning(served, dovecot, inv)
    answer = await respond(served, email_id, "decline", occurrence="2027-03-15")
    assert answer["reply_sent"] is True
    (mail,) = invitation_mail.replies(smtp, inv)
    assert mail["Subject"] == "Declined: Weekly planning"
    _calendar, event = invitation_mail.reply_event(mail)
    assert str(event["UID"]) == inv.uid and int(event["SEQUENCE"]) == 1
    rid = event["RECURRENCE-ID"].dt
    assert (rid.year, rid.month, rid.day, rid.hour) == (2027, 3, 15, 9)
    (me,) = invitation_mail.attendees(event)
    assert me.params["PARTSTAT"] == "DECLINED"
    busy = await call(served.session, "get_free_busy", start="2027-03-15", end="2027-03-16")
    starts = [b["start"] for b in busy["busy"]]
    assert "2027-03-16T14:00:00+01:00" not in starts  # the declined, moved occurrence


async def test_declining_one_date_of_an_accepted_series_keeps_the_others_accepted(
    served: Shared, dovecot: DovecotServer, smtp: SmtpServer, servers: Servers
) -> None:
    inv = invitation_mail.Invitation(served)
    email_id = await google_planning(served, dovecot, inv)
    await respond(served, email_id, "accept")
    answer = await respond(served, email_id, "decline", occurrence="2027-03-08")
    assert answer["reply_sent"] is True and answer["calendar_change"] == "updated"
    held = Calendar.from_ical(stored(servers, served, inv))
    answers = {
        (str(e["RECURRENCE-ID"].dt.date()) if e.get("RECURRENCE-ID") else "series"): next(
            a.params["PARTSTAT"] for a in invitation_mail.attendees(e) if inv.me in str(a).lower()
        )
        for e in held.walk("VEVENT")
    }
    assert answers == {"series": "ACCEPTED", "2027-03-15": "ACCEPTED", "2027-03-08": "DECLINED"}
    rid = invitation_mail.reply_event(invitation_mail.replies(smtp, inv)[-1])[1]["RECURRENCE-ID"].dt
    assert (rid.month, rid.day, rid.hour) == (3, 8, 9)


async def test_an_update_of_one_occurrence_moves_it_in_the_copy_and_keeps_the_series(
    served: Shared, dovecot: DovecotServer, smtp: SmtpServer, servers: Servers
) -> None:
    inv = invitation_mail.Invitation(served)
    await respond(served, await google_planning(served, dovecot, inv), "accept")
    moved = await google_planning(served, dovecot, inv, "google-moved-occurrence.ics")
    answer = await respond(served, moved, "accept")
    assert answer["calendar_change"] == "updated"
    _calendar, event = invitation_mail.reply_event(invitation_mail.replies(smtp, inv)[-1])
    rid = event["RECURRENCE-ID"].dt
    assert (rid.day, rid.hour, int(event["SEQUENCE"])) == (22, 9, 2)
    found = [
        e for e in await events(served.session, "2027-03-01", "2027-03-31") if e["uid"] == inv.uid
    ]
    assert [e["start"] for e in found] == [
        "2027-03-01T09:00:00+01:00",
        "2027-03-08T09:00:00+01:00",
        "2027-03-16T14:00:00+01:00",
        "2027-03-23T16:00:00+01:00",
        "2027-03-29T09:00:00+02:00",
    ]


async def test_free_busy_shows_an_accepted_event_and_not_once_it_is_declined(
    served: Shared, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    inv = invitation_mail.Invitation(served)
    email_id = await ox_mailed(served, dovecot, inv, "Design review")
    await respond(served, email_id, "accept")
    before = await call(served.session, "get_free_busy", start="2027-03-11", end="2027-03-11")
    assert ("2027-03-11T14:00:00+01:00", False) in [
        (b["start"], b["tentative"]) for b in before["busy"]
    ]
    answer = await respond(served, email_id, "decline")
    assert answer["reply_sent"] is True and answer["calendar_change"] == "updated"
    after = await call(served.session, "get_free_busy", start="2027-03-11", end="2027-03-11")
    assert "2027-03-11T14:00:00+01:00" not in [b["start"] for b in after["busy"]]
    assert [
        invitation_mail.reply_event(m)[1]["ATTENDEE"].params["PARTSTAT"]
        for m in invitation_mail.replies(smtp, inv)
    ] == [
        "ACCEPTED",
        "DECLINED",
    ]


async def test_a_later_update_replaces_the_copy_and_keeps_the_users_alarm_and_an_older_one_is_refused(
    served: Shared, dovecot: DovecotServer, smtp: SmtpServer, servers: Servers
) -> None:
    inv = invitation_mail.Invitation(served)
    first = await ox_mailed(served, dovecot, inv, "Planning")
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
    later = await ox_mailed(served, dovecot, inv, "Planning (new room)", sequence="2")
    answer = await respond(served, later, "accept")
    assert answer["calendar_change"] == "updated"
    held = stored(servers, served, inv)
    assert "Planning (new room)" in held and "TRIGGER:-PT10M" in held
    assert (
        int(invitation_mail.reply_event(invitation_mail.replies(smtp, inv)[-1])[1]["SEQUENCE"]) == 2
    )
    sent = len(invitation_mail.replies(smtp, inv))
    text = error_text(await answered(served, first, "decline"))
    assert "older version" in text and "Nothing was sent or changed." in text, text
    assert len(invitation_mail.replies(smtp, inv)) == sent
    assert "Planning (new room)" in stored(servers, served, inv)


async def test_remove_takes_a_cancelled_event_out_of_the_calendar(
    served: Shared, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    inv = invitation_mail.Invitation(served)
    await respond(served, await ox_mailed(served, dovecot, inv, "Offsite"), "accept")
    cancel_id = await ox_mailed(served, dovecot, inv, "Offsite", sequence="1", method="CANCEL")
    text = text_of(await served.session.call_tool("get_email", {"id": cancel_id}))
    assert "Cancellation (METHOD:CANCEL):" in text and "\nTitle: Offsite\n" in text
    answer = await respond(served, cancel_id, "remove")
    assert answer["calendar_change"] == "removed" and answer["reply_sent"] is False
    assert (
        len(invitation_mail.replies(smtp, inv)) == 1
    )  # the acceptance only: a removal mails no one
    found = await events(served.session, "2027-03-11", "2027-03-11")
    assert inv.uid not in [e["uid"] for e in found]


async def test_answering_twice_at_once_sends_one_reply(
    served: Shared, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    inv = invitation_mail.Invitation(served)
    email_id = await ox_mailed(served, dovecot, inv, "Retro")
    answers: list[Any] = []

    async def answer() -> None:
        answers.append(await respond(served, email_id, "accept"))

    async with anyio.create_task_group() as group:
        group.start_soon(answer)
        group.start_soon(answer)
    assert sorted(a["reply_sent"] for a in answers) == [False, True]
    assert [a["already_sent"] for a in answers if not a["reply_sent"]] == [True]
    again = await answered(served, email_id, "accept")
    assert "it was not sent again" in text_of(again)
    assert len(invitation_mail.replies(smtp, inv)) == 1


async def test_wrong_calls_are_refused_in_one_sentence_and_send_nothing(
    served: Shared, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    inv = invitation_mail.Invitation(served)
    plain_subject = f"Lunch? {inv.token}"
    with other_client(dovecot, served.account) as imap:
        deliver(imap, "INBOX", message(plain_subject, to=inv.me))
    plain_id = (await call(served.session, "search_emails", subject=plain_subject))["emails"][0][
        "id"
    ]
    request = await ox_mailed(served, dovecot, inv, "Sync")
    stranger = invitation_mail.Invitation(served)
    stranger.me = "someone-else@example.test"
    not_mine = await ox_mailed(served, dovecot, stranger, "Not yours")
    mine = invitation_mail.Invitation(served)
    mine.organizer = inv.me
    own = await ox_mailed(served, dovecot, mine, "My own")
    cancel = await ox_mailed(served, dovecot, inv, "Sync", sequence="1", method="CANCEL")
    cases = [
        (plain_id, "accept", {}, "no calendar invitation"),
        (not_mine, "accept", {}, "does not name you"),
        (own, "decline", {}, "organise"),
        (request, "remove", {}, "'remove' answers only a cancellation"),
        (cancel, "accept", {}, "cancels the event"),
        (request, "accept", {"occurrence": "2027-03-11"}, "does not repeat"),
    ]
    before = len(smtp.received)
    for email_id, response, more, expected in cases:
        text = error_text(await answered(served, email_id, response, **more))
        assert expected in text, text
        assert text.count(". ") <= 1 and "unexpectedly" not in text, text
    assert len(smtp.received) == before
    found = await events(served.session, "2027-03-11", "2027-03-11")
    assert inv.uid not in [e["uid"] for e in found]
