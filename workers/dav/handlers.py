"""The calendar worker's tools: each turns Struct arguments into a Struct result."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from time import monotonic
from zoneinfo import ZoneInfo

import anyio
from caldav.davclient import DAVClient

from protocol import calendar as api
from protocol.errors import InvalidArgument
from protocol.fingerprint import Freshness, FreshnessArgs
from protocol.settings import DavSettings
from protocol.when import ambiguity, aware, parse_when, resolve, user_zone
from workers.dav import client as dav
from workers.dav import expand, freebusy, paging
from workers.dav.event_text import TextQuery, event_text, one_line
from workers.dav.ids import EventId
from workers.dav.pool import DavPool
from workers.dav.versions import still_current, versions_token
from workers.runtime import CallContext, serves

CALENDARS_TAG = api.DAV_CALENDARS.tag
calendar_tag = api.DAV_CALENDAR.of
MAX_EVENTS = 2000
PARSED_OBJECTS_KEPT = 3000
LISTING_REUSE_SECONDS = 30.0


@dataclass
class DavState:
    settings: DavSettings
    pool: DavPool
    zone: ZoneInfo
    _home: list[str] = field(default_factory=list)
    _lock: anyio.Lock = field(default_factory=anyio.Lock)

    _parsed: OrderedDict[tuple[str, str], expand.Prepared] = field(default_factory=OrderedDict)
    _parsed_lock: threading.Lock = field(default_factory=threading.Lock)
    recent_listing: tuple[float, list[dav.CalendarMeta]] = (0.0, [])
    # The address book home (workers/dav/contacts.py), discovered on first use.
    address_book_home: list[str] = field(default_factory=list)

    def parsed(self, stored: dav.StoredObject) -> expand.Prepared:
        """The object parsed, reused while its ETag is unchanged (parsing costs more than
        expanding). Raises ValueError for unreadable iCalendar."""
        if not stored.etag:
            return expand.Prepared(expand.parse(stored.data))
        key = (stored.href, stored.etag)
        with self._parsed_lock:  # called from several worker threads
            found = self._parsed.get(key)
            if found is not None:
                self._parsed.move_to_end(key)
                return found
        found = expand.Prepared(expand.parse(stored.data))
        with self._parsed_lock:
            self._parsed[key] = found
            if len(self._parsed) > PARSED_OBJECTS_KEPT:
                self._parsed.popitem(last=False)
        return found

    async def home(self, ctx: CallContext) -> str:
        """The calendar home, discovered once per worker."""
        async with self._lock:
            if not self._home:
                self._home.append(await self.pool.run(dav.discover_home, deadline=ctx.deadline))
            return self._home[0]


@asynccontextmanager
async def open_dav_state(settings: DavSettings) -> AsyncIterator[DavState]:
    pool = DavPool(settings)
    try:
        yield DavState(settings, pool, user_zone(settings.timezone))
    finally:
        pool.close()


# -- freshness -----------------------------------------------------------------------


async def listing(state: DavState, ctx: CallContext) -> list[dav.CalendarMeta]:
    home = await state.home(ctx)
    calendars = await state.pool.run(lambda c: dav.list_calendars(c, home), deadline=ctx.deadline)
    state.recent_listing = (monotonic(), calendars)
    return calendars


async def _recent_listing(state: DavState, ctx: CallContext) -> list[dav.CalendarMeta]:
    """The calendars as listed at most LISTING_REUSE_SECONDS ago.

    Safe for freshness tokens: an older version in the token can only make the
    supervisor refetch sooner, never serve a changed calendar. Worth it because
    servers compute a ctag over every object (360 ms for 5,000 on Radicale).
    """
    taken, calendars = state.recent_listing
    if calendars and monotonic() - taken < LISTING_REUSE_SECONDS:
        return calendars
    return await listing(state, ctx)


# The other families of this worker (contacts) prove tokens of their own: a token that
# starts with one of these prefixes is theirs (a calendar token is bare base64url).
FRESHNESS_CHECKS: dict[str, Callable[[str, DavState, CallContext], Awaitable[bool]]] = {}


@serves(api.DAV_CHECK_FRESH)
async def check_fresh(args: FreshnessArgs, state: DavState, ctx: CallContext) -> Freshness:
    for prefix, is_fresh in FRESHNESS_CHECKS.items():
        if args.token.startswith(prefix):
            return Freshness(await is_fresh(args.token.removeprefix(prefix), state, ctx))
    return Freshness(await still_current(args.token, lambda: listing(state, ctx)))


# -- reading -------------------------------------------------------------------------


@serves(api.LIST_CALENDARS)
async def list_calendars(
    _args: api.ListCalendarsArgs, state: DavState, ctx: CallContext
) -> api.ListCalendarsResult:
    calendars = await listing(state, ctx)
    ctx.validator, ctx.tags = versions_token(calendars), [CALENDARS_TAG]
    return api.ListCalendarsResult(
        calendars=[
            api.CalendarInfo(
                id=c.path,
                name=c.name,
                color=c.color,
                description=c.description,
                read_only=c.read_only,
                components=c.components,
            )
            for c in calendars
        ]
    )


def choose(calendars: list[dav.CalendarMeta], refs: list[str] | None) -> list[dav.CalendarMeta]:
    usable = [c for c in calendars if "VEVENT" in c.components]
    if not refs:
        return usable
    chosen = []
    for ref in refs:
        chosen += [c for c in dav.named(usable, ref, "calendar") if c not in chosen]
    return chosen


def _bounds(start: str, end: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants a range names (an end date means the whole of that day)."""
    try:
        first = resolve(parse_when(start, "start"), "start", zone)
        last = resolve(parse_when(end, "end"), "end", zone, end=True)
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from None
    if last <= first:
        raise InvalidArgument("end must be later than start.")
    return first, last


def _local(value: date | datetime, zone: ZoneInfo) -> datetime:
    return aware(value, zone)


def clock_notes(start: str | None, end: str | None, zone: tzinfo) -> list[str]:
    """A note for a start or end that happens twice on the clock (the first was taken)."""
    notes = []
    for what, text in (("start", start), ("end", end)):
        if text:
            note = ambiguity(parse_when(text, what), what, zone)
            if note:
                notes.append(note)
    return notes


async def _occurrences(
    state: DavState,
    ctx: CallContext,
    refs: list[str] | None,
    start: datetime,
    end: datetime,
    search: TextQuery | None = None,
) -> tuple[list[expand.Occurrence], list[str]]:
    """Every occurrence between ``start`` and ``end``, in order, at most MAX_EVENTS.

    With ``search``, only occurrences whose VEVENT (the series or its override)
    matches; an object that cannot match is neither parsed nor expanded, so a
    search pays for the matching events only, and the cap counts matches.
    """
    calendars = choose(await _recent_listing(state, ctx), refs)
    # Taken before the queries: a change meanwhile makes the answer stale, never wrong.
    ctx.validator = versions_token(calendars)
    ctx.tags = [calendar_tag(c.path) for c in calendars]

    def run(client: DAVClient) -> expand.Expansion:
        out = expand.Expansion()
        for meta in calendars:
            answer = dav.query(client, meta.url, start, end)
            if answer.unfiltered:
                out.notes.append(
                    f"The server could not search {meta.name} by date (an event in it is "
                    "malformed), so the whole calendar was read."
                )
            for stored in answer.objects:
                if search is not None and not search.may_match(stored.data):
                    continue
                try:
                    parsed = state.parsed(stored)
                    # Every VEVENT is judged here, inside this object's guard.
                    if search is not None and not any(
                        [search.matches(c) for c in parsed.calendar.walk("VEVENT")]
                    ):
                        continue
                    expand.expand(
                        parsed,
                        start,
                        end,
                        state.zone,
                        href=stored.href,
                        calendar_name=meta.name,
                        out=out,
                    )
                except Exception as exc:  # one hostile object must not sink the answer
                    out.notes.append(
                        f"An event in {meta.name} could not be read ({type(exc).__name__}); it was left out."
                    )
            for occurrence in out.occurrences:
                if not occurrence.calendar_path:
                    occurrence.calendar_path = meta.path
        return out

    found = await state.pool.run(run, deadline=ctx.deadline)
    if search is not None:
        found.occurrences = [o for o in found.occurrences if search.matches(o.component)]
    ordered = sorted(
        found.occurrences,
        key=lambda o: (_sort_key(o.start, state.zone), _sort_key(o.end, state.zone)),
    )
    notes = list(dict.fromkeys(found.notes))
    if len(ordered) > MAX_EVENTS:
        notes.append(
            f"More than {MAX_EVENTS} occurrences; only the first {MAX_EVENTS} are shown. Ask for a shorter range."
        )
        ordered = ordered[:MAX_EVENTS]
    return ordered, notes


def _sort_key(value: date | datetime, zone: ZoneInfo) -> datetime:
    return _local(value, zone)


def _event(occurrence: expand.Occurrence) -> api.Event:
    c = occurrence.component
    uid = str(c.get("UID", ""))
    event_id = EventId(occurrence.calendar_path, occurrence.href, uid, occurrence.recurrence_id)
    end = occurrence.end
    if occurrence.all_day and isinstance(end, date) and end > occurrence.start:
        end = end - timedelta(days=1)  # shown inclusive, as people say it
    text = event_text(c)
    return api.Event(
        id=str(event_id),
        uid=uid,
        calendar=occurrence.calendar,
        summary=text.summary or "(no title)",
        start=occurrence.start.isoformat(),
        end=end.isoformat(),
        all_day=occurrence.all_day,
        location=text.location,
        description=text.description,
        recurring=occurrence.recurring,
        status=one_line(c.get("STATUS")).upper() or None,
        attendees=text.attendees,
    )


def _events_page(
    tool: str,
    args: api.GetCalendarEventsArgs | api.SearchCalendarArgs,
    start: datetime,
    end: datetime,
    found: list[expand.Occurrence],
    notes: list[str],
) -> api.EventsResult:
    """One page of sorted occurrences, with the cursor of the next."""
    question, first = paging.page_start(tool, args, start, end)
    shown = paging.page(found, first, args.limit, question)
    return api.EventsResult(
        events=[_event(o) for o in shown.items],
        notes=notes,
        total=shown.total,
        next_cursor=shown.next_cursor,
    )


@serves(api.GET_CALENDAR_EVENTS)
async def get_calendar_events(
    args: api.GetCalendarEventsArgs, state: DavState, ctx: CallContext
) -> api.EventsResult:
    start, end = _bounds(args.start, args.end, state.zone)
    paging.page_start(api.GET_CALENDAR_EVENTS.name, args, start, end)  # refused before reading
    found, notes = await _occurrences(state, ctx, args.calendars, start, end)
    return _events_page(api.GET_CALENDAR_EVENTS.name, args, start, end, found, notes)


@serves(api.SEARCH_CALENDAR)
async def search_calendar(
    args: api.SearchCalendarArgs, state: DavState, ctx: CallContext
) -> api.EventsResult:
    today = datetime.now(state.zone).date()
    start_text = args.start or (today - timedelta(days=365)).isoformat()
    end_text = args.end or (today + timedelta(days=365)).isoformat()
    start, end = _bounds(start_text, end_text, state.zone)
    paging.page_start(api.SEARCH_CALENDAR.name, args, start, end)  # refused before reading
    search = TextQuery(args.query)
    found, notes = await _occurrences(state, ctx, args.calendars, start, end, search)
    return _events_page(api.SEARCH_CALENDAR.name, args, start, end, found, notes)


@serves(api.GET_FREE_BUSY)
async def get_free_busy(
    args: api.GetFreeBusyArgs, state: DavState, ctx: CallContext
) -> api.FreeBusyResult:
    start, end = _bounds(args.start, args.end, state.zone)
    question, offset = paging.page_start(api.GET_FREE_BUSY.name, args, start, end)
    found, notes = await _occurrences(state, ctx, args.calendars, start, end)
    periods = []
    me = frozenset({state.settings.username.lower()})
    for o in found:
        tentative = freebusy.blocking(o.component, me)
        if tentative is None:  # cancelled, transparent, or declined by the user
            continue
        first, last = _local(o.start, state.zone), _local(o.end, state.zone)
        periods.append(freebusy.Period(first, last, tentative))
    busy = freebusy.busy_periods(periods, start, end)
    windows = freebusy.working_windows(
        start, end, args.working_hours, args.working_days, state.zone
    )
    now = datetime.now(state.zone)
    free = freebusy.free_slots(windows, busy, args.duration_minutes, now=now)
    if start < now < end:
        notes.append("Free slots start from now: earlier free time in the range has passed.")
    # One timeline of busy and free entries is paged, so a page covers a stretch of time.
    timeline: list[tuple[datetime, int, api.Busy | api.Free]] = [
        (p.start, 0, api.Busy(p.start.isoformat(), p.end.isoformat(), p.tentative)) for p in busy
    ]
    timeline += [
        (a, 1, api.Free(a.isoformat(), b.isoformat(), int((b - a).total_seconds() // 60)))
        for a, b in free
    ]
    timeline.sort(key=lambda entry: (entry[0], entry[1]))
    shown = paging.page(timeline, offset, args.limit, question)
    page = [entry for _at, _kind, entry in shown.items]
    return api.FreeBusyResult(
        busy=[e for e in page if isinstance(e, api.Busy)],
        free=[e for e in page if isinstance(e, api.Free)],
        notes=notes,
        total=shown.total,
        next_cursor=shown.next_cursor,
    )
