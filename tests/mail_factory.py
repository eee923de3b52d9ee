"""Messages for tests, built with the standard library and appended by a second client."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

BASE_TIME = datetime(2026, 10, 1, 9, 0, tzinfo=timezone(timedelta(hours=2)))


def message(
    subject: str,
    *,
    sender: str = "Anna Berg <anna@example.test>",
    to: str = "you@example.test",
    cc: str | None = None,
    body: str = "Hello.",
    html: str | None = None,
    attachment: tuple[str, bytes, str] | None = None,
    sent: datetime = BASE_TIME,
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = format_datetime(sent)
    msg["Message-ID"] = message_id or make_msgid(domain="example.test")
    for name, value in (headers or {}).items():
        msg[name] = value
    if html is not None and not body:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(body)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    if attachment:
        name, data, mime = attachment
        maintype, subtype = mime.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def deliver(
    imap: Any,
    folder: str,
    msg: EmailMessage | bytes,
    *,
    received: datetime = BASE_TIME,
    flags: tuple[str, ...] = (),
) -> None:
    raw = msg if isinstance(msg, bytes) else msg.as_bytes()
    imap.append(folder, raw, flags=list(flags), msg_time=received)
