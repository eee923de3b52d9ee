"""Arguments and results of the calendar tools."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec

from protocol.contract import Contract, Reads, TagKind, Writes
from protocol.diagnosis import diagnosis
from protocol.email import reject_control_characters
from protocol.fingerprint import freshness_check
from protocol.when import EARLIEST, LATEST, parse_when, resolve
from protocol.writing import check_address

Scope = Literal["occurrence", "series"]

# An ISO 8601 date (2026-11-24) or date-time (2026-11-24T09:30, with an offset or in the
# user's time zone): the tool descriptions and the server's instructions say so once.
When = Annotated[str, msgspec.Meta(min_length=10, max_length=40)]
CalendarRefs = Annotated[
    list[Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]] | None,
    msgspec.Meta(description="Ids or names from list_calendars; default all."),
]
EventIdText = Annotated[
    str,
    msgspec.Meta(
        min_length=4,
        max_length=4000,
        description="An event id as a calendar tool gave it.",
    ),
]
_HOURS = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)\Z")
MAX_RANGE_DAYS = 3 * 366
Cursor = Annotated[
    Annotated[str, msgspec.Meta(max_length=200)] | None,
    msgspec.Meta(description="The previous page's next_cursor."),
]
NextCursor = Annotated[
    str | None, msgspec.Meta(description="Pass as cursor for the next page; null at the end.")
]


def check_range(start: str, end: str) -> tuple[datetime, datetime]:
    """The instants ``start`` and ``end`` name in the user's zone; an end given as a date
    means the whole of that day, so start == end is one day. Raises ValueError."""
    a = resolve(parse_when(start, "start"), "start")
    b = resolve(parse_when(end, "end"), "end", end=True)
    for what, value in (("start", a), ("end", b)):
        if not EARLIEST <= value <= LATEST + timedelta(days=1):
            raise ValueError(
                f"{what} must lie between the years 1 and 9999 (0001-01-02 to 9999-12-30)."
            )
    if a >= b:
        raise ValueError("end must be later than start.")
    if (b - a).days > MAX_RANGE_DAYS:
        raise ValueError("Ask for at most three years at once; narrow start and end.")
    return a, b


def _check_cursor(cursor: str | None) -> None:
    if cursor is not None:
        reject_control_characters(cursor, "The cursor")


def _check_refs(refs: list[str] | None) -> None:
    for ref in refs or ():
        reject_control_characters(ref, "Calendar names")


class ListCalendarsArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """list_calendars takes no arguments."""


class CalendarInfo(msgspec.Struct, frozen=True):
    id: Annotated[str, msgspec.Meta(description="Pass in 'calendars' or 'calendar'.")]
    name: str
    color: str | None = None
    description: str | None = None
    read_only: bool = False
    components: Annotated[
        list[str], msgspec.Meta(description="What it holds: VEVENT, VTODO, ...")
    ] = []


class ListCalendarsResult(msgspec.Struct, frozen=True):
    calendars: list[CalendarInfo]


EventsLimit = Annotated[int, msgspec.Meta(ge=1, le=500, description="Occurrences per page.")]


class GetCalendarEventsArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    start: When
    end: When
    calendars: CalendarRefs = None
    limit: EventsLimit = 20
    cursor: Cursor = None

    def __post_init__(self) -> None:
        check_range(self.start, self.end)
        _check_refs(self.calendars)
        _check_cursor(self.cursor)


class Event(msgspec.Struct, frozen=True):
    id: Annotated[
        str, msgspec.Meta(description="This occurrence; pass to update_event/delete_event.")
    ]
    uid: str
    calendar: str
    summary: str
    start: Annotated[
        str, msgspec.Meta(description="A date for all-day events, else date-time with offset.")
    ]
    end: str
    all_day: bool = False
    location: str | None = None
    description: str | None = None
    recurring: bool = False
    status: Annotated[
        str | None, msgspec.Meta(description="CONFIRMED, TENTATIVE or CANCELLED.")
    ] = None
    attendees: list[str] = []


class EventsResult(msgspec.Struct, frozen=True):
    events: list[Event]
    notes: list[str] = []
    total: Annotated[
        int | None, msgspec.Meta(description="Occurrences in the range, over all pages.")
    ] = None
    next_cursor: NextCursor = None


class SearchCalendarArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    query: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    start: When | None = None
    end: When | None = None
    calendars: CalendarRefs = None
    limit: EventsLimit = 20
    cursor: Cursor = None

    def __post_init__(self) -> None:
        reject_control_characters(self.query, "The query")
        if self.start and self.end:
            check_range(self.start, self.end)
        _check_refs(self.calendars)
        _check_cursor(self.cursor)


class GetFreeBusyArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    start: When
    end: When
    duration_minutes: Annotated[int, msgspec.Meta(ge=5, le=24 * 60)] = 30
    working_hours: str = "09:00-17:00"
    working_days: list[Annotated[int, msgspec.Meta(ge=1, le=7)]] = msgspec.field(
        default_factory=lambda: [1, 2, 3, 4, 5]
    )
    calendars: CalendarRefs = None
    limit: Annotated[
        int, msgspec.Meta(ge=1, le=1000, description="Busy and free entries per page.")
    ] = 50
    cursor: Cursor = None

    def __post_init__(self) -> None:
        check_range(self.start, self.end)
        _check_refs(self.calendars)
        _check_cursor(self.cursor)
        match = _HOURS.match(self.working_hours)
        if not match or match.group(1, 2) >= match.group(3, 4):
            raise ValueError(
                "working_hours must look like 09:00-17:00, the first time earlier than the second."
            )


class Busy(msgspec.Struct, frozen=True):
    start: str
    end: str
    tentative: bool = False


class Free(msgspec.Struct, frozen=True):
    start: str
    end: str
    minutes: int


class FreeBusyResult(msgspec.Struct, frozen=True):
    busy: list[Busy]
    free: list[Free]
    notes: list[str] = []
    total: Annotated[
        int | None, msgspec.Meta(description="Busy and free entries, over all pages.")
    ] = None
    next_cursor: NextCursor = None


Reminders = Annotated[
    Annotated[list[Annotated[int, msgspec.Meta(ge=0, le=40320)]], msgspec.Meta(max_length=10)]
    | None,
    msgspec.Meta(description="Alarms, minutes before the start."),
]


class _EventFields(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    location: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    description: Annotated[str, msgspec.Meta(max_length=20000)] | None = None
    attendees: Annotated[
        Annotated[list[Annotated[str, msgspec.Meta(max_length=500)]], msgspec.Meta(max_length=100)]
        | None,
        msgspec.Meta(description="Addresses; the server may email them invitations."),
    ] = None
    rrule: Annotated[
        Annotated[str, msgspec.Meta(max_length=500)] | None,
        msgspec.Meta(description="RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO,WE."),
    ] = None
    reminders_minutes: Reminders = None
    timezone: Annotated[
        Annotated[str, msgspec.Meta(max_length=100)] | None,
        msgspec.Meta(description="IANA, e.g. Europe/Berlin."),
    ] = None


class CreateEventArgs(_EventFields, forbid_unknown_fields=True, frozen=True, kw_only=True):
    summary: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
    start: When
    end: When
    calendar: Annotated[
        Annotated[str, msgspec.Meta(max_length=2000)] | None,
        msgspec.Meta(description="Id or name; default the first writable calendar."),
    ] = None
    all_day: Annotated[
        bool, msgspec.Meta(description="start and end are dates; end inclusive.")
    ] = False

    def __post_init__(self) -> None:
        if self.all_day:
            _check_days(self.start, self.end)
        else:
            check_range(self.start, self.end)
        _check_texts(self)


class UpdateEventArgs(_EventFields, forbid_unknown_fields=True, frozen=True, kw_only=True):
    id: EventIdText
    scope: Scope = "occurrence"
    summary: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)] | None = None
    start: When | None = None
    end: When | None = None
    all_day: bool | None = None

    def __post_init__(self) -> None:
        reject_control_characters(self.id, "The event id")
        for what, value in (("start", self.start), ("end", self.end)):
            if value is not None:
                _check_moment(value, what)
        _check_texts(self)


class DeleteEventArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    id: EventIdText
    scope: Scope = "occurrence"

    def __post_init__(self) -> None:
        reject_control_characters(self.id, "The event id")


class EventWritten(msgspec.Struct, frozen=True):
    id: str
    uid: str
    calendar: str
    notes: list[str] = []


class EventDeleted(msgspec.Struct, frozen=True):
    deleted: Annotated[
        Literal["occurrence", "series", "event"], msgspec.Meta(description="What was removed.")
    ]
    id: str


def _check_days(start: str, end: str) -> None:
    first, last = parse_when(start, "start"), parse_when(end, "end")
    if isinstance(first, datetime) or isinstance(last, datetime):
        raise ValueError("For all-day events give start and end as dates, e.g. 2026-11-24.")
    _check_day(first, "start")
    _check_day(last, "end")
    if last < first:
        raise ValueError("end must not be earlier than start.")


def _check_day(value: date, what: str) -> None:
    if not EARLIEST.date() <= value <= LATEST.date():
        raise ValueError(f"{what} must lie between 0001-01-02 and 9999-12-30.")


def _check_moment(text: str, what: str) -> None:
    """A start or end of update_event: a date (all-day) or a time that exists."""
    value = parse_when(text, what)
    if isinstance(value, datetime):
        instant = resolve(value, what)
        if not EARLIEST <= instant <= LATEST:
            raise ValueError(f"{what} must lie between 0001-01-02 and 9999-12-30.")
    else:
        _check_day(value, what)


def _check_texts(fields: _EventFields) -> None:
    for what, value in (
        ("The summary", getattr(fields, "summary", None)),
        ("The location", fields.location),
        ("The recurrence rule", fields.rrule),
        ("The time zone", fields.timezone),
    ):
        if value is not None:
            reject_control_characters(value, what)
    for address in fields.attendees or ():
        check_address(address, "attendees")


# -- the calendar family's contracts -----------------------------------------------------

DAV = "dav"
DAV_CALENDARS = TagKind("dav:calendars")  # the calendar list
DAV_CALENDAR = TagKind("dav:calendar")  # one calendar's events, by its path
_ANY_CALENDAR = (DAV_CALENDARS, DAV_CALENDAR)

DAV_CHECK_FRESH = freshness_check(DAV)
DAV_DIAGNOSE = diagnosis(DAV)

LIST_CALENDARS = Contract(
    "list_calendars",
    DAV,
    ListCalendarsArgs,
    ListCalendarsResult,
    reads=(DAV_CALENDARS,),
    revalidated_by=DAV_CHECK_FRESH,
)
# The reads and writes of what is in the calendars: events, and tasks (a task list is
# a calendar collection).
CALENDAR_READ = Reads(DAV, (DAV_CALENDAR,), DAV_CHECK_FRESH)
CALENDAR_WRITE = Writes(DAV, _ANY_CALENDAR)
GET_CALENDAR_EVENTS = CALENDAR_READ("get_calendar_events", GetCalendarEventsArgs, EventsResult)
SEARCH_CALENDAR = CALENDAR_READ("search_calendar", SearchCalendarArgs, EventsResult)
GET_FREE_BUSY = CALENDAR_READ("get_free_busy", GetFreeBusyArgs, FreeBusyResult)
CREATE_EVENT = CALENDAR_WRITE("create_event", CreateEventArgs, EventWritten)
UPDATE_EVENT = CALENDAR_WRITE("update_event", UpdateEventArgs, EventWritten)
DELETE_EVENT = CALENDAR_WRITE("delete_event", DeleteEventArgs, EventDeleted)

CALENDAR_CONTRACTS: tuple[Contract[Any, Any], ...] = (
    LIST_CALENDARS,
    GET_CALENDAR_EVENTS,
    SEARCH_CALENDAR,
    GET_FREE_BUSY,
    CREATE_EVENT,
    UPDATE_EVENT,
    DELETE_EVENT,
    DAV_CHECK_FRESH,
    DAV_DIAGNOSE,
)
