"""The address books as the contact tools see them: discovered once, listed, indexed.

An address book's index holds each card's summary and search text, built from one
REPORT and kept while the book's ctag (or sync-token) is unchanged, so a second
search of 5,000 cards pays one PROPFIND, not 5,000 parses. A card's PHOTO is never
decoded: the index keeps only that there is one.
"""

from __future__ import annotations

import base64
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field

import msgspec
from caldav.davclient import DAVClient

from protocol import contacts as api
from protocol.errors import InvalidArgument, NotFound, Refused
from workers.dav import carddav
from workers.dav.client import StoredObject
from workers.dav.contact_ids import ContactId
from workers.dav.handlers import FRESHNESS_CHECKS, DavState
from workers.dav.vcard_read import Person, folded, read_person
from workers.runtime import CallContext

BOOKS_TAG = api.DAV_ADDRESS_BOOKS.tag
book_tag = api.DAV_ADDRESS_BOOK.of
TOKEN_PREFIX = "ab:"
INDEXES_KEPT = 8


@dataclass(frozen=True)
class Indexed:
    """One card as a search sees it."""

    summary: api.ContactSummary
    words: str  # folded name parts, nickname, emails, organization
    phones: tuple[str, ...]  # digits only
    sort_key: str
    version: str
    uid: str


@dataclass
class BookIndex:
    cards: list[Indexed] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def version(self) -> str:
        """The vCard version most of its cards use (3.0 for an empty book)."""
        counted = Counter(c.version for c in self.cards)
        return counted.most_common(1)[0][0] if counted else "3.0"


_indexes: OrderedDict[tuple[str, str], BookIndex] = OrderedDict()
_indexes_lock = threading.Lock()
# The vCard version each book was last seen to use, by path: it outlives the book's
# ctag, so adding ten contacts in a row reads the book once, not ten times.
_card_versions: dict[str, str] = {}


def summary_of(person: Person, card_id: ContactId, book: carddav.BookMeta) -> api.ContactSummary:
    return api.ContactSummary(
        id=str(card_id),
        name=person.name,
        emails=[e.value for e in person.emails],
        phones=[p.value for p in person.phones],
        organization=person.organization,
        address_book=book.name,
    )


def build_index(client: DAVClient, book: carddav.BookMeta) -> BookIndex:
    """The book's index: cached while its version holds, else built from one REPORT."""
    key = (book.path, book.version)
    with _indexes_lock:
        found = _indexes.get(key) if book.version else None
        if found is not None:
            _indexes.move_to_end(key)
            return found
    answer = carddav.cards(client, book)
    index = _index(answer.cards, book)
    if answer.note:
        index.notes.insert(0, answer.note)
    with _indexes_lock:
        _card_versions[book.path] = index.version()
    if book.version:
        with _indexes_lock:
            _indexes[key] = index
            while len(_indexes) > INDEXES_KEPT:
                _indexes.popitem(last=False)
    return index


def card_version(client: DAVClient, book: carddav.BookMeta) -> str:
    """The vCard version new cards of ``book`` are written in: the one its cards use."""
    with _indexes_lock:
        known = _card_versions.get(book.path)
    return known or build_index(client, book).version()


def cached_index(book: carddav.BookMeta) -> BookIndex | None:
    with _indexes_lock:
        return _indexes.get((book.path, book.version)) if book.version else None


def _index(stored: list[StoredObject], book: carddav.BookMeta) -> BookIndex:
    index = BookIndex()
    unreadable = 0
    uids: Counter[str] = Counter()
    for card in stored:
        try:
            person = read_person(card.data)
        except Exception:  # one hostile card must not sink the book
            unreadable += 1
            continue
        card_id = ContactId.of(book.path, card.href, card.etag)
        index.cards.append(
            Indexed(
                summary=summary_of(person, card_id, book),
                words=person.search_text(),
                phones=tuple(d for d in person.phone_digits() if d),
                sort_key=folded(person.name),
                version=person.version,
                uid=person.uid,
            )
        )
        if person.uid:
            uids[person.uid] += 1
    index.cards.sort(key=lambda c: (c.sort_key, c.summary.id))
    if unreadable:
        index.notes.append(
            f"{unreadable} card(s) in {book.name} could not be read at all and are left out."
        )
    shared = sum(n for n in uids.values() if n > 1)
    if shared:
        index.notes.append(
            f"{shared} cards in {book.name} share a UID with another card; each is listed "
            "under its own id."
        )
    return index


# -- discovery and listing ---------------------------------------------------------------


async def books(state: DavState, ctx: CallContext) -> list[carddav.BookMeta]:
    """The user's address books, as the server lists them now."""
    if not state.address_book_home:
        home = await state.pool.run(carddav.discover_home, deadline=ctx.deadline)
        if home is None:
            raise NotFound(
                "The server names no address books for this account (no addressbook-home-set); "
                "check MAILBOX_CALDAV_URL."
            )
        state.address_book_home[:] = [home]
    home = state.address_book_home[0]
    return await state.pool.run(lambda c: carddav.list_books(c, home), deadline=ctx.deadline)


def token(chosen: list[carddav.BookMeta]) -> str:
    versions = {b.path: b.version for b in chosen}
    return TOKEN_PREFIX + base64.urlsafe_b64encode(msgspec.msgpack.encode(versions)).decode()


async def is_fresh(body: str, state: DavState, ctx: CallContext) -> bool:
    try:
        wanted = msgspec.msgpack.decode(base64.urlsafe_b64decode(body), type=dict[str, str])
    except (ValueError, msgspec.DecodeError):
        return False
    now = {b.path: b.version for b in await books(state, ctx)}
    # A book without a ctag or sync-token can never be proved unchanged.
    return all(v and now.get(path) == v for path, v in wanted.items())


FRESHNESS_CHECKS[TOKEN_PREFIX] = is_fresh


def choose(found: list[carddav.BookMeta], ref: str | None) -> list[carddav.BookMeta]:
    """The books ``ref`` (an id or a name) names; every book without one."""
    if ref is None:
        return found
    match = [b for b in found if b.path == ref or b.name.casefold() == ref.casefold()]
    if not match:
        names = ", ".join(f"“{b.name}”" for b in found) or "none"
        raise InvalidArgument(f"There is no address book “{ref}”; the address books are {names}.")
    return match


def book_of(found: list[carddav.BookMeta], card_id: ContactId) -> carddav.BookMeta:
    """The listed book a contact id names. Raises NotFound for one that is not listed
    (a forged id, or a book deleted since)."""
    for book in found:
        if book.path == card_id.book:
            return book
    raise NotFound(
        "That contact's address book is not one of yours (any more); look the contact up "
        "again with search_contacts."
    )


def writable(book: carddav.BookMeta) -> carddav.BookMeta:
    """``book``, if contacts may be changed in it. Raises Refused."""
    if book.read_only:
        raise Refused(
            f"{book.name} is read-only: its contacts cannot be added, changed or deleted "
            "here; save a copy in one of your own address books with create_contact instead."
        )
    return book
