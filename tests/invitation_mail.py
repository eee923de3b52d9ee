"""Calendar invitations as Outlook, Google and OX mail them, for the invitation tests, and
the REPLY the SMTP fixture received, taken apart."""

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

from icalendar import Calendar

from tests.server_env import Shared
from tests.servers.smtp import SmtpServer

DATA = Path(__file__).resolve().parent / "data" / "invitations"


class Invitation:
    """One invitation of a test: its UID, organizer and what is filled into the templates."""

    def __init__(self, shared: Shared | None = None, *, me: str = "") -> None:
        token = uuid.uuid4().hex[:10]
        self.uid = f"inv-{token}@example.test"
        self.organizer = f"olga-{token}@example.test"
        self.me = shared.account.email if shared is not None else me
        self.token = token

    def ics(self, template: str, **fields: str) -> str:
        return filled(template, UID=self.uid, ORGANIZER=self.organizer, ME=self.me, **fields)


def filled(template: str, **fields: str) -> str:
    """The template ``template`` of tests/data/invitations with each ``{NAME}`` in it
    replaced by ``fields[NAME]``, with CRLF line ends."""
    text = (DATA / template).read_text()
    for name, value in fields.items():
        text = text.replace("{" + name + "}", value)
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def outlook_mail(inv: Invitation, ics: str, subject: str) -> bytes:
    """Outlook: multipart/alternative of text, HTML and the invitation (base64)."""
    return _headers(_alternative("When: Wednesday, 10 March 2027", ics), inv, subject)


def google_mail(inv: Invitation, ics: str, subject: str) -> bytes:
    """Google: mixed of (text, HTML, invitation) and the same as invite.ics."""
    root = MIMEMultipart("mixed")
    root.attach(_alternative("Weekly planning", ics))
    attached = MIMEApplication(ics.encode(), "ics", name="invite.ics")
    attached.add_header("Content-Disposition", "attachment", filename="invite.ics")
    root.attach(attached)
    return _headers(root, inv, subject)


def ox_mail(inv: Invitation, ics: str, subject: str, method: str = "REQUEST") -> bytes:
    """OX App Suite: mixed of (text, HTML) and the invitation part."""
    root = MIMEMultipart("mixed")
    root.attach(_alternative("You have been invited."))
    root.attach(_calendar_part(ics, method))
    return _headers(root, inv, subject)


def _alternative(words: str, ics: str | None = None) -> MIMEMultipart:
    """multipart/alternative of ``words`` as text and as HTML, and of the invitation
    (METHOD:REQUEST) where there is one."""
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText(f"{words}\n", "plain", "utf-8"))
    alternative.attach(MIMEText(f"<p>{words}</p>", "html", "utf-8"))
    if ics is not None:
        alternative.attach(_calendar_part(ics, "REQUEST"))
    return alternative


def _calendar_part(ics: str, method: str) -> MIMEText:
    part = MIMEText(ics, "calendar", "utf-8")
    part.set_param("method", method)
    return part


def _headers(root: Message, inv: Invitation, subject: str) -> bytes:
    root["From"] = f"Olga Organiser <{inv.organizer}>"
    root["To"] = inv.me
    root["Subject"] = subject
    root["Date"] = "Fri, 01 Jan 2027 10:00:00 +0100"
    root["Message-ID"] = make_msgid(domain="example.test")
    return root.as_bytes()


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
