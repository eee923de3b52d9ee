"""The properties create_event and update_event write on a VEVENT, read from the tool's text.

Starts and ends are read in the event's zone; the other fields are replaced
only where the arguments give them (None leaves a field as it is, "" or []
removes it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo

from icalendar import Alarm, Event

from protocol.calendar import CreateEventArgs, UpdateEventArgs
from protocol.errors import InvalidArgument
from protocol.when import parse_when, resolve
from workers.dav import rules

PRODID = "-//mailbox-mcp-server//EN"


def moment(text: str, zone: tzinfo) -> datetime:
    """A start or end in the event's zone: a wall-clock time read there (refused where it
    does not exist), a time with an offset converted to it (never a made-up TZID).

    Raises InvalidArgument for text that is not such a time."""
    try:
        value = resolve(parse_when(text, "start/end"), "start/end", zone)
        return value.astimezone(zone)
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from None


def day(text: str) -> date:
    """The date of a start or end given as a date or a date-time."""
    value = parse_when(text, "start/end")
    return value.date() if isinstance(value, datetime) else value


def later_than(start: str | None, end: str | None) -> str:
    """The sentence for an end not later than its start; it names the likely mix-up
    when both were given as dates without times."""
    given = [v for v in (start, end) if v]
    if given and all(not isinstance(parse_when(v, "start/end"), datetime) for v in given):
        return (
            "end must be later than start. start and end are dates without times, read as "
            "midnight: for an all-day event set all_day to true (end is then inclusive)."
        )
    return "end must be later than start."


def set_times(event: Event, start: str, end: str, all_day: bool, zone: tzinfo) -> None:
    """DTSTART and DTEND of a new event; an all-day ``end`` is the last day, inclusive.

    Raises InvalidArgument for an end before (or, timed, at) the start."""
    if all_day:
        first, last = day(start), day(end)
        if last < first:
            raise InvalidArgument("end must not be earlier than start.")
        set_span(event, first, last + timedelta(days=1))  # iCalendar's end date is exclusive
    else:
        first_time, last_time = moment(start, zone), moment(end, zone)
        if last_time <= first_time:
            raise InvalidArgument(later_than(start, end))
        set_span(event, first_time, last_time)


def set_span(event: Event, first: date | datetime, last: date | datetime) -> None:
    """DTSTART and DTEND, replacing whatever start, end or DURATION the event had."""
    for name in ("DTSTART", "DTEND", "DURATION"):
        event.pop(name, None)
    event.add("DTSTART", first)
    event.add("DTEND", last)


def length(event: Event) -> timedelta:
    """How long the event lasts, from DTEND or DURATION (RFC 5545's defaults without)."""
    start = event["DTSTART"].dt
    if event.get("DTEND") is not None:
        return event["DTEND"].dt - start  # type: ignore[no-any-return]
    if event.get("DURATION") is not None:
        return event["DURATION"].dt  # type: ignore[no-any-return]
    return timedelta(days=1) if not isinstance(start, datetime) else timedelta(0)


def set_fields(event: Event, args: CreateEventArgs | UpdateEventArgs) -> None:
    """Location, description, attendees, recurrence rule and reminders from ``args``.

    Raises InvalidArgument for an attendee or rule that cannot be used."""
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


def bump(event: Event) -> None:
    """A new DTSTAMP and the next SEQUENCE, so calendar apps see the change as newer."""
    event.pop("DTSTAMP", None)
    event.add("DTSTAMP", datetime.now(UTC))
    sequence = int(event.get("SEQUENCE", 0))
    event.pop("SEQUENCE", None)
    event.add("SEQUENCE", sequence + 1)
