"""place_invitation: check an invitation against the user and the calendar, build the
REPLY, and put the event into the calendar (or take a cancelled one out).

The calendar copy is found by UID in every event calendar (one REPORT each); a new
one goes to the first writable event calendar. An update keeps what the user added
to the copy (alarms, categories). The copy's ORGANIZER carries SCHEDULE-AGENT=CLIENT
(RFC 6638 section 7.1): the reply goes out by mail from here, so a server that
schedules itself must not send a second one.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit
from xml.sax.saxutils import escape

import msgspec
from caldav.davclient import DAVClient
from icalendar import Calendar, Event

from protocol import invitations as api
from protocol.errors import NotFound, Refused
from workers.dav import client as dav
from workers.dav import expand, itip
from workers.dav.event_fields import PRODID
from workers.dav.event_text import one_line
from workers.dav.handlers import CALENDARS_TAG, DavState, calendar_tag, choose, listing
from workers.dav.ids import EventId
from workers.dav.principal import principal_facts
from workers.dav.propfind import NS
from workers.runtime import CallContext, serves

_SAFE_NAME = re.compile(r"[^A-Za-z0-9@._-]")
_BY_UID = """<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data/></d:prop>
  <c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">
    <c:prop-filter name="UID"><c:text-match collation="i;octet">{uid}</c:text-match></c:prop-filter>
  </c:comp-filter></c:comp-filter></c:filter>
</c:calendar-query>"""
# What the user may have added to their copy, kept when the organizer's update replaces it.
_KEPT_COMPONENTS = ("VALARM",)
_KEPT_PROPERTIES = ("CATEGORIES", "TRANSP", "CLASS")


@dataclass
class Copy:
    calendar: dav.CalendarMeta
    stored: dav.StoredObject
    parsed: Calendar
    events: list[Event]

    @property
    def sequence(self) -> int:
        return itip.sequence_of(self.events)

    def own_partstat(self, identities: set[str]) -> str | None:
        for event in self.events:
            attendee = itip.own_attendee(event, identities)
            if attendee is not None:
                return str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
        return None


def find_copy(client: DAVClient, calendars: list[dav.CalendarMeta], uid: str) -> Copy | None:
    """The calendar object holding event ``uid``, if any calendar has one."""
    body = _BY_UID.format(uid=escape(uid))
    for meta in calendars:
        response = client.report(meta.url, body, depth=1)
        if int(getattr(response, "status", 0) or 0) >= 400:
            continue  # a calendar that cannot filter by UID cannot hold a copy we made
        for item in response.tree.findall("d:response", NS) if response.tree is not None else []:
            data = item.findtext(".//c:calendar-data", default="", namespaces=NS)
            href = item.findtext("d:href", default="", namespaces=NS)
            etag = item.findtext(".//d:getetag", default="", namespaces=NS) or None
            if not data or not href:
                continue
            try:
                parsed = expand.parse(data)
            except ValueError:
                continue
            events = [e for e in parsed.walk("VEVENT") if one_line(e.get("UID")) == uid]
            if events:
                path = unquote(urlsplit(urljoin(meta.url, href)).path)
                return Copy(meta, dav.StoredObject(path, etag, data), parsed, events)
    return _placed_here(client, calendars, uid)


def own_href(calendar: dav.CalendarMeta, uid: str) -> str:
    """Where this server puts a new copy of event ``uid`` in ``calendar``."""
    return calendar.path.rstrip("/") + "/" + _SAFE_NAME.sub("_", uid)[:200] + ".ics"


def _placed_here(client: DAVClient, calendars: list[dav.CalendarMeta], uid: str) -> Copy | None:
    """The copy at the place this server puts new ones, read directly: Radicale's UID
    query misses an object holding only single occurrences (no series), and the next
    answer to the same event must update that object, not fail to create it again."""
    writable = [c for c in calendars if not c.read_only]
    if not writable:
        return None
    try:
        stored = dav.fetch(client, own_href(writable[0], uid))
        parsed = expand.parse(stored.data)
    except (NotFound, ValueError):
        return None
    events = [e for e in parsed.walk("VEVENT") if one_line(e.get("UID")) == uid]
    return Copy(writable[0], stored, parsed, events) if events else None


def set_partstat(events: list[Event], identities: set[str], partstat: str) -> None:
    """The user's answer on every ATTENDEE line naming them, in every event given."""
    for event in events:
        mine = itip.own_attendees(event, identities)
        if mine:
            _replace_attendees(event, mine, partstat)


def _replace_attendees(event: Event, mine: list[Any], partstat: str) -> None:
    found = event.get("ATTENDEE")
    attendees = found if isinstance(found, list) else [found]
    event.pop("ATTENDEE", None)
    for attendee in attendees:
        own = any(attendee is m for m in mine)
        event.add("ATTENDEE", itip.with_partstat(attendee, partstat) if own else attendee)


def _client_schedules(events: list[Event]) -> None:
    for event in events:
        organizer = event.get("ORGANIZER")
        if organizer is not None and hasattr(organizer, "params"):
            organizer.params["SCHEDULE-AGENT"] = "CLIENT"


def _override(master: Event, rid: date | datetime) -> Event:
    """A new VEVENT for one occurrence of ``master``, starting where it originally did."""
    override = copy.deepcopy(master)
    for name in ("RRULE", "RDATE", "EXDATE", "RECURRENCE-ID", "DTSTART", "DTEND"):
        override.pop(name, None)
    length = itip.length_of(master)
    override.add("RECURRENCE-ID", rid)
    override.add("DTSTART", rid)
    if length is not None and master.get("DURATION") is None:
        override.add("DTEND", rid + length)
    return override


def answered(
    invite: itip.Invite,
    base: Calendar,
    events: list[Event],
    identities: set[str],
    partstat: str,
    rid: date | datetime | None,
) -> None:
    """Write the user's answer into ``events`` of ``base``: every one for the series, or
    the override of occurrence ``rid`` (made if missing)."""
    if rid is None:
        set_partstat(events, identities, partstat)
        return
    target = next(
        (e for e in events if e.get("RECURRENCE-ID") is not None and e["RECURRENCE-ID"].dt == rid),
        None,
    )
    if target is None:
        target = _override(events[0], rid)
        base.add_component(target)
    set_partstat([target], identities, partstat)


def fresh_object(invite: itip.Invite) -> Calendar:
    """The invitation's event as a calendar object (no METHOD)."""
    result = Calendar()
    result.add("PRODID", PRODID)
    result.add("VERSION", "2.0")
    for zone in invite.calendar.walk("VTIMEZONE"):
        result.add_component(copy.deepcopy(zone))
    for event in invite.events:
        result.add_component(copy.deepcopy(event))
    return result


def updated_object(invite: itip.Invite, found: Copy) -> Calendar:
    """The organizer's newer version in the copy, with what the user added to it. An
    update of the series replaces every VEVENT of the UID; one about single occurrences
    (no series in it) replaces just those, and the rest of the copy stays."""
    result = found.parsed
    whole = any(_rid(e) is None for e in invite.events)
    replaced = {itip.rid_text(_rid(e)) for e in invite.events}
    old = {itip.rid_text(_rid(e)): e for e in found.events}
    for event in found.events:
        if whole or itip.rid_text(_rid(event)) in replaced:
            result.subcomponents.remove(event)
    known = {str(z.get("TZID")) for z in result.walk("VTIMEZONE")}
    for zone in invite.calendar.walk("VTIMEZONE"):
        if str(zone.get("TZID")) not in known:
            result.subcomponents.insert(0, copy.deepcopy(zone))
    for event in invite.events:
        added = copy.deepcopy(event)
        result.add_component(added)
        before = old.get(itip.rid_text(_rid(event)))
        if before is None:
            continue
        kept = [c for c in before.subcomponents if c.name in _KEPT_COMPONENTS]
        if kept:  # the user's alarms, not the organizer's suggestion
            added.subcomponents = [c for c in added.subcomponents if c.name not in _KEPT_COMPONENTS]
            added.subcomponents += [copy.deepcopy(c) for c in kept]
        for name in _KEPT_PROPERTIES:
            if before.get(name) is not None and added.get(name) is None:
                added[name] = before[name]
    return result


def _rid(event: Event) -> date | datetime | None:
    rid = event.get("RECURRENCE-ID")
    return rid.dt if rid is not None else None


def cancelled(invite: itip.Invite, found: Copy) -> Calendar | None:
    """The copy without what the CANCEL takes out; None when the whole event goes."""
    if any(_rid(e) is None for e in invite.events):
        return None
    master = next((e for e in found.events if e.get("RECURRENCE-ID") is None), None)
    left = list(found.events)
    for event in invite.events:
        rid = _rid(event)
        for held in [e for e in left if _rid(e) == rid]:
            found.parsed.subcomponents.remove(held)
            left.remove(held)
        if master is not None:
            master.add("EXDATE", rid)
    # Without a series (the user was invited to single occurrences), what is left of them
    # stays; the object goes only when nothing of the event is left in it.
    return found.parsed if left else None


def check_same_organizer(invite: itip.Invite, found: Copy) -> None:
    """Only the organizer of the event in the calendar may update or cancel it (RFC 5546
    section 3.2): a mail that names its UID but another organizer (or none, or the
    user's own event, which has none) is refused, whatever its SEQUENCE."""
    held = found.events[0].get("ORGANIZER")
    organizer = itip.address_of(held) if held is not None else None
    if organizer and invite.organizer == organizer:
        return
    whose = (
        "your own event, with no organizer"
        if not organizer
        else f"organised by {organizer}"
        if itip.is_bare_address(organizer)
        else "organised by someone else"
    )
    sender = invite.organizer if itip.is_bare_address(invite.organizer) else "no usable address"
    raise Refused(
        f"The event with this UID in {found.calendar.name} is {whose}, but this email's "
        f"organizer is {sender}, who cannot change it; the calendar event was left alone. "
        f"{itip.NOTHING_DONE}"
    )


def _stale(invite: itip.Invite, found: Copy) -> Refused:
    return Refused(
        f"That email is an older version of the event (update {invite.sequence}) than "
        f"the one in the calendar (update {found.sequence}); answer the latest invitation "
        f"email instead. {itip.NOTHING_DONE}"
    )


@serves(api.PLACE_INVITATION)
async def place_invitation(
    args: api.PlaceInvitationArgs, state: DavState, ctx: CallContext
) -> api.PlacedInvitation:
    facts = await principal_facts(state, ctx)
    identities = {state.settings.username.lower(), *facts.addresses}
    invite = itip.read_invite(args.calendar)
    attendee = itip.check_answerable(invite, args.response, identities)
    rid = itip.occurrence_of(invite, args.occurrence, state.zone) if args.occurrence else None
    if rid is None and invite.master.get("RECURRENCE-ID") is not None:
        rid = invite.master["RECURRENCE-ID"].dt  # an invitation about one occurrence only
    calendars = choose(await listing(state, ctx), None)
    found = await state.pool.run(
        lambda c: find_copy(c, calendars, invite.uid), deadline=ctx.deadline
    )
    if found is not None:
        check_same_organizer(invite, found)
        if invite.sequence < found.sequence:
            raise _stale(invite, found)
    notes: list[str] = []
    reply, key, others = None, "", []
    if args.response != "remove":
        built = itip.build_reply(invite, attendee, args.response, rid, args.comment)
        reply = itip.reply_mail(
            built, invite, args.response, state.settings.username, args.comment, args.in_reply_to
        )
        key = itip.reply_key(invite, rid, args.response)
        others = [itip.reply_key(invite, rid, r) for r in api.PARTSTAT if r != args.response]
    result = api.PlacedInvitation(
        method=invite.method,
        summary=invite.summary,
        uid=invite.uid,
        sequence=invite.sequence,
        recurrence_id=itip.rid_text(rid) or None,
        organizer=invite.organizer,
        attendee=itip.address_of(attendee) if attendee is not None else None,
        reply_mail=reply,
        reply_key=key,
        other_keys=others,
        calendar_name=found.calendar.name if found else None,
        server_schedules=facts.schedules,
        notes=notes,
    )
    if args.dry_run:
        return result
    return await _place(args, state, ctx, invite, found, identities, rid, calendars, result)


async def _place(
    args: api.PlaceInvitationArgs,
    state: DavState,
    ctx: CallContext,
    invite: itip.Invite,
    found: Copy | None,
    identities: set[str],
    rid: date | datetime | None,
    calendars: list[dav.CalendarMeta],
    result: api.PlacedInvitation,
) -> api.PlacedInvitation:
    if args.response == "remove":
        if found is None:
            note = "The event was not in the calendar, so nothing had to be removed."
            return msgspec.structs.replace(result, notes=[*result.notes, note])
        ctx.tags = [calendar_tag(found.calendar.path), CALENDARS_TAG]
        remaining = cancelled(invite, found)

        def drop(client: DAVClient) -> None:
            if remaining is None:
                dav.remove(client, found.stored.href, found.stored.etag)
            else:
                dav.store(
                    client, found.stored.href, remaining.to_ical().decode(), found.stored.etag
                )

        await state.pool.run(drop, deadline=ctx.deadline)
        return msgspec.structs.replace(
            result, calendar_change="removed", calendar_name=found.calendar.name
        )
    partstat = api.PARTSTAT[args.response]
    if found is not None:
        target, href, etag = found.calendar, found.stored.href, found.stored.etag
        before = found.own_partstat(identities)
        newer = invite.sequence > found.sequence
        base = updated_object(invite, found) if newer else found.parsed
        change = "updated"
    else:
        writable = [c for c in calendars if not c.read_only]
        if not writable:
            raise Refused("There is no calendar here that accepts new events.")
        target, etag, before = writable[0], None, None
        href = own_href(target, invite.uid)
        base = fresh_object(invite)
        change = "added"
    events = [e for e in base.walk("VEVENT") if one_line(e.get("UID")) == invite.uid]
    answered(invite, base, events, identities, partstat, rid)
    _client_schedules(events)
    ctx.tags = [calendar_tag(target.path), CALENDARS_TAG]
    text = base.to_ical().decode()
    try:
        await state.pool.run(lambda c: dav.store(c, href, text, etag), deadline=ctx.deadline)
    except Refused:
        shown = (before or "no answer").lower().replace("needs-action", "no answer yet")
        note = (
            f"The calendar server refused to change your answer on the event it holds "
            f"(mailbox.org's calendar keeps invitations it received itself), so "
            f"{target.name} still shows the event with {shown}. Open the event in the "
            "web interface and set your answer there."
            if found is not None
            else f"The calendar server refused to add the event to {target.name}; add "
            "it in the web interface."
        )
        return msgspec.structs.replace(
            result, calendar_change="refused", calendar_name=target.name, notes=[note]
        )
    event_id = str(EventId(target.path, href, invite.uid, ""))
    return msgspec.structs.replace(
        result, calendar_change=change, calendar_name=target.name, event_id=event_id
    )
