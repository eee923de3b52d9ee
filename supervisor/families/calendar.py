"""The calendar tools as the model sees them: descriptions, annotations, renderings, caching."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import msgspec

from protocol import calendar as api
from protocol.diagnosis import CALDAV_CHECKS
from protocol.settings import DavSettings, PoolSettings
from supervisor import calendar_text as text
from supervisor.settings_reader import SettingsReader
from supervisor.tool_spec import CachePolicy, ToolSpec
from supervisor.worker_family import WorkerFamily, access

if TYPE_CHECKING:
    from supervisor.config import Settings


class DavSection(msgspec.Struct, frozen=True):
    url: str = "https://dav.mailbox.org/"
    # A client is made when a call needs one (caldav logs in on its first request).
    pool: PoolSettings = PoolSettings(min_size=0)
    # Requests a minute: well below mailbox.org's 1,500 per 5 minutes.
    rate_limit: int = 150


def _read_dav(reader: SettingsReader) -> DavSection:
    default = DavSection()
    return DavSection(
        url=reader.url(
            "MAILBOX_CALDAV_URL",
            default.url,
            allow_plaintext=reader.flag("MAILBOX_ALLOW_PLAINTEXT", False),
        ),
        pool=reader.pool("CALDAV", default.pool),
        rate_limit=reader.rate_limit("CALDAV", default.rate_limit),
    )


def _configure_dav(section: DavSection, settings: Settings, password: str) -> DavSettings:
    return DavSettings(
        url=section.url,
        **access(section, settings, password),
        timezone=settings.timezone,
        allow_series_delete=settings.allow_series_delete,
    )


DAV_WORKER = WorkerFamily(
    name=api.DAV,
    label="CalDAV",
    read=_read_dav,
    configure=_configure_dav,
    describe=lambda section: f"CalDAV {section.url}",
    checks=CALDAV_CHECKS,
    tool_families=(
        "calendar",
        "contacts",
        "tasks",
    ),
)

CALENDAR_CACHE = CachePolicy(ttl=lambda settings: settings.cache_calendar_ttl)


# Every calendar read is cached under one policy. No calendar write is idempotent: a
# second call makes a second event, meets a changed ETag or finds the event gone.
_read = partial(ToolSpec, family="calendar", cache=CALENDAR_CACHE)
_write = partial(ToolSpec, family="calendar", idempotent=False)


CALENDAR_TOOLS: tuple[ToolSpec, ...] = (
    _read(
        api.LIST_CALENDARS,
        title="List calendars",
        description=(
            "List the user's calendars: id, name, color, description, read-only, and what "
            "each holds. Other calendar tools take an id or name as 'calendars' or 'calendar' "
            "(get_calendar_events, create_event)."
        ),
        render=text.render_calendars,
    ),
    _read(
        api.GET_CALENDAR_EVENTS,
        title="Calendar events in a range",
        description=(
            "Every event between 'start' and 'end' (ISO dates or date-times), repeating ones "
            "expanded, sorted, with offsets in the user's zone; all-day events as dates. Each "
            "occurrence's id goes to update_event or delete_event. To find an event by its "
            "words use search_calendar."
        ),
        render=text.render_events,
    ),
    _read(
        api.SEARCH_CALENDAR,
        title="Search the calendar",
        description=(
            "Find events whose summary, description, location or attendees contain 'query' "
            "(any case), between 'start' and 'end' (default a year back to a year ahead). For "
            "all events of some days use get_calendar_events."
        ),
        render=text.render_events,
    ),
    _read(
        api.GET_FREE_BUSY,
        title="Free and busy time",
        description=(
            "Find time for a meeting between 'start' and 'end': merged busy time (tentative "
            "marked; cancelled and transparent events never block) and free slots from now "
            "on of at least 'duration_minutes' within 'working_hours' (HH:MM-HH:MM) on "
            "'working_days' (1 = Monday; default Monday to Friday). Then create_event."
        ),
        render=text.render_free_busy,
    ),
    _write(
        api.CREATE_EVENT,
        title="Create an event",
        description=(
            "Create an event: 'summary', 'start' and 'end' (ISO date-times, without an offset "
            "in 'timezone' or the user's zone; or dates with 'all_day'), optional 'calendar', "
            "'location', 'description', 'attendees', 'rrule', 'reminders_minutes'. To change "
            "one use update_event."
        ),
        render=text.render_written,
        destructive=False,
    ),
    _write(
        api.UPDATE_EVENT,
        title="Change an event",
        description=(
            "Change the event 'id' (from get_calendar_events or search_calendar): give only what "
            "changes, as for create_event. For a repeating event 'scope' 'occurrence' changes "
            "that date, 'series' all of them. Fails if it was changed elsewhere meanwhile."
        ),
        render=text.render_written,
        arguments_of=api.CreateEventArgs,
        destructive=False,
    ),
    _write(
        api.DELETE_EVENT,
        title="Delete an event",
        description=(
            "Delete the event 'id' (from get_calendar_events or search_calendar). For a "
            "repeating event 'scope' 'occurrence' removes that date, 'series' all of them."
        ),
        render=text.render_event_deleted,
        destructive=True,
    ),
)
