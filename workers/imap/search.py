"""search_emails: the server searches and sorts; we fetch only the page (blocking).

Every user string reaches imapclient as a separate criteria item, which quotes
it or sends it as a literal; CR, LF and NUL were refused by the argument Struct.
The sent dates a sorted answer is cut and merged by are read in ``sent_dates``;
each message of a page is summed up by ``summary``.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import msgspec

from protocol.email import EmailSummary, SearchEmailsArgs
from protocol.errors import InvalidArgument
from protocol.when import instant, parse_when
from workers.imap import folders, freshness, pipeline
from workers.imap.criteria import Group, Value, charset_for, normalise, uid_search, uid_sort
from workers.imap.errors import missing_folder_as_not_found, refused_as
from workers.imap.ids import EmailId
from workers.imap.pool import ImapConnection
from workers.imap.sent_dates import EPOCH, date_keys, trim
from workers.imap.summary import email_summary


@dataclass(frozen=True)
class FolderHits:
    """A folder's matching UIDs, newest first."""

    raw_name: str
    uidvalidity: int
    uids: list[int]


# SENTSINCE and SENTBEFORE compare the date written in the Date header, without its time
# or zone; Dovecot gives a message without a readable Date (or one before 1970) the sent
# date 1970-01-01 there, not its received time, so the criteria ask for the received time
# of those messages themselves.
UNDATED_DAY = date(1970, 1, 1)
ZONE_MARGIN = timedelta(hours=26)
"""More than any time zone's offset (-12:00 to +14:00): the date written on a message
lies within this of the UTC date of the moment it was sent."""
SORT_BY_DATE = b"(DATE)"
SEARCH_REFUSED = (
    "The mail server would not run this search; try again with fewer or simpler criteria."
)


@dataclass(frozen=True)
class Query:
    """A search: the server's criteria (dates to the day) and, where a time of day was
    given, the exact bounds its sorted answer is trimmed to."""

    items: list[Any]
    since: float | None = None
    """Seconds since 1970 UTC: only messages sent at or after this."""
    before: float | None = None
    """Seconds since 1970 UTC: only messages sent before this."""

    @property
    def exact(self) -> bool:
        return self.since is not None or self.before is not None


def query(args: SearchEmailsArgs) -> Query:
    """The IMAP SEARCH criteria for ``args`` (an imapclient list) and exact date bounds."""
    items: list[Any] = []
    if args.query:
        items += ["TEXT", Value(args.query)]
    if args.sender:
        items += ["FROM", Value(args.sender)]
    if args.recipient:
        items += ["OR", "TO", Value(args.recipient), "CC", Value(args.recipient)]
    if args.subject:
        items += ["SUBJECT", Value(args.subject)]
    since = before = None
    if args.since:
        day, since = _since_day(parse_when(args.since, "since"))
        if day is not None:
            items += ["OR", "SENTSINCE", day, Group(("SENTON", UNDATED_DAY, "SINCE", day))]
    if args.before:
        day, before = _before_day(parse_when(args.before, "before"))
        if day is not None:
            items += [
                "OR",
                Group(("NOT", "SENTON", UNDATED_DAY, "SENTBEFORE", day)),
                Group(("SENTON", UNDATED_DAY, "BEFORE", day)),
            ]
    if args.unread is not None:
        items.append("UNSEEN" if args.unread else "SEEN")
    if args.flagged is not None:
        items.append("FLAGGED" if args.flagged else "UNFLAGGED")
    if args.has_attachments is not None:
        # IMAP cannot search for attachments; a mixed multipart is what carries them.
        mixed = ["HEADER", Value("Content-Type"), Value("multipart/mixed")]
        items += mixed if args.has_attachments else ["NOT", *mixed]
    return Query(items or ["ALL"], since, before)


def _since_day(when: date | datetime) -> tuple[date | None, float | None]:
    """The first day to ask the server for (None: no lower bound), and the exact bound."""
    if not isinstance(when, datetime):
        return when, None
    moment = instant(when)
    return _utc_day(moment - ZONE_MARGIN.total_seconds()), moment


def _before_day(when: date | datetime) -> tuple[date | None, float | None]:
    """The day to ask the server for mail before (None: no upper bound), and the exact
    bound."""
    if not isinstance(when, datetime):
        return when, None
    moment = instant(when)
    last = _utc_day(moment + ZONE_MARGIN.total_seconds())
    if last is None or last == date.max:
        return None, moment
    return last + timedelta(days=1), moment


def _utc_day(moment: float) -> date | None:
    """The UTC date of a moment; None outside the years 1 to 9999."""
    try:
        return (EPOCH + timedelta(seconds=moment)).date()
    except OverflowError:
        return None


def search_folder(
    conn: ImapConnection, raw_name: str, q: Query, readonly: bool = True
) -> FolderHits:
    """Matching UIDs of one folder, newest first by when they were sent (SORT DATE where
    offered; else by arrival, with date bounds to the day)."""
    info = conn.select(raw_name, readonly=readonly)
    with refused_as(SEARCH_REFUSED):
        if conn.has("SORT"):
            # Not REVERSE DATE: ties (same second) would stay in ascending order. Reversing
            # the ascending answer puts the later-arrived (higher) UID first among equals.
            uids = uid_sort(conn.client, SORT_BY_DATE, q.items)[::-1]
            uids = trim(conn, uids, q.since, q.before) if q.exact else uids
        else:
            uids = sorted(uid_search(conn.client, q.items), reverse=True)
    return FolderHits(raw_name, int(info[b"UIDVALIDITY"]), uids)


@dataclass(frozen=True)
class Searched:
    hits: FolderHits
    folder_status: dict[str, int]
    """The folder's STATUS (freshness items), taken just before the search."""


def search_with_status(conn: ImapConnection, raw_name: str, display: str, q: Query) -> Searched:
    """search_folder, and the folder's STATUS for a freshness token taken before it.

    Where the folder is open already, the sync, the STATUS and the SORT go out in
    one round trip (workers.imap.pipeline) instead of three.
    """
    with missing_folder_as_not_found(display):
        info = conn.select(raw_name, readonly=True, sync=False)
    uidvalidity = int(info[b"UIDVALIDITY"])
    charset = charset_for(q.items)
    if not conn.has("SORT") or charset != b"US-ASCII":  # an 8-bit value goes as a literal
        conn.sync()
        status = folders.status(conn, raw_name, freshness.items(conn))
        return Searched(search_folder(conn, raw_name, q), status)
    commands = [] if conn.synced else [pipeline.noop()]
    commands += [
        pipeline.status(conn, raw_name, freshness.items(conn)),
        pipeline.uid_sort(SORT_BY_DATE, charset, normalise(q.items)),
    ]
    with refused_as(SEARCH_REFUSED):
        answers = pipeline.run(conn, commands)
        *_, status_data, sort_data = answers.data
        uids = pipeline.sorted_uids(sort_data)
        if answers.view_changed:  # the SORT saw the folder as it was before the sync
            uids = uid_sort(conn.client, SORT_BY_DATE, q.items)
        # Newest first; see search_folder for why not REVERSE DATE.
        uids = uids[::-1]
        if q.exact:
            uids = trim(conn, uids, q.since, q.before)
    return Searched(FolderHits(raw_name, uidvalidity, uids), pipeline.status_items(status_data))


def fetch_summaries(
    conn: ImapConnection, hits: FolderHits, uids: list[int], delimiter: str | None
) -> dict[int, EmailSummary]:
    """Summaries of ``uids`` (one FETCH); a message that cannot be read gets a plain note."""
    if not uids:
        return {}
    conn.select(hits.raw_name)
    wanted = ["ENVELOPE", "FLAGS", "RFC822.SIZE", "BODYSTRUCTURE", "INTERNALDATE"]
    if conn.has("PREVIEW"):
        wanted.append("PREVIEW")
    data = conn.client.fetch(uids, wanted)
    display = folders.to_display(hits.raw_name, delimiter)
    result = {}
    for uid in uids:
        item = data.get(uid)
        if item is None:
            continue  # expunged between SEARCH and FETCH
        email_id = str(EmailId(hits.raw_name, hits.uidvalidity, uid))
        result[uid] = email_summary(email_id, display, item)
    return result


# -- paging ---------------------------------------------------------------------------


class Cursor(msgspec.Struct, array_like=True, frozen=True):
    query: str
    offset: int
    anchor: str


def query_key(args: SearchEmailsArgs) -> str:
    """What identifies a search apart from its page, so a cursor cannot jump searches."""
    body = msgspec.msgpack.encode(msgspec.structs.replace(args, cursor=None, limit=1))
    return hashlib.blake2b(body, digest_size=6).hexdigest()


def read_cursor(args: SearchEmailsArgs) -> Cursor | None:
    if args.cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(args.cursor.encode() + b"=" * (-len(args.cursor) % 4))
        cursor = msgspec.msgpack.decode(raw, type=Cursor)
    except (ValueError, msgspec.DecodeError):
        raise InvalidArgument("That cursor is not one search_emails gave out.") from None
    if cursor.query != query_key(args):
        raise InvalidArgument(
            "That cursor belongs to a different search; repeat the search without a cursor."
        )
    return cursor


def write_cursor(args: SearchEmailsArgs, offset: int, anchor: str) -> str:
    raw = msgspec.msgpack.encode(Cursor(query_key(args), offset, anchor))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def page_start(ordered: list[str], cursor: Cursor | None) -> int:
    """Where the page starts: after the last message shown, even if mail arrived since."""
    if cursor is None:
        return 0
    try:
        return ordered.index(cursor.anchor) + 1
    except ValueError:
        return cursor.offset


def merge_newest_first(
    per_folder: list[tuple[FolderHits, list[tuple[datetime, int]]]],
) -> list[tuple[datetime, FolderHits, int]]:
    """Merge folders' (date, uid) lists, each already newest first as SORT DATE gives
    them: among equal dates the later-arrived (higher UID) first."""
    streams = [[(d, uid, hits) for d, uid in dated] for hits, dated in per_folder]
    merged = heapq.merge(*streams, key=lambda t: (-t[0].timestamp(), -t[1]))
    return [(d, hits, uid) for d, uid, hits in merged]


def sort_dates(
    conn: ImapConnection, hits: FolderHits, uids: list[int]
) -> list[tuple[datetime, int]]:
    """Each of ``uids`` with the date SORT DATE put it in order by, to merge folders."""
    if not uids:
        return []
    conn.select(hits.raw_name)
    keys = date_keys(conn, uids)
    return [(keys[uid], uid) for uid in uids if uid in keys]
