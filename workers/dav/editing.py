"""Building and changing iCalendar objects for create_event, update_event, delete_event.

Edits work on the whole object as the server holds it: a change to one
occurrence becomes an override (RECURRENCE-ID), deleting one occurrence an
EXDATE; the object is then written back with If-Match on its ETag.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Alarm, Calendar, Event, vCalAddress, vRecur

from protocol.calendar import CreateEventArgs, UpdateEventArgs
from protocol.email import parse_when
from protocol.errors import InvalidArgument, NotFound

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
    value = parse_when(text, "start/end")
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=zone)
    return value if value.tzinfo else value.replace(tzinfo=zone)


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
            raise InvalidArgument("end must be later than start.")
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
            attendee = vCalAddress(f"mailto:{address.strip()}")
            attendee.params["RSVP"] = "TRUE"
            event.add("ATTENDEE", attendee, encode=False)
    if args.rrule is not None:
        event.pop("RRULE", None)
        if args.rrule:
            try:
                rule = vRecur.from_ical(args.rrule.removeprefix("RRULE:"))
            except (ValueError, TypeError, KeyError):
                raise InvalidArgument(
                    f"{args.rrule!r} is not a recurrence rule; write e.g. FREQ=WEEKLY;BYDAY=MO."
                ) from None
            freq = str((rule.get("FREQ") or [""])[0]).upper()
            if freq not in (
                "SECONDLY",
                "MINUTELY",
                "HOURLY",
                "DAILY",
                "WEEKLY",
                "MONTHLY",
                "YEARLY",
            ):
                raise InvalidArgument(
                    f"{args.rrule!r} is not a recurrence rule; write e.g. FREQ=WEEKLY;BYDAY=MO."
                )
            if freq in ("SECONDLY", "MINUTELY", "HOURLY"):
                raise InvalidArgument(
                    "Events can repeat daily at most often (FREQ=DAILY or longer)."
                )
            event.add("RRULE", rule)
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


def update(
    calendar: Calendar, uid: str, recurrence: str, args: UpdateEventArgs, zone: tzinfo
) -> str:
    """Apply ``args`` to the series, one occurrence or a single event; returns the
    recurrence id of what was changed ("" for a series or single event)."""
    master = master_of(calendar, uid)
    target: Event
    if args.scope == "occurrence" and recurrence:
        found = _override(calendar, uid, recurrence)
        if found is None:
            found = _new_override(calendar, master, recurrence)
        target = found
        if args.rrule is not None:
            raise InvalidArgument(
                "A single occurrence cannot get its own recurrence; use scope=series."
            )
    else:
        target, recurrence = master, ""
    if args.summary is not None:
        target.pop("SUMMARY", None)
        target.add("SUMMARY", args.summary)
    if args.start is not None or args.end is not None or args.all_day is not None:
        _move(target, args, zone_named(args.timezone, zone))
    _set_fields(target, args)
    _bump(target)
    calendar.add_missing_timezones()
    return recurrence


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


def _move(event: Event, args: UpdateEventArgs, zone: tzinfo) -> None:
    old_start = event["DTSTART"].dt
    length = _length(event)
    all_day = args.all_day if args.all_day is not None else not isinstance(old_start, datetime)
    if all_day:
        first = (
            day(args.start)
            if args.start
            else (old_start if not isinstance(old_start, datetime) else old_start.date())
        )
        last = (
            day(args.end)
            if args.end
            else first + max(length, timedelta(days=1)) - timedelta(days=1)
        )
        _set_times(event, first.isoformat(), last.isoformat(), True, zone)
        return
    start_zone = old_start.tzinfo if isinstance(old_start, datetime) and old_start.tzinfo else zone
    first_time = (
        moment(args.start, zone)
        if args.start
        else (
            old_start
            if isinstance(old_start, datetime)
            else datetime.combine(old_start, datetime.min.time(), zone)
        )
    )
    last_time = (
        moment(args.end, zone)
        if args.end
        else first_time + (length if isinstance(old_start, datetime) else timedelta(hours=1))
    )
    event.pop("DTSTART", None)
    event.pop("DTEND", None)
    event.pop("DURATION", None)
    if last_time <= first_time:
        raise InvalidArgument("end must be later than start.")
    event.add("DTSTART", first_time.astimezone(start_zone) if args.timezone is None else first_time)
    event.add("DTEND", last_time.astimezone(start_zone) if args.timezone is None else last_time)


def exclude(calendar: Calendar, uid: str, recurrence: str) -> None:
    """Delete one occurrence: EXDATE on the series, and its override if it has one."""
    master = master_of(calendar, uid)
    override = _override(calendar, uid, recurrence)
    if override is not None:
        calendar.subcomponents.remove(override)
    master.add("EXDATE", recurrence_value(master, recurrence))
    _bump(master)
