"""The sandbox's demo mailbox and calendar: small, realistic, dated around today.

Every tool has something to work on: a conversation across INBOX and Sent, a
newsletter in HTML, attachments, an invitation, unread and flagged mail, a
subfolder, and a calendar with a repeating meeting, an all-day event and a trip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

YOU = "You"


@dataclass(frozen=True)
class DemoMessage:
    folder: str
    raw: bytes
    received: datetime
    flags: tuple[bytes, ...] = field(default=(b"\\Seen",))


def demo_messages(address: str, now: datetime) -> list[DemoMessage]:
    """About twenty messages for ``address``, the newest an hour before ``now``."""
    ago = _Clock(now)
    you = f"{YOU} <{address}>"
    lunch_id, lunch_reply_id = make_msgid("lunch"), make_msgid("lunch")
    messages = [
        DemoMessage(
            "INBOX",
            _text(
                "Sandbox <sandbox@example.test>",
                you,
                "Welcome to the mailbox-mcp-server sandbox",
                "This mailbox, its calendar and the servers behind them run on your computer "
                "and are thrown away when the sandbox stops.\n\n"
                "Mail you send from here is delivered only to this mailbox's own address; "
                "anything addressed elsewhere is accepted and dropped, never sent out.\n\n"
                "Try asking Claude: 'What is unread?', 'Summarise the lunch thread', "
                "'Am I free on Thursday afternoon?', 'Move the newsletter to Archive'.",
                ago.hours(1),
            ),
            ago.hours(1),
            flags=(),
        ),
        DemoMessage(
            "INBOX",
            _text(
                "Anna Berg <anna.berg@example.org>",
                you,
                "Lunch on Friday?",
                "Hi,\n\nshall we try the new Italian place on Friday at 12:30?\n\nAnna",
                ago.days(2),
                message_id=lunch_id,
            ),
            ago.days(2),
        ),
        DemoMessage(
            "Sent",
            _text(
                you,
                "Anna Berg <anna.berg@example.org>",
                "Re: Lunch on Friday?",
                "Good idea, 12:30 works for me.\n\n> shall we try the new Italian place on "
                "Friday at 12:30?",
                ago.days(2) + timedelta(hours=1),
                message_id=lunch_reply_id,
                replying_to=[lunch_id],
            ),
            ago.days(2) + timedelta(hours=1),
        ),
        DemoMessage(
            "INBOX",
            _text(
                "Anna Berg <anna.berg@example.org>",
                you,
                "Re: Lunch on Friday?",
                "Great, I booked a table for two. See you there!\n\nAnna",
                ago.days(1),
                replying_to=[lunch_id, lunch_reply_id],
            ),
            ago.days(1),
            flags=(),
        ),
        DemoMessage(
            "INBOX",
            _with_attachments(
                "Marco Rossi <marco.rossi@example.com>",
                you,
                "Agenda and budget for the garden project",
                "Hello,\n\nattached are the agenda for Thursday and the budget so far. "
                "Could you check the plant costs?\n\nMarco",
                ago.hours(5),
                [
                    (
                        "agenda.txt",
                        "text/plain",
                        b"1. Welcome\n2. Budget review\n3. Planting plan\n4. Next steps\n",
                    ),
                    (
                        "budget.csv",
                        "text/csv",
                        b"item,cost\nsoil,120\nplants,340\ntools,85\nwatering,60\n",
                    ),
                ],
            ),
            ago.hours(5),
            flags=(b"\\Flagged",),
        ),
        DemoMessage(
            "INBOX",
            _html(
                "City Library <news@library.example.net>",
                you,
                "This month at the library",
                "<html><head><style>p{color:#333}</style></head><body>"
                "<h1>This month at the library</h1>"
                "<p>Our <b>reading circle</b> meets every second Tuesday.</p>"
                "<ul><li>Author talk: Saturday 3 pm</li><li>Repair café: Sunday 11 am</li></ul>"
                '<p><a href="https://library.example.net/events">All events</a></p>'
                '<img src="https://library.example.net/track.gif" width="1" height="1">'
                "</body></html>",
                ago.days(3),
            ),
            ago.days(3),
        ),
        DemoMessage(
            "INBOX",
            _invitation(you, address, ago.days(1) + timedelta(hours=3), now),
            ago.days(1) + timedelta(hours=3),
            flags=(),
        ),
        DemoMessage(
            "Projects/Garden",
            _text(
                "Marco Rossi <marco.rossi@example.com>",
                you,
                "Seeds ordered",
                "The seeds are ordered and should arrive next week.",
                ago.days(9),
            ),
            ago.days(9),
        ),
    ]
    archive = [
        ("Electricity Company <billing@power.example.com>", "Your bill for last month"),
        ("Anna Berg <anna.berg@example.org>", "Photos from the hike"),
        ("Travel Agency <trips@travel.example.com>", "Your booking is confirmed"),
        ("Marco Rossi <marco.rossi@example.com>", "Garden project kick-off notes"),
        ("Sports Club <info@club.example.org>", "New training times"),
    ]
    for i, (sender, subject) in enumerate(archive):
        when = ago.days(20 + 9 * i)
        body = f"{subject}.\n\nThis is an older message kept in the archive."
        messages.append(DemoMessage("Archive", _text(sender, you, subject, body, when), when))
    return messages


def demo_events(now: datetime) -> dict[str, str]:
    """iCalendar objects by file name, around ``now`` (UTC times)."""
    today = now.date()
    monday = today - timedelta(days=today.weekday())
    stamp = _ics_time(now)
    events = {
        "team-meeting.ics": _event(
            "team-meeting",
            stamp,
            "Team meeting",
            _at(monday, 9),
            _at(monday, 10),
            location="Room 2",
            rrule="FREQ=WEEKLY;BYDAY=MO",
        ),
        "lunch-anna.ics": _event(
            "lunch-anna",
            stamp,
            "Lunch with Anna",
            _at(_next_weekday(today, 4), 11, 30),
            _at(_next_weekday(today, 4), 12, 30),
            location="Trattoria Roma",
        ),
        "garden-meeting.ics": _event(
            "garden-meeting",
            stamp,
            "Garden project meeting",
            _at(_next_weekday(today, 3), 14),
            _at(_next_weekday(today, 3), 15, 30),
            description="Budget review and planting plan (see Marco's agenda).",
        ),
        "dentist.ics": _event(
            "dentist",
            stamp,
            "Dentist",
            _at(today + timedelta(days=1), 7, 30),
            _at(today + timedelta(days=1), 8, 15),
        ),
        "birthday.ics": _all_day(
            "birthday-anna", stamp, "Anna's birthday", today + timedelta(days=5), "FREQ=YEARLY"
        ),
        "trip.ics": _all_day(
            "trip", stamp, "Trip to the mountains", today + timedelta(days=12), None, days=3
        ),
    }
    return events


class _Clock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def hours(self, n: int) -> datetime:
        return self._now - timedelta(hours=n)

    def days(self, n: int) -> datetime:
        return self._now - timedelta(days=n)


def _base(
    sender: str,
    to: str,
    subject: str,
    when: datetime,
    message_id: str | None = None,
    replying_to: list[str] | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = message_id or make_msgid("demo")
    if replying_to:
        msg["In-Reply-To"] = replying_to[-1]
        msg["References"] = " ".join(replying_to)
    return msg


def _text(
    sender: str,
    to: str,
    subject: str,
    body: str,
    when: datetime,
    message_id: str | None = None,
    replying_to: list[str] | None = None,
) -> bytes:
    msg = _base(sender, to, subject, when, message_id, replying_to)
    msg.set_content(body)
    return msg.as_bytes()


def _html(sender: str, to: str, subject: str, html: str, when: datetime) -> bytes:
    msg = _base(sender, to, subject, when)
    msg.set_content(html, subtype="html")
    return msg.as_bytes()


def _with_attachments(
    sender: str,
    to: str,
    subject: str,
    body: str,
    when: datetime,
    files: list[tuple[str, str, bytes]],
) -> bytes:
    msg = _base(sender, to, subject, when)
    msg.set_content(body)
    for name, content_type, data in files:
        maintype, subtype = content_type.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


def _invitation(you: str, address: str, when: datetime, now: datetime) -> bytes:
    day = _next_weekday(now.date(), 2) + timedelta(days=7)
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//example//demo//EN\r\nMETHOD:REQUEST\r\n"
        "BEGIN:VEVENT\r\nUID:book-club@example.org\r\n"
        f"DTSTAMP:{_ics_time(when)}\r\nDTSTART:{_at(day, 17)}\r\nDTEND:{_at(day, 18)}\r\n"
        "SUMMARY:Book club\r\nLOCATION:City Library\r\n"
        "ORGANIZER;CN=Anna Berg:mailto:anna.berg@example.org\r\n"
        f"ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{address}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    msg = _base("Anna Berg <anna.berg@example.org>", you, "Invitation: Book club", when)
    msg.set_content("Anna invites you to the book club at the City Library.")
    msg.add_alternative(ics, subtype="calendar", params={"method": "REQUEST"})
    return msg.as_bytes()


def _next_weekday(start: date, weekday: int) -> date:
    """The first ``weekday`` (Monday 0) after ``start``."""
    return start + timedelta(days=(weekday - start.weekday() - 1) % 7 + 1)


def _at(day: date, hour: int, minute: int = 0) -> str:
    return _ics_time(datetime.combine(day, time(hour, minute), tzinfo=UTC))


def _ics_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _calendar(body: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//mailbox-mcp-server//sandbox//EN\r\n"
        f"{body}END:VCALENDAR\r\n"
    )


def _event(
    uid: str,
    stamp: str,
    summary: str,
    start: str,
    end: str,
    *,
    location: str | None = None,
    description: str | None = None,
    rrule: str | None = None,
) -> str:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid}@sandbox.example",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{start}",
        f"DTEND:{end}",
        f"SUMMARY:{summary}",
    ]
    lines += [f"LOCATION:{location}"] if location else []
    lines += [f"DESCRIPTION:{description}"] if description else []
    lines += [f"RRULE:{rrule}"] if rrule else []
    return _calendar("\r\n".join([*lines, "END:VEVENT"]) + "\r\n")


def _all_day(
    uid: str, stamp: str, summary: str, day: date, rrule: str | None, days: int = 1
) -> str:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid}@sandbox.example",
        f"DTSTAMP:{stamp}",
        f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
        f"DTEND;VALUE=DATE:{day + timedelta(days=days):%Y%m%d}",
        f"SUMMARY:{summary}",
        "TRANSP:TRANSPARENT",
    ]
    lines += [f"RRULE:{rrule}"] if rrule else []
    return _calendar("\r\n".join([*lines, "END:VEVENT"]) + "\r\n")
