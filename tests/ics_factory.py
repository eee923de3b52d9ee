"""Calendars built in code for tests (the large ones are not worth storing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def ten_thousand_events() -> str:
    """One object: a series of 10,000 minutes and 9,999 moved occurrences (all legal)."""
    start = datetime(2026, 3, 1, tzinfo=UTC)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//mailbox-mcp-server//tests//EN",
        "BEGIN:VEVENT",
        "UID:ten-thousand@tests",
        "DTSTAMP:20260101T000000Z",
        "DTSTART:20260301T000000Z",
        "DTEND:20260301T000010Z",
        "RRULE:FREQ=MINUTELY;COUNT=10000",
        "SUMMARY:Every minute",
        "END:VEVENT",
    ]
    for n in range(1, 10_000):
        original = start + timedelta(minutes=n)
        moved = original + timedelta(seconds=30)
        lines += [
            "BEGIN:VEVENT",
            "UID:ten-thousand@tests",
            "DTSTAMP:20260101T000000Z",
            f"RECURRENCE-ID:{original:%Y%m%dT%H%M%SZ}",
            f"DTSTART:{moved:%Y%m%dT%H%M%SZ}",
            f"DTEND:{moved + timedelta(seconds=15):%Y%m%dT%H%M%SZ}",
            f"SUMMARY:Override {n}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def daily_series(uid: str, summary: str, first: datetime, days: int) -> str:
    """One object: a one-hour event every day for ``days`` days from ``first`` (UTC)."""
    return single_event(uid, summary, first, rrule=f"FREQ=DAILY;COUNT={days}")


def single_event(uid: str, summary: str, start: datetime, rrule: str | None = None) -> str:
    """One object: a one-hour event at ``start`` (UTC), repeating by ``rrule`` if given."""
    return "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//mailbox-mcp-server//tests//EN",
            "BEGIN:VEVENT",
            f"UID:{uid}",
            "DTSTAMP:20260101T000000Z",
            f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
            f"DTEND:{start + timedelta(hours=1):%Y%m%dT%H%M%SZ}",
            *([f"RRULE:{rrule}"] if rrule else []),
            f"SUMMARY:{summary}",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )
