"""search_emails: the server searches and sorts; we fetch only the page (blocking).

Every user string reaches imapclient as a separate criteria item, which quotes
it or sends it as a literal; CR, LF and NUL were refused by the argument Struct.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec

from protocol.email import EmailSummary, SearchEmailsArgs, parse_when
from protocol.errors import InvalidArgument
from workers.imap import folders, freshness, pipeline
from workers.imap.criteria import Value, charset_for, normalise, uid_search, uid_sort
from workers.imap.decode import decode_words, envelope_addresses, to_str
from workers.imap.errors import missing_folder_as_not_found
from workers.imap.ids import EmailId
from workers.imap.pool import ImapConnection
from workers.imap.structure import attachments, walk

MAX_LISTED_RECIPIENTS = 10
PREVIEW_CHARS = 200
SUBJECT_CHARS = 300

_FLAG_NAMES = {
    "\\seen": "seen",
    "\\answered": "answered",
    "\\flagged": "flagged",
    "\\draft": "draft",
    "\\deleted": "deleted",
}


@dataclass(frozen=True)
class FolderHits:
    """A folder's matching UIDs, newest first."""

    raw_name: str
    uidvalidity: int
    uids: list[int]


def criteria(args: SearchEmailsArgs, conn: ImapConnection, now: datetime) -> list[Any]:
    """IMAP SEARCH criteria for ``args`` as an imapclient list."""
    items: list[Any] = []
    if args.query:
        items += ["TEXT", Value(args.query)]
    if args.sender:
        items += ["FROM", Value(args.sender)]
    if args.recipient:
        items += ["OR", "TO", Value(args.recipient), "CC", Value(args.recipient)]
    if args.subject:
        items += ["SUBJECT", Value(args.subject)]
    if args.since:
        items += _bound(parse_when(args.since, "since"), "SINCE", "YOUNGER", conn, now)
    if args.before:
        items += _bound(parse_when(args.before, "before"), "BEFORE", "OLDER", conn, now)
    if args.unread is not None:
        items.append("UNSEEN" if args.unread else "SEEN")
    if args.flagged is not None:
        items.append("FLAGGED" if args.flagged else "UNFLAGGED")
    if args.has_attachments is not None:
        # IMAP cannot search for attachments; a mixed multipart is what carries them.
        mixed = ["HEADER", Value("Content-Type"), Value("multipart/mixed")]
        items += mixed if args.has_attachments else ["NOT", *mixed]
    return items or ["ALL"]


def _bound(
    when: date | datetime, by_date: str, by_age: str, conn: ImapConnection, now: datetime
) -> list[Any]:
    if isinstance(when, datetime):
        moment = when if when.tzinfo else when.astimezone()
        if conn.has("WITHIN"):  # RFC 5032: exact to the second
            return [by_age, max(0, int((now - moment).total_seconds()))]
        day = moment.date()
        return [by_date, day + timedelta(days=1) if by_date == "BEFORE" else day]
    return [by_date, when]


def search_folder(
    conn: ImapConnection, raw_name: str, items: list[Any], readonly: bool = True
) -> FolderHits:
    """Matching UIDs of one folder, newest first (SORT where offered)."""
    info = conn.select(raw_name, readonly=readonly)
    if conn.has("SORT"):
        # Not REVERSE ARRIVAL: ties (same second) would stay in ascending order. Reversing
        # the ascending answer puts the later-arrived (higher) UID first among equals.
        uids = uid_sort(conn.client, b"(ARRIVAL)", items)[::-1]
    else:
        uids = sorted(uid_search(conn.client, items), reverse=True)
    return FolderHits(raw_name, int(info[b"UIDVALIDITY"]), uids)


@dataclass(frozen=True)
class Searched:
    hits: FolderHits
    folder_status: dict[str, int]
    """The folder's STATUS (freshness items), taken just before the search."""


def search_with_status(
    conn: ImapConnection, raw_name: str, display: str, items: list[Any]
) -> Searched:
    """search_folder, and the folder's STATUS for a freshness token taken before it.

    Where the folder is open already, the sync, the STATUS and the SORT go out in
    one round trip (workers.imap.pipeline) instead of three.
    """
    with missing_folder_as_not_found(display):
        info = conn.select(raw_name, readonly=True, sync=False)
    uidvalidity = int(info[b"UIDVALIDITY"])
    charset = charset_for(items)
    if not conn.has("SORT") or charset != b"US-ASCII":  # an 8-bit value goes as a literal
        conn.sync()
        status = folders.status(conn, raw_name, freshness.items(conn))
        return Searched(search_folder(conn, raw_name, items), status)
    commands = [] if conn.synced else [pipeline.noop()]
    commands += [
        pipeline.status(conn, raw_name, freshness.items(conn)),
        pipeline.uid_sort(b"(ARRIVAL)", charset, normalise(items)),
    ]
    answers = pipeline.run(conn, commands)
    *_, status_data, sort_data = answers.data
    uids = pipeline.sorted_uids(sort_data)
    if answers.view_changed:  # the SORT saw the folder as it was before the sync
        uids = uid_sort(conn.client, b"(ARRIVAL)", items)
    # Newest first; see search_folder for why not REVERSE ARRIVAL.
    hits = FolderHits(raw_name, uidvalidity, uids[::-1])
    return Searched(hits, pipeline.status_items(status_data))


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
        try:
            result[uid] = _summary(email_id, display, item)
        except Exception as exc:  # one hostile message must not sink the page
            result[uid] = EmailSummary(
                id=email_id,
                folder=display,
                date=None,
                from_="",
                subject=f"(this message could not be read: {type(exc).__name__})",
            )
    return result


def _summary(email_id: str, folder: str, item: dict[bytes, Any]) -> EmailSummary:
    envelope = item.get(b"ENVELOPE")
    received = item.get(b"INTERNALDATE")
    recipients = envelope_addresses(envelope.to) if envelope else []
    if len(recipients) > MAX_LISTED_RECIPIENTS:
        extra = len(recipients) - MAX_LISTED_RECIPIENTS
        recipients = [*recipients[:MAX_LISTED_RECIPIENTS], f"… and {extra} more"]
    senders = envelope_addresses(envelope.from_) if envelope else []
    subject = decode_words(envelope.subject) if envelope else ""
    structure = item.get(b"BODYSTRUCTURE")
    return EmailSummary(
        id=email_id,
        folder=folder,
        date=received.isoformat() if isinstance(received, datetime) else None,
        from_=senders[0] if senders else "",
        to=recipients,
        subject=_clip(subject, SUBJECT_CHARS),
        flags=flag_names(item.get(b"FLAGS", ())),
        size=int(item.get(b"RFC822.SIZE") or 0),
        has_attachments=bool(structure and attachments(list(walk(structure)))),
        preview=_clip(" ".join(to_str(item.get(b"PREVIEW")).split()), PREVIEW_CHARS),
    )


def flag_names(flags: Any) -> list[str]:
    names = []
    for flag in flags or ():
        text = to_str(flag)
        if text.lower() == "\\recent":
            continue
        names.append(_FLAG_NAMES.get(text.lower(), text))
    return names


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
    """Merge folders' (date, uid) lists, each already newest first."""
    streams = [[(-d.timestamp(), uid, hits) for d, uid in dated] for hits, dated in per_folder]
    merged = heapq.merge(*streams, key=lambda t: (t[0], -t[1]))
    return [(datetime.fromtimestamp(-ts, UTC), hits, uid) for ts, uid, hits in merged]


def received_dates(
    conn: ImapConnection, hits: FolderHits, uids: list[int]
) -> list[tuple[datetime, int]]:
    if not uids:
        return []
    conn.select(hits.raw_name)
    data = conn.client.fetch(uids, ["INTERNALDATE"])
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    dated = []
    for uid in uids:
        value = data.get(uid, {}).get(b"INTERNALDATE")
        dated.append((value if isinstance(value, datetime) else epoch, uid))
    return dated
