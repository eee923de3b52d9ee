"""Building and changing iCalendar objects for create_event, update_event, delete_event.

Edits work on the whole object as the server holds it: a change to one
occurrence becomes an override (RECURRENCE-ID), deleting one occurrence an
EXDATE; the object is then written back with If-Match on its ETag. The fields
written are in ``event_fields``, the moving of a series in ``retiming``, and
which occurrences a series has in ``occurrences``.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, vRecur

from protocol.calendar import CreateEventArgs, UpdateEventArgs
from protocol.errors import InvalidArgument, NotFound, Refused
from protocol.tasks import check_description
from workers.dav.event_fields import PRODID, bump, length, set_fields, set_span, set_times
from workers.dav.occurrences import (
    as_datetime,
    drops_occurrences,
    override_of,
    recurrence_value,
    repeats,
    rule_occurrences,
    same_moment,
)
from workers.dav.retiming import carry, move


def zone_named(name: str | None, default: tzinfo) -> tzinfo:
    """The IANA zone ``name``, or ``default`` without one. Raises InvalidArgument."""
    if not name:
        return default
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument(
            f"{name!r} is not a time zone name; use an IANA name such as Europe/Berlin."
        ) from None


def new_calendar(args: CreateEventArgs, zone: tzinfo, domain: str) -> tuple[Calendar, str]:
    """A VCALENDAR with one new VEVENT (and its VTIMEZONE); returns it and the UID."""
    check_texts(args)
    uid = f"{uuid.uuid4()}@{domain}"
    event = Event()
    event.add("UID", uid)
    event.add("DTSTAMP", datetime.now(UTC))
    event.add("SUMMARY", args.summary)
    set_times(event, args.start, args.end, args.all_day, zone)
    set_fields(event, args)
    check_until(event, zone)
    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar, uid


def check_texts(args: CreateEventArgs | UpdateEventArgs) -> None:
    """A description or location may hold line breaks, never NUL or other control
    characters (Xandikos refuses them with a 412, which would read as a change made
    elsewhere). Raises InvalidArgument."""
    try:
        check_description(args.description)
        check_description(args.location, "The location")
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from None


def master_of(calendar: Calendar, uid: str) -> Event:
    """The series (or single event) ``uid``; an override where the object has only those.

    Raises NotFound when the object holds no event ``uid``."""
    for event in calendar.walk("VEVENT"):
        if str(event.get("UID")) == uid and event.get("RECURRENCE-ID") is None:
            return event
    for event in calendar.walk("VEVENT"):  # an object of overrides only
        if str(event.get("UID")) == uid:
            return event
    raise NotFound("That event is no longer in the calendar; look it up again.")


@dataclass
class Updated:
    recurrence: str  # the recurrence id of what was changed ("" for a series or single event)
    notes: list[str] = field(default_factory=list)


def update(
    calendar: Calendar,
    uid: str,
    recurrence: str,
    args: UpdateEventArgs,
    zone: tzinfo,
    *,
    allow_series_delete: bool = True,
) -> Updated:
    """Apply ``args`` to the series, one occurrence or a single event.

    With scope series, a new start given through an occurrence's id moves every
    occurrence by as much as that one moves (the series keeps its first date and
    count); its EXDATEs and overrides move with it.

    Raises NotFound for an event or occurrence that is gone, InvalidArgument for
    arguments that cannot apply, Refused for a rule that would delete occurrences
    where deleting series is turned off.
    """
    check_texts(args)
    master = master_of(calendar, uid)
    if recurrence:
        check_occurrence(calendar, uid, recurrence, zone)
    target: Event
    retimed = any(v is not None for v in (args.start, args.end, args.all_day, args.timezone))
    notes: list[str] = []
    if args.scope == "occurrence" and recurrence:
        if args.rrule is not None:
            raise InvalidArgument(
                "A single occurrence cannot get its own recurrence; use scope=series."
            )
        found = override_of(calendar, uid, recurrence)
        if found is None:
            found = _new_override(calendar, master, recurrence)
        target = found
        if retimed:
            given_zone = zone_named(args.timezone, zone)
            move(target, target["DTSTART"].dt, args, zone, given_zone, notes)
    else:
        target = master
        before = copy.deepcopy(master)
        if retimed:
            reference = recurrence_value(master, recurrence) if recurrence else None
            given_zone = zone_named(args.timezone, zone)
            shift = move(master, reference, args, zone, given_zone, notes)
            carry(calendar, master, uid, shift)
        if args.rrule is not None and not allow_series_delete:
            after = copy.deepcopy(master)
            set_fields(after, args)
            if drops_occurrences(calendar, before, after, zone):
                raise Refused(
                    "Nothing was changed: this recurrence rule would remove occurrences of "
                    "the repeating series, and deleting series is turned off here "
                    "(MAILBOX_ALLOW_SERIES_DELETE=0). Delete single occurrences (scope "
                    "'occurrence'), or change the series in a calendar app."
                )
        recurrence = ""
    if args.summary is not None:
        target.pop("SUMMARY", None)
        target.add("SUMMARY", args.summary)
    set_fields(target, args)
    if args.rrule is not None:
        check_until(target, zone)
    bump(target)
    calendar.add_missing_timezones()
    return Updated(recurrence, notes)


def check_until(event: Event, zone: tzinfo) -> None:
    """Refuse a rule that ends before the event starts: no occurrence at all (Radicale
    refuses to store it, Xandikos stores an event that never happens). Raises
    InvalidArgument."""
    rule, start = event.get("RRULE"), getattr(event.get("DTSTART"), "dt", None)
    if not isinstance(rule, vRecur) or start is None:
        return
    until = (rule.get("UNTIL") or [None])[0]
    if until is not None and as_datetime(until, zone) < as_datetime(start, zone):
        raise InvalidArgument(
            "The rule's UNTIL is before the event starts, so it would never happen; give a "
            "later UNTIL, or leave 'rrule' out."
        )


def check_occurrence(calendar: Calendar, uid: str, recurrence: str, zone: tzinfo) -> None:
    """Raise NotFound unless ``recurrence`` names an occurrence the object has now:
    one with an override, or one its rule (RRULE, RDATE, less EXDATE) produces."""
    if override_of(calendar, uid, recurrence) is not None:
        return
    master = master_of(calendar, uid)
    gone = NotFound(
        "That occurrence no longer exists (the series was changed, or it was deleted); "
        "nothing was changed. Look the event up again with get_calendar_events."
    )
    if master.get("RECURRENCE-ID") is not None or not repeats(master):
        raise gone
    try:
        wanted = recurrence_value(master, recurrence)
    except ValueError:
        raise gone from None
    around = as_datetime(wanted, zone)
    found = rule_occurrences(
        calendar, master, around - timedelta(days=2), around + timedelta(days=2), zone
    )
    if not any(same_moment(o.original_start, wanted) for o in found):
        raise gone


def _new_override(calendar: Calendar, master: Event, recurrence: str) -> Event:
    override = copy.deepcopy(master)
    for name in ("RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"):
        override.pop(name, None)
    original = recurrence_value(master, recurrence)
    override.add("RECURRENCE-ID", original)
    set_span(override, original, original + length(master))
    calendar.add_component(override)
    return override


def exclude(calendar: Calendar, uid: str, recurrence: str, zone: tzinfo = UTC) -> None:
    """Delete one occurrence: EXDATE on the series, and its override if it has one.
    Raises NotFound if the occurrence does not exist (any more)."""
    check_occurrence(calendar, uid, recurrence, zone)
    master = master_of(calendar, uid)
    override = override_of(calendar, uid, recurrence)
    if override is not None:
        calendar.subcomponents.remove(override)
    master.add("EXDATE", recurrence_value(master, recurrence))
    bump(master)
