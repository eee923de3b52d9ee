"""The address books as the contact tools see them: discovered once, listed, indexed.

An address book's index holds each card's summary and search text, built from one
REPORT and kept while the book's ctag (or sync-token) is unchanged, so a second
search of 5,000 cards pays one PROPFIND, not 5,000 parses. After a change the index
is brought up to date with only the cards that changed (card_sync.py): the ones the
server's sync-collection names since the index's sync-token, or, where the server
keeps none, the ones whose ETag differs. A card's PHOTO is never decoded: the index
keeps only that there is one.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field

from caldav.davclient import DAVClient

from protocol import contacts as api
from protocol.errors import InvalidArgument, NotFound, Refused
from workers.dav import card_sync, carddav
from workers.dav.client import StoredObject
from workers.dav.contact_ids import ContactId
from workers.dav.handlers import FRESHNESS_CHECKS, DavState
from workers.dav.vcard_read import Person, folded, read_person
from workers.dav.versions import still_current, versions_token
from workers.runtime import CallContext

BOOKS_TAG = api.DAV_ADDRESS_BOOKS.tag
book_tag = api.DAV_ADDRESS_BOOK.of
TOKEN_PREFIX = "ab:"
INDEXES_KEPT = 8
# Characters XML 1.0 cannot carry: a card holding one breaks a server's REPORT (Xandikos).
UNSENDABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Past this many changed cards, reading the whole book again is as cheap as the changes.
MOST_CHANGES = 1000


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
    """A book's cards as searched. Never changed once built: an update builds a new one
    (a search in another thread may be reading this one)."""

    cards: list[Indexed] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # By card path: its ETag, and the card as indexed (None: it could not be read).
    etags: dict[str, str | None] = field(default_factory=dict)
    entries: dict[str, Indexed | None] = field(default_factory=dict)
    sync_token: str = ""  # the book's sync-token the cards are as of; "" without one
    # Cards that had to be read one by one, because no REPORT could carry them: while
    # one is in the book, answers say so.
    unsendable: frozenset[str] = frozenset()
    complete: bool = True  # False: the book was too big to read one by one in full

    def version(self) -> str:
        """The vCard version most of its cards use (3.0 for an empty book)."""
        counted = Counter(c.version for c in self.cards)
        return counted.most_common(1)[0][0] if counted else "3.0"


# By book path: the book's version (ctag or sync-token) when indexed, and the index.
_indexes: OrderedDict[str, tuple[str, BookIndex]] = OrderedDict()
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
    """The book's index: cached while its version holds, else brought up to date with
    the cards changed since (or, when that cannot be trusted, read whole again)."""
    with _indexes_lock:
        kept = _indexes.get(book.path)
        if kept is not None:
            _indexes.move_to_end(book.path)
    if kept is not None and book.version and kept[0] == book.version:
        return kept[1]
    index = _updated(client, book, kept[1]) if kept is not None else None
    if index is None:
        index = _whole(client, book)
    with _indexes_lock:
        _card_versions[book.path] = index.version()
        # Kept even without a version: the next search then compares ETags.
        _indexes[book.path] = (book.version, index)
        _indexes.move_to_end(book.path)
        while len(_indexes) > INDEXES_KEPT:
            _indexes.popitem(last=False)
    return index


def _whole(client: DAVClient, book: carddav.BookMeta) -> BookIndex:
    token = card_sync.token_now(client, book)
    answer = carddav.cards(client, book)
    index = _finished(
        book,
        BookIndex(
            etags={card.href: card.etag for card in answer.cards},
            entries={card.href: _entry(card, book) for card in answer.cards},
            sync_token=token,
            complete=answer.complete,
            unsendable=frozenset(
                c.href for c in answer.cards if answer.note and UNSENDABLE.search(c.data)
            ),
        ),
    )
    if answer.note and answer.note not in index.notes:
        # Broken for a reason no card shows, or only part of the book read: say so.
        generic = carddav.one_by_one_note(book.name)
        index.notes = [answer.note, *(n for n in index.notes if n != generic)]
    return index


def _updated(client: DAVClient, book: carddav.BookMeta, old: BookIndex) -> BookIndex | None:
    """``old`` with the cards changed since it was built read again; None when the
    changes cannot be known (the server rejected the sync-token) or are most of the book."""
    if not old.complete:
        return None  # cards it never held would never be read
    if old.sync_token:
        changes = card_sync.since_token(client, book, old.sync_token)
    else:
        changes = card_sync.by_etags(client, book, old.etags)
    if changes is None or len(changes.changed) > max(MOST_CHANGES, len(old.etags) // 2):
        return None
    fresh = card_sync.read(client, book, changes.changed)
    etags, entries = dict(old.etags), dict(old.entries)
    for path in changes.deleted | fresh.missing:
        etags.pop(path, None)
        entries.pop(path, None)
    for card in fresh.cards:
        etags[card.href] = card.etag
        entries[card.href] = _entry(card, book)
    read = {card.href for card in fresh.cards}
    unsendable = (old.unsendable - changes.deleted - fresh.missing - read) | {
        c.href for c in fresh.cards if fresh.one_by_one and UNSENDABLE.search(c.data)
    }
    return _finished(
        book,
        BookIndex(etags=etags, entries=entries, sync_token=changes.token, unsendable=unsendable),
    )


def card_version(client: DAVClient, book: carddav.BookMeta) -> str:
    """The vCard version new cards of ``book`` are written in: the one its cards use."""
    with _indexes_lock:
        known = _card_versions.get(book.path)
    return known or build_index(client, book).version()


def cached_index(book: carddav.BookMeta) -> BookIndex | None:
    """The book's index if its version proves it current."""
    with _indexes_lock:
        kept = _indexes.get(book.path)
    return kept[1] if kept is not None and book.version and kept[0] == book.version else None


def _entry(card: StoredObject, book: carddav.BookMeta) -> Indexed | None:
    try:
        person = read_person(card.data)
    except Exception:  # one hostile card must not sink the book
        return None
    return Indexed(
        summary=summary_of(person, ContactId.of(book.path, card.href, card.etag), book),
        words=person.search_text(),
        phones=tuple(d for d in person.phone_digits() if d),
        sort_key=folded(person.name),
        version=person.version,
        uid=person.uid,
    )


def _finished(book: carddav.BookMeta, index: BookIndex) -> BookIndex:
    """``index`` with its cards sorted for searching and the notes its cards call for."""
    index.cards = sorted(
        (c for c in index.entries.values() if c is not None),
        key=lambda c: (c.sort_key, c.summary.id),
    )
    if index.unsendable:
        index.notes.append(carddav.one_by_one_note(book.name))
    unreadable = len(index.entries) - len(index.cards)
    if unreadable:
        index.notes.append(
            f"{unreadable} card(s) in {book.name} could not be read at all and are left out."
        )
    uids = Counter(c.uid for c in index.cards if c.uid)
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
    return TOKEN_PREFIX + versions_token(chosen)


async def is_fresh(body: str, state: DavState, ctx: CallContext) -> bool:
    return await still_current(body, lambda: books(state, ctx))


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
