"""Calendars built in code for tests (the large ones are not worth storing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

STAMP = "DTSTAMP:20260101T000000Z"


def calendar(*events: list[str]) -> str:
    """One calendar object holding ``events``, each given as the lines inside its VEVENT."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//mailbox-mcp-server//tests//EN"]
    for event in events:
        lines += ["BEGIN:VEVENT", *event, "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def every_minute(count: int) -> str:
    """One object: a series of ``count`` minutes and ``count - 1`` moved occurrences (all
    legal), from 2026-03-01 00:00 UTC."""
    start = datetime(2026, 3, 1, tzinfo=UTC)
    series = [
        "UID:every-minute@tests",
        STAMP,
        "DTSTART:20260301T000000Z",
        "DTEND:20260301T000010Z",
        f"RRULE:FREQ=MINUTELY;COUNT={count}",
        "SUMMARY:Every minute",
    ]
    moved = []
    for n in range(1, count):
        original = start + timedelta(minutes=n)
        at = original + timedelta(seconds=30)
        moved.append(
            [
                "UID:every-minute@tests",
                STAMP,
                f"RECURRENCE-ID:{original:%Y%m%dT%H%M%SZ}",
                f"DTSTART:{at:%Y%m%dT%H%M%SZ}",
                f"DTEND:{at + timedelta(seconds=15):%Y%m%dT%H%M%SZ}",
                f"SUMMARY:Override {n}",
            ]
        )
    return calendar(series, *moved)


def ten_thousand_events() -> str:
    """One object of 10,000 events: ``every_minute(10_000)``."""
    return every_minute(10_000)


def daily_series(uid: str, summary: str, first: datetime, days: int) -> str:
    """One object: a one-hour event every day for ``days`` days from ``first`` (UTC)."""
    return single_event(uid, summary, first, rrule=f"FREQ=DAILY;COUNT={days}")


def single_event(uid: str, summary: str, start: datetime, rrule: str | None = None) -> str:
    """One object: a one-hour event at ``start`` (UTC), repeating by ``rrule`` if given."""
    return calendar(
        [
            f"UID:{uid}",
            STAMP,
            f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
            f"DTEND:{start + timedelta(hours=1):%Y%m%dT%H%M%SZ}",
            *([f"RRULE:{rrule}"] if rrule else []),
            f"SUMMARY:{summary}",
        ]
    )
