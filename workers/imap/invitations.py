"""Calendar invitations inside mail (text/calendar, RFC 6047), summarised for the reader.

The iCalendar text comes from a stranger: it is size-capped before parsing, and
any parsing failure becomes a note, never an error for the whole message.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from protocol.email import Invitation
from workers.imap.decode import decode_text

MAX_ICS_BYTES = 1024 * 1024
MAX_EVENTS = 5


def summarise(data: bytes, charset: str | None) -> tuple[list[Invitation], str | None]:
    """The events of an invitation, or a note saying why it could not be read."""
    if len(data) > MAX_ICS_BYTES:
        return [], "A calendar invitation was too large to read."
    # Imported here: icalendar costs the worker about 8 MB, and few messages carry one.
    from icalendar import Calendar

    try:
        calendar = Calendar.from_ical(decode_text(data, charset))
        method = _text(calendar.get("METHOD")) or None
        events = [c for c in calendar.walk("VEVENT")][:MAX_EVENTS]
        return [_invitation(event, method) for event in events], None
    except Exception as exc:  # icalendar raises many types on hostile input
        return [], f"A calendar invitation could not be read ({type(exc).__name__})."


def _invitation(event: Any, method: str | None) -> Invitation:
    organizer = event.get("ORGANIZER")
    name = (
        organizer.params.get("CN")
        if organizer is not None and hasattr(organizer, "params")
        else None
    )
    address = _text(organizer).removeprefix("mailto:").removeprefix("MAILTO:") if organizer else ""
    return Invitation(
        method=method,
        summary=_text(event.get("SUMMARY"))[:500],
        start=_when(event.get("DTSTART")),
        end=_when(event.get("DTEND")),
        location=_text(event.get("LOCATION"))[:500] or None,
        organizer=(f"{name} <{address}>" if name and address else address or name) or None,
        status=_text(event.get("STATUS")) or None,
        recurring=event.get("RRULE") is not None,
    )


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _when(prop: Any) -> str | None:
    value = getattr(prop, "dt", None)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return None
