"""Moving an event, or a whole series, to new times (update_event's start, end, all_day,
timezone).

A series moves by wall-clock time: every occurrence by as much as the one the
user named, so 09:00 stays 09:00 across a daylight-saving change. Its EXDATEs,
RDATEs, UNTIL and overrides move with it, so what was deleted stays deleted and
what was changed stays changed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from icalendar import Calendar, Event

from protocol.calendar import UpdateEventArgs
from protocol.errors import InvalidArgument
from workers.dav.event_fields import day, later_than, length, moment, set_span
from workers.dav.occurrences import same_moment

Shift = Callable[[Any], Any]
"""Maps an occurrence start of the event as it was to the same occurrence's new start."""


def move(
    event: Event,
    reference: date | datetime | None,
    args: UpdateEventArgs,
    zone: tzinfo,
    given_zone: tzinfo,
    notes: list[str],
) -> Shift:
    """Set the event's times from ``args``, which speak of the occurrence that starts at
    ``reference`` (its DTSTART if None) and give times in ``given_zone``; returns the
    wall-clock shift applied, which maps any other occurrence start of the event (EXDATE,
    RECURRENCE-ID) to its new one. Adds to ``notes`` what the user should know.

    Raises InvalidArgument for an end not after the start, or a time zone for an all-day
    event that stays one."""
    old_start = event["DTSTART"].dt
    if reference is None:
        reference = old_start
    old_all_day = not isinstance(old_start, datetime)
    span = length(event)
    all_day = args.all_day if args.all_day is not None else old_all_day
    old_zone = old_start.tzinfo if isinstance(old_start, datetime) else None
    ref_wall = _wall(reference, old_zone)
    if all_day:
        first = day(args.start) if args.start else ref_wall.date()
        last = (
            day(args.end) if args.end else first + max(span, timedelta(days=1)) - timedelta(days=1)
        )
        if last < first:
            raise InvalidArgument("end must not be earlier than start.")
        day_shift = datetime.combine(first, time(0)) - ref_wall

        def shift_day(value: Any) -> Any:
            return (_wall(value, old_zone) + day_shift).date()

        new_first = shift_day(old_start)
        set_span(event, new_first, new_first + (last - first) + timedelta(days=1))
        if args.timezone is not None:
            if args.start is None and args.end is None and args.all_day is None:
                raise InvalidArgument(
                    "An all-day event has no time zone, so nothing was changed; give start "
                    "and end with times and all_day false to make it a timed event."
                )
            notes.append("The time zone was not used: an all-day event has none.")
        return shift_day
    new_zone: tzinfo = given_zone if args.timezone else (old_zone or zone)
    new_ref_wall = _wall(moment(args.start, given_zone), new_zone) if args.start else ref_wall
    wall_shift = new_ref_wall - ref_wall

    def shift_time(value: Any) -> Any:
        return (_wall(value, old_zone) + wall_shift).replace(tzinfo=new_zone)

    new_ref = new_ref_wall.replace(tzinfo=new_zone)
    if args.end:
        span = moment(args.end, given_zone) - new_ref
    elif old_all_day:
        span = timedelta(hours=1)
    if span <= timedelta(0):
        raise InvalidArgument(later_than(args.start, args.end))
    new_first = shift_time(old_start)
    set_span(event, new_first, new_first + span)
    if args.timezone is not None and args.start is None:
        here = new_ref.astimezone(zone)
        notes.append(
            f"Kept the wall-clock time ({new_ref:%H:%M}) and set it in {args.timezone}: "
            f"that is {here:%Y-%m-%d %H:%M} in {_zone_name(zone)}."
        )
    return shift_time


def carry(calendar: Calendar, master: Event, uid: str, shift: Shift) -> None:
    """Move the series' EXDATEs, RDATEs, UNTIL and overrides by ``shift``, so what was
    deleted stays deleted and what was changed stays changed (and single)."""
    for name in ("EXDATE", "RDATE"):
        found = master.get(name)
        if found is None:
            continue
        values = []
        for listed in found if isinstance(found, list) else [found]:
            for item in listed.dts:
                value = item.dt
                if isinstance(value, tuple):  # an RDATE period: start and end or duration
                    values.append(
                        (
                            shift(value[0]),
                            shift(value[1]) if isinstance(value[1], date) else value[1],
                        )
                    )
                else:
                    values.append(shift(value))
        master.pop(name)
        for value in values:
            master.add(name, value)
    rules = master.get("RRULE")
    for rule in [] if rules is None else rules if isinstance(rules, list) else [rules]:
        until = (rule.get("UNTIL") or [None])[0]
        if until is None:
            continue
        if not isinstance(until, datetime) and isinstance(master["DTSTART"].dt, datetime):
            until = datetime.combine(until, time(23, 59, 59))
        moved = shift(until)
        if isinstance(moved, datetime) and moved.tzinfo is not None:
            moved = moved.astimezone(UTC)
        rule["UNTIL"] = [moved]
    series_length = length(master)
    for event in calendar.walk("VEVENT"):
        rid = event.get("RECURRENCE-ID")
        if str(event.get("UID")) != uid or rid is None:
            continue
        original = rid.dt
        new_original = shift(original)
        event.pop("RECURRENCE-ID")
        event.add("RECURRENCE-ID", new_original)
        start = event["DTSTART"].dt if event.get("DTSTART") is not None else None
        if start is None or same_moment(start, original):  # not moved: it moves along
            own = length(event) if start is not None else series_length
            same_kind = isinstance(original, datetime) == isinstance(new_original, datetime)
            set_span(event, new_original, new_original + (own if same_kind else series_length))


def _wall(value: date | datetime, zone: tzinfo | None) -> datetime:
    """The wall-clock time of ``value`` in ``zone`` (a date is its midnight)."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0))
    if value.tzinfo is None or zone is None:
        return value.replace(tzinfo=None)
    return value.astimezone(zone).replace(tzinfo=None)


def _zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", None) or zone)
