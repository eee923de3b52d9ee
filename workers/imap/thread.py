"""get_email_thread: a conversation gathered across folders by its Message-IDs (blocking).

Replies name their ancestors in In-Reply-To and References, so the messages of
a conversation are those whose Message-ID, In-Reply-To or References mention
an id already known. Each round asks every folder (with a server-side header
SEARCH) for the ids learnt in the previous one, until nothing new turns up:
that also finds replies from clients that send only In-Reply-To.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Any

from protocol.conversation import ThreadMessage
from workers.imap import folders
from workers.imap.criteria import Value, uid_search
from workers.imap.decode import decode_words, header_addresses, header_date
from workers.imap.fetch_answer import header_fields, received_time
from workers.imap.ids import EmailId
from workers.imap.pool import ImapConnection
from workers.imap.reading import excerpt_text, section_bytes
from workers.imap.sent_dates import EPOCH
from workers.imap.structure import text_parts, walk

MAX_ROUNDS = 6
MAX_MESSAGES = 500  # a mailing list "thread" can be endless; stop gathering here
IDS_PER_SEARCH = 20
_HEADERS = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID IN-REPLY-TO REFERENCES FROM TO SUBJECT DATE)]"
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,500}>")


@dataclass
class Found:
    folder: str  # server name
    uidvalidity: int
    uid: int
    headers: Message
    received: datetime
    structure: Any = None
    excerpt: str = ""

    @property
    def message_id(self) -> str | None:
        ids = message_ids(self.headers.get("Message-ID"))
        return ids[0] if ids else None

    @property
    def related(self) -> set[str]:
        names = ("Message-ID", "In-Reply-To", "References")
        return {i for name in names for v in self.headers.get_all(name, []) for i in message_ids(v)}

    @property
    def sent(self) -> datetime:
        try:
            when = parsedate_to_datetime(str(self.headers.get("Date", "")))
        except (TypeError, ValueError, IndexError):
            return self.received
        return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass
class Conversation:
    folders: list[str]  # server names, the message's own first
    found: dict[tuple[str, int], Found] = field(default_factory=dict)
    searched_ids: set[str] = field(default_factory=set)


def message_ids(value: Any) -> list[str]:
    return _MESSAGE_ID.findall(str(value or ""))


def folders_to_search(conn: ImapConnection, own: str) -> list[str]:
    """The message's folder, then INBOX, Sent and Archive (by SPECIAL-USE or name).

    The order decides which copy of a message filed twice is shown.
    """
    rank = {"inbox": 0, "sent": 1, "archive": 2}
    found = [
        (rank[role], folder.raw_name)
        for folder in folders.list_folders(conn, ("MESSAGES",))
        if folder.selectable
        and (role := folders.folder_role(folder)) in rank
        and folder.raw_name != own
    ]
    return [own, *(name for _rank, name in sorted(found))]


def gather(
    conn: ImapConnection, start: EmailId, display_folder: str, conversation: Conversation
) -> list[Found]:
    """Every message of the conversation of ``start`` in the folders to search.

    Raises NotFound when ``start`` is no longer in its folder."""
    info = conn.select(start.folder)
    fetched = _fetch(conn, start.folder, start.uidvalidity, [start.uid])
    if not fetched:
        raise start.missing(display_folder, info)
    first = fetched[0]
    conversation.found[(start.folder, start.uid)] = first
    pending = first.related
    for _round in range(MAX_ROUNDS):
        pending -= conversation.searched_ids
        if not pending or len(conversation.found) >= MAX_MESSAGES:
            break
        conversation.searched_ids |= pending
        learnt: set[str] = set()
        for raw_name in conversation.folders:
            for new in _search(conn, raw_name, sorted(pending), conversation):
                learnt |= new.related
        pending = learnt
    return _unique(conversation.found.values())


def _search(conn: ImapConnection, raw_name: str, ids: list[str], conv: Conversation) -> list[Found]:
    info = conn.select(raw_name)
    uids: set[int] = set()
    for start in range(0, len(ids), IDS_PER_SEARCH):
        uids |= set(
            uid_search(conn.client, _any_header_mentions(ids[start : start + IDS_PER_SEARCH]))
        )
    new = sorted(uid for uid in uids if (raw_name, uid) not in conv.found)
    new = new[: max(0, MAX_MESSAGES - len(conv.found))]
    found = _fetch(conn, raw_name, int(info[b"UIDVALIDITY"]), new) if new else []
    for item in found:
        conv.found[(raw_name, item.uid)] = item
    return found


def _any_header_mentions(ids: list[str]) -> list[Any]:
    terms: list[list[Any]] = []
    for message_id in ids:
        for header in ("Message-ID", "In-Reply-To", "References"):
            terms.append(["HEADER", Value(header), Value(message_id)])
    items: list[Any] = []
    for term in terms[:-1]:
        items += ["OR", *term]
    return items + terms[-1]


def _fetch(conn: ImapConnection, raw_name: str, uidvalidity: int, uids: list[int]) -> list[Found]:
    data = conn.client.fetch(uids, [_HEADERS, "INTERNALDATE", "BODYSTRUCTURE"])
    result = []
    for uid in uids:
        item = data.get(uid)
        if item is None:
            continue
        headers = header_fields(item)
        received = received_time(item) or EPOCH
        result.append(
            Found(raw_name, uidvalidity, uid, headers, received, item.get(b"BODYSTRUCTURE"))
        )
    return result


def _unique(found: Iterable[Found]) -> list[Found]:
    """One entry per Message-ID (a copy in Archive is the same message), oldest first."""
    seen: dict[str, Found] = {}
    result = []
    for item in found:  # insertion order: own folder first, so its copy wins
        key = item.message_id
        if key is not None:
            if key in seen:
                continue
            seen[key] = item
        result.append(item)
    return sorted(result, key=lambda f: (f.sent, f.received, f.uid))


def add_excerpts(conn: ImapConnection, found: list[Found]) -> None:
    """A short excerpt of each message's own words (one FETCH per folder and text part)."""
    groups: dict[tuple[str, str], list[Found]] = {}
    for item in found:
        parts = text_parts(list(walk(item.structure)))
        if parts:
            groups.setdefault((item.folder, parts[0].number), []).append(item)
            item.structure = parts[0]
    for (raw_name, number), items in groups.items():
        conn.select(raw_name)
        section = f"BODY.PEEK[{number}]<0.{EXCERPT_BYTES}>"
        data = conn.client.fetch([i.uid for i in items], [section])
        for item in items:
            raw = section_bytes(data.get(item.uid, {}), number)
            if raw is not None:
                item.excerpt = excerpt_text(raw, item.structure)


EXCERPT_BYTES = 16384


def to_result(item: Found, delimiter: str | None) -> ThreadMessage:
    senders = header_addresses(item.headers.get_all("From", []))
    return ThreadMessage(
        id=str(EmailId(item.folder, item.uidvalidity, item.uid)),
        folder=folders.to_display(item.folder, delimiter),
        message_id=item.message_id,
        date=header_date(item.headers.get("Date")) or item.received.isoformat(),
        from_=", ".join(senders),
        to=header_addresses(item.headers.get_all("To", []))[:20],
        subject=decode_words(item.headers.get("Subject", ""))[:300],
        excerpt=item.excerpt,
    )
