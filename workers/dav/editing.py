"""Building and changing iCalendar objects for create_event, update_event, delete_event.

Edits work on the whole object as the server holds it: a change to one
occurrence becomes an override (RECURRENCE-ID), deleting one occurrence an
EXDATE; the object is then written back with If-Match on its ETag.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Alarm, Calendar, Event

from protocol.calendar import CreateEventArgs, UpdateEventArgs
from protocol.errors import InvalidArgument, NotFound, Refused
from protocol.when import parse_when, resolve
from workers.dav import expand, rules

PRODID = "-//mailbox-mcp-server//EN"


def zone_named(name: str | None, default: tzinfo) -> tzinfo:
    if not name:
        return default
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument(
            f"{name!r} is not a time zone name; use an IANA name such as Europe/Berlin."
        ) from None


def moment(text: str, zone: tzinfo) -> datetime:
    """A start or end in the event's zone: a wall-clock time read there (refused where it
    does not exist), a time with an offset converted to it (never a made-up TZID)."""
    try:
        value = resolve(parse_when(text, "start/end"), "start/end", zone)
        return value.astimezone(zone)
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from None


def day(text: str) -> date:
    value = parse_when(text, "start/end")
    return value.date() if isinstance(value, datetime) else value


def new_calendar(args: CreateEventArgs, zone: tzinfo, domain: str) -> tuple[Calendar, str]:
    """A VCALENDAR with one new VEVENT (and its VTIMEZONE); returns it and the UID."""
    uid = f"{uuid.uuid4()}@{domain}"
    event = Event()
    event.add("UID", uid)
    event.add("DTSTAMP", datetime.now(UTC))
    event.add("SUMMARY", args.summary)
    _set_times(event, args.start, args.end, args.all_day, zone)
    _set_fields(event, args)
    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar, uid


def _set_times(event: Event, start: str, end: str, all_day: bool, zone: tzinfo) -> None:
    for name in ("DTSTART", "DTEND", "DURATION"):
        event.pop(name, None)
    if all_day:
        first, last = day(start), day(end)
        if last < first:
            raise InvalidArgument("end must not be earlier than start.")
        event.add("DTSTART", first)
        event.add("DTEND", last + timedelta(days=1))  # iCalendar's end date is exclusive
    else:
        first_time, last_time = moment(start, zone), moment(end, zone)
        if last_time <= first_time:
            raise InvalidArgument(_later_than(start, end))
        event.add("DTSTART", first_time)
        event.add("DTEND", last_time)


def _set_fields(event: Event, args: CreateEventArgs | UpdateEventArgs) -> None:
    if args.location is not None:
        event.pop("LOCATION", None)
        if args.location:
            event.add("LOCATION", args.location)
    if args.description is not None:
        event.pop("DESCRIPTION", None)
        if args.description:
            event.add("DESCRIPTION", args.description)
    if args.attendees is not None:
        event.pop("ATTENDEE", None)
        for address in args.attendees:
            event.add("ATTENDEE", rules.attendee(address), encode=False)
    if args.rrule is not None:
        event.pop("RRULE", None)
        if args.rrule:
            event.add("RRULE", rules.checked_rule(args.rrule, event["DTSTART"].dt))
    if args.reminders_minutes is not None:
        event.subcomponents = [c for c in event.subcomponents if c.name != "VALARM"]
        for minutes in args.reminders_minutes:
            alarm = Alarm()
            alarm.add("ACTION", "DISPLAY")
            alarm.add("DESCRIPTION", str(event.get("SUMMARY", "Reminder")))
            alarm.add("TRIGGER", timedelta(minutes=-minutes))
            event.add_component(alarm)


def _bump(event: Event) -> None:
    event.pop("DTSTAMP", None)
    event.add("DTSTAMP", datetime.now(UTC))
    sequence = int(event.get("SEQUENCE", 0))
    event.pop("SEQUENCE", None)
    event.add("SEQUENCE", sequence + 1)


def master_of(calendar: Calendar, uid: str) -> Event:
    for event in calendar.walk("VEVENT"):
        if str(event.get("UID")) == uid and event.get("RECURRENCE-ID") is None:
            return event
    for event in calendar.walk("VEVENT"):  # an object of overrides only
        if str(event.get("UID")) == uid:
            return event
    raise NotFound("That event is no longer in the calendar; look it up again.")


def _override(calendar: Calendar, uid: str, recurrence: str) -> Event | None:
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
    """The RECURRENCE-ID text as a date or date-time in the master's zone."""
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
    """
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
        found = _override(calendar, uid, recurrence)
        if found is None:
            found = _new_override(calendar, master, recurrence)
        target = found
        if retimed:
            _move(target, target["DTSTART"].dt, args, zone, notes)
    else:
        target = master
        before = copy.deepcopy(master)
        if retimed:
            reference = recurrence_value(master, recurrence) if recurrence else None
            shift = _move(master, reference, args, zone, notes)
            _carry(calendar, master, uid, shift)
        if args.rrule is not None and not allow_series_delete:
            after = copy.deepcopy(master)
            _set_fields(after, args)
            if _drops_occurrences(calendar, before, after, zone):
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
    _set_fields(target, args)
    _bump(target)
    calendar.add_missing_timezones()
    return Updated(recurrence, notes)


def check_occurrence(calendar: Calendar, uid: str, recurrence: str, zone: tzinfo) -> None:
    """Raise NotFound unless ``recurrence`` names an occurrence the object has now:
    one with an override, or one its rule (RRULE, RDATE, less EXDATE) produces."""
    if _override(calendar, uid, recurrence) is not None:
        return
    master = master_of(calendar, uid)
    gone = NotFound(
        "That occurrence no longer exists (the series was changed, or it was deleted); "
        "nothing was changed. Look the event up again with get_calendar_events."
    )
    if master.get("RECURRENCE-ID") is not None or not _repeats(master):
        raise gone
    try:
        wanted = recurrence_value(master, recurrence)
    except ValueError:
        raise gone from None
    around = _as_datetime(wanted, zone)
    found = _occurrences_of(
        calendar, master, around - timedelta(days=2), around + timedelta(days=2), zone
    )
    if not any(_same_moment(o.original_start, wanted) for o in found):
        raise gone


def _repeats(event: Event) -> bool:
    return event.get("RRULE") is not None or event.get("RDATE") is not None


def _same_moment(a: date | datetime | None, b: date | datetime) -> bool:
    if a is None or isinstance(a, datetime) != isinstance(b, datetime):
        return False
    if (
        isinstance(a, datetime)
        and isinstance(b, datetime)
        and (a.tzinfo is None) != (b.tzinfo is None)
    ):
        return False
    return a == b


def _as_datetime(value: date | datetime, zone: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    return datetime.combine(value, time(0), tzinfo=zone)


def _occurrences_of(
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


def _drops_occurrences(calendar: Calendar, before: Event, after: Event, zone: tzinfo) -> bool:
    """Whether the series ``after`` has fewer occurrences than ``before``: it stops
    repeating, ends where it went on for ever, or is thinner over the old series' span."""
    if not _repeats(before):
        return False
    if not _repeats(after):
        return True
    if not _finite(before) and _finite(after):
        return True
    first = min(_as_datetime(before["DTSTART"].dt, zone), _as_datetime(after["DTSTART"].dt, zone))
    if _finite(before):
        old = _occurrences_of(calendar, before, first, first + timedelta(days=366 * 200), zone)
        if not old:
            return False
        last = max(_as_datetime(o.start, zone) for o in old)
        until = last + timedelta(seconds=1)
    else:
        until = max(first, datetime.now(UTC)) + timedelta(days=2 * 366)
    old_count = len(_occurrences_of(calendar, before, first, until, zone))
    return len(_occurrences_of(calendar, after, first, until, zone)) < old_count


def _finite(event: Event) -> bool:
    rules = event.get("RRULE")
    if rules is None:
        return True  # RDATEs only
    for rule in rules if isinstance(rules, list) else [rules]:
        if rule.get("COUNT") is None and rule.get("UNTIL") is None:
            return False
    return True


def _new_override(calendar: Calendar, master: Event, recurrence: str) -> Event:
    override = copy.deepcopy(master)
    for name in ("RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"):
        override.pop(name, None)
    original = recurrence_value(master, recurrence)
    length = _length(master)
    override.add("RECURRENCE-ID", original)
    override.pop("DTSTART", None)
    override.pop("DTEND", None)
    override.pop("DURATION", None)
    override.add("DTSTART", original)
    override.add("DTEND", original + length)
    calendar.add_component(override)
    return override


def _length(event: Event) -> timedelta:
    start = event["DTSTART"].dt
    if event.get("DTEND") is not None:
        return event["DTEND"].dt - start  # type: ignore[no-any-return]
    if event.get("DURATION") is not None:
        return event["DURATION"].dt  # type: ignore[no-any-return]
    return timedelta(days=1) if not isinstance(start, datetime) else timedelta(0)


Shift = Callable[[Any], Any]


def _wall(value: date | datetime, zone: tzinfo | None) -> datetime:
    """The wall-clock time of ``value`` in ``zone`` (a date is its midnight)."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0))
    if value.tzinfo is None or zone is None:
        return value.replace(tzinfo=None)
    return value.astimezone(zone).replace(tzinfo=None)


def _move(
    event: Event,
    reference: date | datetime | None,
    args: UpdateEventArgs,
    zone: tzinfo,
    notes: list[str],
) -> Shift:
    """Set the event's times from ``args``, which speak of the occurrence that starts at
    ``reference`` (its DTSTART if None); returns the wall-clock shift applied, which
    maps any other occurrence start of the event (EXDATE, RECURRENCE-ID) to its new one."""
    old_start = event["DTSTART"].dt
    if reference is None:
        reference = old_start
    old_all_day = not isinstance(old_start, datetime)
    length = _length(event)
    all_day = args.all_day if args.all_day is not None else old_all_day
    old_zone = old_start.tzinfo if isinstance(old_start, datetime) else None
    given_zone = zone_named(args.timezone, zone)
    ref_wall = _wall(reference, old_zone)
    if all_day:
        first = day(args.start) if args.start else ref_wall.date()
        last = (
            day(args.end)
            if args.end
            else first + max(length, timedelta(days=1)) - timedelta(days=1)
        )
        if last < first:
            raise InvalidArgument("end must not be earlier than start.")
        day_shift = datetime.combine(first, time(0)) - ref_wall

        def shift_day(value: Any) -> Any:
            return (_wall(value, old_zone) + day_shift).date()

        new_first = shift_day(old_start)
        _set_span(event, new_first, new_first + (last - first) + timedelta(days=1))
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
        length = moment(args.end, given_zone) - new_ref
    elif old_all_day:
        length = timedelta(hours=1)
    if length <= timedelta(0):
        raise InvalidArgument(_later_than(args.start, args.end))
    new_first = shift_time(old_start)
    _set_span(event, new_first, new_first + length)
    if args.timezone is not None and args.start is None:
        here = new_ref.astimezone(zone)
        notes.append(
            f"Kept the wall-clock time ({new_ref:%H:%M}) and set it in {args.timezone}: "
            f"that is {here:%Y-%m-%d %H:%M} in {_zone_name(zone)}."
        )
    return shift_time


def _zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", None) or zone)


def _later_than(start: str | None, end: str | None) -> str:
    given = [v for v in (start, end) if v]
    if given and all(not isinstance(parse_when(v, "start/end"), datetime) for v in given):
        return (
            "end must be later than start. start and end are dates without times, read as "
            "midnight: for an all-day event set all_day to true (end is then inclusive)."
        )
    return "end must be later than start."


def _set_span(event: Event, first: date | datetime, last: date | datetime) -> None:
    for name in ("DTSTART", "DTEND", "DURATION"):
        event.pop(name, None)
    event.add("DTSTART", first)
    event.add("DTEND", last)


def _carry(calendar: Calendar, master: Event, uid: str, shift: Shift) -> None:
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
    length = _length(master)
    for event in calendar.walk("VEVENT"):
        rid = event.get("RECURRENCE-ID")
        if str(event.get("UID")) != uid or rid is None:
            continue
        original = rid.dt
        new_original = shift(original)
        event.pop("RECURRENCE-ID")
        event.add("RECURRENCE-ID", new_original)
        start = event["DTSTART"].dt if event.get("DTSTART") is not None else None
        if start is None or _same_moment(start, original):  # not moved: it moves along
            own = _length(event) if start is not None else length
            same_kind = isinstance(original, datetime) == isinstance(new_original, datetime)
            _set_span(event, new_original, new_original + (own if same_kind else length))


def exclude(calendar: Calendar, uid: str, recurrence: str, zone: tzinfo = UTC) -> None:
    """Delete one occurrence: EXDATE on the series, and its override if it has one.
    Raises NotFound if the occurrence does not exist (any more)."""
    check_occurrence(calendar, uid, recurrence, zone)
    master = master_of(calendar, uid)
    override = _override(calendar, uid, recurrence)
    if override is not None:
        calendar.subcomponents.remove(override)
    master.add("EXDATE", recurrence_value(master, recurrence))
    _bump(master)
