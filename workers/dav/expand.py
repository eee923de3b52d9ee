"""Occurrences of calendar objects in a time range, expanded here (never by the server).

Every object comes from a stranger's calendar: it is parsed inside its own
guard, its recurrence is estimated before it is expanded (a rule repeating
every second since 1970 would otherwise run for hours), and the number of
occurrences taken from one object and in total is capped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import recurring_ical_events
from icalendar import Calendar, vDDDTypes

from protocol.when import aware

MAX_OCCURRENCES_PER_OBJECT = 2000
MAX_COMPONENTS_PER_OBJECT = 2000
MAX_ESTIMATED_STEPS = 500_000  # recurrence steps from DTSTART to the range end
_STEP_SECONDS = {
    "SECONDLY": 1,
    "MINUTELY": 60,
    "HOURLY": 3600,
    "DAILY": 86400,
    "WEEKLY": 7 * 86400,
    "MONTHLY": 28 * 86400,
    "YEARLY": 365 * 86400,
}


@dataclass
class Occurrence:
    """One occurrence, with times already in the user's zone (dates stay dates)."""

    @property
    def recurrence_id(self) -> str:
        """The RECURRENCE-ID text of this occurrence of a series; "" for a single event."""
        if not self.recurring or self.original_start is None:
            return ""
        return str(vDDDTypes(self.original_start).to_ical().decode())

    component: Any  # the icalendar VEVENT it comes from (the series, or its override)
    start: date | datetime
    end: date | datetime
    all_day: bool
    recurring: bool
    href: str
    calendar: str
    calendar_path: str = ""
    original_start: date | datetime | None = None  # what RECURRENCE-ID names


@dataclass
class Expansion:
    occurrences: list[Occurrence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Prepared:
    """A parsed object and its recurrence query, built once and kept while the object's
    ETag holds: building the query and dateutil's cache inside it cost more than
    expanding one window."""

    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar
        self._query: Any = None
        self._lock = threading.Lock()  # expansions run in several worker threads

    def query(self) -> Any:
        with self._lock:
            if self._query is None:
                self._query = recurring_ical_events.of(self.calendar, skip_bad_series=True)
            return self._query


def parse(text: str) -> Calendar:
    """Raises ValueError for anything icalendar cannot read."""
    try:
        calendar = Calendar.from_ical(text)
    except Exception as exc:  # icalendar raises many types on hostile input
        raise ValueError(f"unreadable iCalendar ({type(exc).__name__})") from None
    if not isinstance(calendar, Calendar):
        raise ValueError("not a VCALENDAR")
    return calendar


def expand(
    source: Calendar | Prepared,
    start: datetime,
    end: datetime,
    zone: tzinfo,
    *,
    href: str,
    calendar_name: str,
    out: Expansion,
) -> None:
    """Append the occurrences of one calendar object between ``start`` and ``end``.

    ``source`` is not changed, so a parsed object can be kept and reused.
    """
    prepared = source if isinstance(source, Prepared) else Prepared(source)
    calendar = prepared.calendar
    events = calendar.walk("VEVENT")
    kept = events
    if len(events) > MAX_COMPONENTS_PER_OBJECT:
        out.notes.append(
            f"An object in {calendar_name} holds {len(events)} events; only the first "
            f"{MAX_COMPONENTS_PER_OBJECT} were read."
        )
        kept = events[:MAX_COMPONENTS_PER_OBJECT]
    dense = False
    for event in list(kept):
        if event.get("RRULE") is None:
            continue
        if _steps(event, start, end, whole_series=True) > MAX_ESTIMATED_STEPS:
            out.notes.append(
                f"'{_summary(event)}' in {calendar_name} repeats too often to list "
                f"({event.get('RRULE').to_ical().decode()[:60]}); it was left out."
            )
            kept = [e for e in kept if e is not event]
        elif _steps(event, start, end, whole_series=False) > MAX_OCCURRENCES_PER_OBJECT:
            dense = True
    if len(kept) != len(events):
        prepared = Prepared(_with_events(calendar, kept))
    # recurring_ical_events gives even single events a RECURRENCE-ID: decide from the source.
    recurring_uids = {
        str(e.get("UID"))
        for e in kept
        if any(e.get(p) is not None for p in ("RRULE", "RDATE", "RECURRENCE-ID"))
    }
    query = prepared.query()
    # The exact window when the answer is known to be small; a lazy walk with a cap otherwise.
    spans = _spans_after(query, start) if dense else _spans_between(query, start, end)
    taken = 0
    for component, first, last, original in spans:
        recurring = str(component.get("UID")) in recurring_uids
        occurrence = _occurrence(component, first, last, zone, href, calendar_name, recurring)
        occurrence.original_start = original
        if _as_datetime(occurrence.start, zone) >= end:
            if dense:
                break
            continue
        if _as_datetime(occurrence.end, zone) <= start and occurrence.end != occurrence.start:
            continue
        taken += 1
        if taken > MAX_OCCURRENCES_PER_OBJECT:
            out.notes.append(
                f"'{_summary(component)}' in {calendar_name} has more than "
                f"{MAX_OCCURRENCES_PER_OBJECT} occurrences in the range; the rest were left out."
            )
            break
        out.occurrences.append(occurrence)


# (source component, start, end, the start RECURRENCE-ID names) of one occurrence.
Span = tuple[Any, date | datetime, date | datetime, date | datetime | None]


def _with_events(calendar: Calendar, events: list[Any]) -> Calendar:
    copy = Calendar()
    for name, value in calendar.property_items(recursive=False)[1:-1]:
        copy.add(name, value)
    copy.subcomponents = [c for c in calendar.subcomponents if c.name != "VEVENT"] + events
    return copy


def _spans_between(query: Any, start: datetime, end: datetime) -> Iterator[Span]:
    # recurring_ical_events turns every occurrence into a copy of its component (two
    # thirds of the expansion time); its occurrences carry all we read, so use them
    # where this version has them, and the public copies otherwise.
    occurrences_between = getattr(query, "_occurrences_between", None)
    try:
        if occurrences_between is None:
            yield from (_span_of_copy(c) for c in query.between(start, end))
            return
        for found in occurrences_between(start, end):
            source = getattr(getattr(found, "_adapter", None), "_component", None)
            if source is None:
                yield _span_of_copy(found.as_component(True))
                continue
            rid = source.get("RECURRENCE-ID")
            yield source, found.start, found.end, rid.dt if rid is not None else found.start
    except Exception:  # a broken series: nothing more from this object
        return


def _spans_after(query: Any, start: datetime) -> Iterator[Span]:
    try:
        yield from (_span_of_copy(c) for c in query.after(start))
    except Exception:  # a broken series deep inside the generator: stop this object
        return


def _span_of_copy(component: Any) -> Span:
    """The span of a component copied for one occurrence (DTSTART is that occurrence's)."""
    dtstart = component.get("DTSTART")
    if dtstart is None:
        raise ValueError("an occurrence without DTSTART")
    first = dtstart.dt
    all_day = isinstance(first, date) and not isinstance(first, datetime)
    dtend = component.get("DTEND")
    if dtend is not None:
        last = dtend.dt
    elif component.get("DURATION") is not None:
        last = first + component.get("DURATION").dt
    else:
        # RFC 5545 3.6.1: a date lasts the day, a date-time is an instant.
        last = first + timedelta(days=1) if all_day else first
    rid = component.get("RECURRENCE-ID")
    return component, first, last, rid.dt if rid is not None else first


def _steps(event: Any, start: datetime, end: datetime, *, whole_series: bool) -> float:
    """Estimated recurrence steps: from DTSTART (the work to reach the range) or
    within the range (the size of the answer) up to ``end``."""
    rule = event.get("RRULE")
    if isinstance(rule, list):
        rule = rule[0]
    freq = str((rule.get("FREQ") or ["DAILY"])[0]).upper()
    interval = int((rule.get("INTERVAL") or [1])[0] or 1)
    count = rule.get("COUNT")
    dtstart = event.get("DTSTART")
    first = getattr(dtstart, "dt", None)
    if first is None:
        return 0
    origin = _as_datetime(first, end.tzinfo)
    if not whole_series:
        origin = max(origin, start)
    span = max(0.0, (end - origin).total_seconds())
    multiplier = 1
    for part in ("BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY", "BYMONTHDAY"):
        multiplier *= max(1, len(rule.get(part) or []))
    steps = span / (_STEP_SECONDS.get(freq, 86400) * max(1, interval)) * multiplier
    return min(steps, float(count[0])) if count else steps


def _occurrence(
    component: Any,
    first: date | datetime,
    last: date | datetime,
    zone: tzinfo,
    href: str,
    calendar_name: str,
    recurring: bool,
) -> Occurrence:
    if isinstance(first, date) and not isinstance(first, datetime):
        end_day = last if not isinstance(last, datetime) else last.date()
        return Occurrence(component, first, end_day, True, recurring, href, calendar_name)
    return Occurrence(
        component,
        _in_zone(first, zone),
        _in_zone(last if isinstance(last, datetime) else _as_datetime(last, zone), zone),
        False,
        recurring,
        href,
        calendar_name,
    )


def _in_zone(value: datetime, zone: tzinfo) -> datetime:
    # A floating time means the user's own wall-clock time.
    return aware(value, zone).astimezone(zone)


def _as_datetime(value: date | datetime, zone: tzinfo | None) -> datetime:
    return aware(value, zone or UTC)


def _summary(component: Any) -> str:
    return " ".join(str(component.get("SUMMARY", "(no title)")).split())[:80]
