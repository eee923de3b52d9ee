"""The calendar worker's writing tools: create, change and delete events.

Each sets ``ctx.tags`` to the calendar it changed (and the calendar list, whose
ctags change with it), so the supervisor forgets what it had cached of them.
"""

from __future__ import annotations

import re

from caldav.davclient import DAVClient

from protocol import calendar as api
from protocol.errors import Conflict, ProtocolViolation, Refused
from workers.dav import client as dav
from workers.dav import editing, expand, rules
from workers.dav.handlers import (
    CALENDARS_TAG,
    DavState,
    calendar_tag,
    choose,
    clock_notes,
    listing,
)
from workers.dav.ids import EventId
from workers.runtime import CallContext, serves

_SAFE_NAME = re.compile(r"[^A-Za-z0-9@._-]")


def _changes(ctx: CallContext, calendar: str) -> None:
    """The call writes to ``calendar``: the supervisor forgets what it cached of it, and of
    the calendar list, whose ctags change with it."""
    ctx.tags = [calendar_tag(calendar), CALENDARS_TAG]


def _event_to_change(ctx: CallContext, event: str) -> EventId:
    """The event the id ``event`` names, whose calendar the call writes to."""
    event_id = EventId.parse(event)
    _changes(ctx, event_id.calendar)
    return event_id


def new_object_href(collection: str, uid: str) -> str:
    """Where a new object with ``uid`` is stored in the collection at path ``collection``."""
    return collection.rstrip("/") + "/" + _SAFE_NAME.sub("_", uid) + ".ics"


def store_new(client: DAVClient, href: str, text: str, what: str) -> None:
    """A new object (If-None-Match): a 412 here cannot be a change made elsewhere (the
    name is new), it is a server refusing the data (Xandikos answers invalid data so).
    ``what`` names the object in the sentence: "event" or "task"."""
    try:
        dav.store(client, href, text, None)
    except Conflict:
        raise ProtocolViolation(
            f"The calendar server did not accept the new {what}'s data, so nothing was saved."
        ) from None


@serves(api.CREATE_EVENT)
async def create_event(
    args: api.CreateEventArgs, state: DavState, ctx: CallContext
) -> api.EventWritten:
    calendars = await listing(state, ctx)
    writable = [
        c for c in choose(calendars, [args.calendar] if args.calendar else None) if not c.read_only
    ]
    if not writable:
        raise Refused("There is no calendar here that accepts new events.")
    target = writable[0]
    zone = editing.zone_named(args.timezone, state.zone)
    domain = state.settings.username.rpartition("@")[2] or "mailbox-mcp"
    built, uid = editing.new_calendar(args, zone, domain)
    for event in built.walk("VEVENT"):
        rules.add_organizer(event, state.settings.username)
    href = new_object_href(target.path, uid)
    _changes(ctx, target.path)
    text = built.to_ical().decode()
    await state.pool.run(lambda c: store_new(c, href, text, "event"), deadline=ctx.deadline)
    notes = clock_notes(args.start, args.end, zone) if not args.all_day else []
    if args.attendees:
        notes.append("The server may email invitations to the attendees.")
    return api.EventWritten(str(EventId(target.path, href, uid, "")), uid, target.name, notes)


@serves(api.UPDATE_EVENT)
async def update_event(
    args: api.UpdateEventArgs, state: DavState, ctx: CallContext
) -> api.EventWritten:
    event_id = _event_to_change(ctx, args.id)

    def run(client: DAVClient) -> editing.Updated:
        stored = dav.fetch(client, event_id.href)
        parsed = expand.parse(stored.data)
        updated = editing.update(
            parsed,
            event_id.uid,
            event_id.recurrence,
            args,
            state.zone,
            allow_series_delete=state.settings.allow_series_delete,
        )
        for event in parsed.walk("VEVENT"):
            if str(event.get("UID")) == event_id.uid:
                rules.add_organizer(event, state.settings.username)
        dav.store(client, event_id.href, parsed.to_ical().decode(), stored.etag)
        return updated

    updated = await state.pool.run(run, deadline=ctx.deadline)
    new_id = EventId(event_id.calendar, event_id.href, event_id.uid, updated.recurrence)
    name = event_id.calendar.rstrip("/").rsplit("/", 1)[-1]
    zone = editing.zone_named(args.timezone, state.zone)
    notes = clock_notes(args.start, args.end, zone) if not args.all_day else []
    return api.EventWritten(str(new_id), event_id.uid, name, [*notes, *updated.notes])


@serves(api.DELETE_EVENT)
async def delete_event(
    args: api.DeleteEventArgs, state: DavState, ctx: CallContext
) -> api.EventDeleted:
    event_id = _event_to_change(ctx, args.id)

    def run(client: DAVClient) -> str:
        stored = dav.fetch(client, event_id.href)
        parsed = expand.parse(stored.data)
        master = editing.master_of(parsed, event_id.uid)  # NotFound if it is gone
        if event_id.recurrence:  # NotFound if that occurrence is gone (or never was)
            editing.check_occurrence(parsed, event_id.uid, event_id.recurrence, state.zone)
        if args.scope == "occurrence" and event_id.recurrence:
            editing.exclude(parsed, event_id.uid, event_id.recurrence, state.zone)
            dav.store(client, event_id.href, parsed.to_ical().decode(), stored.etag)
            return "occurrence"
        repeats = master.get("RRULE") is not None or master.get("RDATE") is not None
        if repeats and not state.settings.allow_series_delete:
            raise Refused(
                "Nothing was deleted: deleting a whole repeating series is turned off here "
                "(MAILBOX_ALLOW_SERIES_DELETE=0). Delete single occurrences (scope "
                "'occurrence'), or delete the series in a calendar app."
            )
        dav.remove(client, event_id.href, stored.etag)
        return "series" if event_id.recurrence else "event"

    deleted = await state.pool.run(run, deadline=ctx.deadline)
    return api.EventDeleted(deleted=deleted, id=args.id)  # type: ignore[arg-type]
