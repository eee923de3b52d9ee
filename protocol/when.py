"""Dates and times the model gives, read once and in one zone, for email and calendar alike.

The zone is the user's: MAILBOX_TIMEZONE (which the supervisor checks at start and every
worker inherits), else the system's own IANA zone, else UTC. A date-time with an offset
(``Z``, ``-05:00``) is an instant and stays one; one without is a wall-clock time in the
user's zone, which must exist there (not in the hour the clocks skip) and, where it happens
twice (the hour the clocks go back), is the first of the two.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
# The first and last instants every zone can hold (astimezone overflows beyond them).
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def user_zone(configured: str | None = None) -> ZoneInfo:
    """``configured``, else MAILBOX_TIMEZONE, else the system's zone, else UTC."""
    return _zone(configured or os.environ.get("MAILBOX_TIMEZONE") or None)


@lru_cache(maxsize=8)
def _zone(configured: str | None) -> ZoneInfo:
    for candidate in (
        configured,
        os.environ.get("TZ", "").lstrip(":"),
        _from_localtime(),
        _from_file(),
    ):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _from_localtime() -> str | None:
    """/etc/localtime links into a zoneinfo tree on Linux and macOS."""
    try:
        target = str(Path("/etc/localtime").resolve())
    except OSError:
        return None
    marker = "zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else None


def _from_file() -> str | None:
    try:
        return Path("/etc/timezone").read_text().strip() or None
    except OSError:
        return None


def parse_when(value: str, what: str) -> date | datetime:
    """An ISO 8601 date (``2026-11-24``) or date-time (``2026-11-24T09:30:00+01:00``), as
    written: a date-time without an offset is naive (see ``resolve``).

    Raises ValueError with a sentence for the user.
    """
    if any(ch in value for ch in "\r\n\x00"):
        raise ValueError(f"{what} cannot contain line breaks or NUL characters.")
    try:
        if _DATE.match(value):
            return date.fromisoformat(value)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{what} must be an ISO 8601 date such as 2026-11-24 or a date-time such as "
            f"2026-11-24T09:30:00+01:00; got '{value}'."
        ) from None
    if parsed.tzinfo is not None:
        try:
            parsed.astimezone(UTC)
        except OverflowError:
            raise ValueError(f"{what} '{value}' is outside the years 1 to 9999.") from None
    return parsed


def resolve(
    value: date | datetime, what: str, zone: tzinfo | None = None, *, end: bool = False
) -> datetime:
    """The instant ``value`` (from parse_when) names, in ``zone`` (default the user's).

    A date is its midnight, or with ``end`` the midnight after it (the whole day). A
    wall-clock time that does not exist in the zone is refused; of one that happens twice
    the first is taken (``ambiguity`` says so). Raises ValueError with a sentence.
    """
    zone = zone or user_zone()
    if not isinstance(value, datetime):
        if end:
            if value >= date(9999, 12, 31):
                return datetime.max.replace(tzinfo=UTC)
            value += timedelta(days=1)
        return _safe(datetime.combine(value, time(0)), zone)
    if value.tzinfo is not None:
        return value
    gap = skipped(value, zone)
    if gap is not None:
        before, after = gap
        raise ValueError(
            f"{what} {value:%Y-%m-%dT%H:%M} does not exist in {zone}: that night the clocks "
            f"jump from {before:%H:%M} to {after:%H:%M}. The nearest valid times are "
            f"{before - timedelta(minutes=1):%H:%M} and {after:%H:%M}; give one of them, or "
            "a time with an offset."
        )
    return _safe(value, zone)


def ambiguity(value: date | datetime, what: str, zone: tzinfo | None = None) -> str | None:
    """A sentence when the wall-clock ``value`` happens twice in the zone (the first of
    the two is the one ``resolve`` takes); else None."""
    zone = zone or user_zone()
    if not isinstance(value, datetime) or value.tzinfo is not None:
        return None
    try:
        first = value.replace(tzinfo=zone, fold=0)
        second = value.replace(tzinfo=zone, fold=1)
        if first.utcoffset() == second.utcoffset() or skipped(value, zone) is not None:
            return None
    except (OverflowError, ValueError):
        return None
    return (
        f"{what} {value:%Y-%m-%dT%H:%M} happens twice in {zone} (the clocks go back that "
        f"night); the first was taken, {first.isoformat(timespec='minutes')}. For the "
        f"second, give {second.isoformat(timespec='minutes')}."
    )


def skipped(value: datetime, zone: tzinfo) -> tuple[datetime, datetime] | None:
    """For a naive wall-clock time the clocks skip in ``zone``: the wall-clock times where
    the gap begins and ends (02:00 and 03:00); else None."""
    if not _exists(value, zone):
        start = end = value.replace(second=0, microsecond=0)
        for _ in range(48 * 60):  # gaps last an hour, sometimes half an hour, once a day
            if _exists(start - timedelta(minutes=1), zone):
                break
            start -= timedelta(minutes=1)
        for _ in range(48 * 60):
            end += timedelta(minutes=1)
            if _exists(end, zone):
                break
        return start, end
    return None


def _exists(value: datetime, zone: tzinfo) -> bool:
    try:
        aware = value.replace(tzinfo=zone, fold=0)
        back = aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None, fold=0)
    except (OverflowError, ValueError):
        return True  # at the ends of the calendar: nothing to say about clocks
    return back == value.replace(fold=0)


def _safe(value: datetime, zone: tzinfo) -> datetime:
    """``value`` in ``zone``; at the very ends of years 1 and 9999, where the zone's
    offset would leave the calendar, in UTC instead."""
    aware = value.replace(tzinfo=zone)
    try:
        aware.astimezone(UTC)
    except OverflowError:
        return value.replace(tzinfo=UTC)
    return aware


def aware(value: date | datetime, zone: tzinfo) -> datetime:
    """A date or date-time from a calendar object as an instant: a date is its midnight, a
    floating time the user's wall clock. Never refuses (the data is the server's)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else _safe(value, zone)
    return _safe(datetime.combine(value, time(0)), zone)


def instant(value: date | datetime, zone: tzinfo | None = None) -> float:
    """Seconds since 1970-01-01 UTC of ``value`` (a date means its midnight), read in the
    user's zone where it has no offset. Exact from year 1 to year 9999."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.timestamp()
    return aware(value, zone or user_zone()).timestamp()
