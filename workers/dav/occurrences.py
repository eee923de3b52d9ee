"""Which occurrences a recurring event object has, by the RECURRENCE-ID that names them.

An occurrence exists while the series' rule (RRULE, RDATE, less EXDATE)
produces it or an override (a VEVENT with its RECURRENCE-ID) stands for it;
the checks here are what keeps an edit from reviving a deleted occurrence.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from icalendar import Calendar, Event

from workers.dav import expand
from workers.dav.event_fields import PRODID


def override_of(calendar: Calendar, uid: str, recurrence: str) -> Event | None:
    """The VEVENT that overrides occurrence ``recurrence`` of ``uid``, if there is one."""
    for event in calendar.walk("VEVENT"):
        rid = event.get("RECURRENCE-ID")
        if (
            str(event.get("UID")) == uid
            and rid is not None
            and rid.to_ical().decode() == recurrence
        ):
            return event
    return None


def recurrence_value(master: Event, recurrence: str) -> Any:
    """The RECURRENCE-ID text as a date or date-time in the master's zone.

    Raises ValueError for text that is neither."""
    first = master["DTSTART"].dt
    if "T" not in recurrence:
        return date(int(recurrence[:4]), int(recurrence[4:6]), int(recurrence[6:8]))
    moment_utc = recurrence.endswith("Z")
    parsed = datetime.strptime(recurrence.rstrip("Z"), "%Y%m%dT%H%M%S")
    if moment_utc:
        parsed = parsed.replace(tzinfo=UTC)
        return (
            parsed.astimezone(first.tzinfo)
            if isinstance(first, datetime) and first.tzinfo
            else parsed
        )
    if isinstance(first, datetime) and first.tzinfo:
        return parsed.replace(tzinfo=first.tzinfo)
    return parsed


def repeats(event: Event) -> bool:
    return event.get("RRULE") is not None or event.get("RDATE") is not None


def same_moment(a: date | datetime | None, b: date | datetime) -> bool:
    """Whether two starts are the same: a date never equals a date-time, nor a floating
    time one with a zone (Python would raise or compare them loosely)."""
    if a is None or isinstance(a, datetime) != isinstance(b, datetime):
        return False
    if (
        isinstance(a, datetime)
        and isinstance(b, datetime)
        and (a.tzinfo is None) != (b.tzinfo is None)
    ):
        return False
    return a == b


def as_datetime(value: date | datetime, zone: tzinfo) -> datetime:
    """An aware date-time: floating times and dates (their midnight) read in ``zone``."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    return datetime.combine(value, time(0), tzinfo=zone)


def rule_occurrences(
    calendar: Calendar, master: Event, start: datetime, end: datetime, zone: tzinfo
) -> list[expand.Occurrence]:
    """The occurrences ``master``'s own rule produces between ``start`` and ``end``
    (overrides left out: original_start is what a RECURRENCE-ID would name)."""
    alone = Calendar()
    alone.add("PRODID", PRODID)
    alone.add("VERSION", "2.0")
    for component in calendar.subcomponents:
        if component.name == "VTIMEZONE":
            alone.add_component(component)
    alone.add_component(master)
    out = expand.Expansion()
    expand.expand(alone, start, end, zone, href="", calendar_name="", out=out)
    return out.occurrences


def drops_occurrences(calendar: Calendar, before: Event, after: Event, zone: tzinfo) -> bool:
    """Whether the series ``after`` has fewer occurrences than ``before``: it stops
    repeating, ends where it went on for ever, or is thinner over the old series' span."""
    if not repeats(before):
        return False
    if not repeats(after):
        return True
    if not _finite(before) and _finite(after):
        return True
    first = min(as_datetime(before["DTSTART"].dt, zone), as_datetime(after["DTSTART"].dt, zone))
    if _finite(before):
        old = rule_occurrences(calendar, before, first, first + timedelta(days=366 * 200), zone)
        if not old:
            return False
        last = max(as_datetime(o.start, zone) for o in old)
        until = last + timedelta(seconds=1)
    else:
        until = max(first, datetime.now(UTC)) + timedelta(days=2 * 366)
    old_count = len(rule_occurrences(calendar, before, first, until, zone))
    return len(rule_occurrences(calendar, after, first, until, zone)) < old_count


def _finite(event: Event) -> bool:
    rules = event.get("RRULE")
    if rules is None:
        return True  # RDATEs only
    for rule in rules if isinstance(rules, list) else [rules]:
        if rule.get("COUNT") is None and rule.get("UNTIL") is None:
            return False
    return True
