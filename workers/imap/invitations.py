"""Calendar invitations inside mail (text/calendar, RFC 6047), summarised for the reader.

The iCalendar text comes from a stranger: it is size-capped before parsing, and
any parsing failure becomes a note, never an error for the whole message.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from protocol.email import Invitation
from workers.imap.decode import decode_text

MAX_ICS_BYTES = 1024 * 1024
MAX_EVENTS = 5


def summarise(
    data: bytes, charset: str | None, me: Collection[str] = ()
) -> tuple[list[Invitation], str | None]:
    """The events of an invitation, or a note saying why it could not be read. ``me``:
    the user's addresses (lower case), whose ATTENDEE answer is reported."""
    if len(data) > MAX_ICS_BYTES:
        return [], "A calendar invitation was too large to read."
    # Imported here: icalendar costs the worker about 8 MB, and few messages carry one.
    from icalendar import Calendar

    try:
        calendar = Calendar.from_ical(decode_text(data, charset))
        method = _text(calendar.get("METHOD")).upper() or None
        events = [c for c in calendar.walk("VEVENT")][:MAX_EVENTS]
        return [_invitation(event, method, me) for event in events], None
    except Exception as exc:  # icalendar raises many types on hostile input
        return [], f"A calendar invitation could not be read ({type(exc).__name__})."


def _invitation(event: Any, method: str | None, me: Collection[str]) -> Invitation:
    organizer = event.get("ORGANIZER")
    name = (
        organizer.params.get("CN")
        if organizer is not None and hasattr(organizer, "params")
        else None
    )
    address = _address(organizer) if organizer is not None else ""
    rid = event.get("RECURRENCE-ID")
    try:
        sequence = int(str(event.get("SEQUENCE", 0)))
    except ValueError:
        sequence = 0
    return Invitation(
        method=method,
        summary=_text(event.get("SUMMARY"))[:500],
        start=_when(event.get("DTSTART")),
        end=_when(event.get("DTEND")),
        location=_text(event.get("LOCATION"))[:500] or None,
        organizer=_organizer(_text(name)[:200] if name else "", address[:256]),
        status=_text(event.get("STATUS")) or None,
        recurring=event.get("RRULE") is not None or event.get("RDATE") is not None,
        uid=_text(event.get("UID"))[:500] or None,
        sequence=max(0, min(sequence, 2**31)),
        recurrence_id=_when(rid),
        answer=_answer(event, me),
    )


def _organizer(name: str, address: str) -> str | None:
    return (f"{name} <{address}>" if name and address else address or name) or None


def _answer(event: Any, me: Collection[str]) -> str | None:
    found = event.get("ATTENDEE")
    for attendee in found if isinstance(found, list) else [found] if found is not None else []:
        if _address(attendee) in me:
            params = getattr(attendee, "params", {})
            return _text(params.get("PARTSTAT", "NEEDS-ACTION")).upper()[:40] or None
    return None


def _address(value: Any) -> str:
    text = _text(value)
    return (text[7:] if text.lower().startswith("mailto:") else text).lower()


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _when(prop: Any) -> str | None:
    value = getattr(prop, "dt", None)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return None
