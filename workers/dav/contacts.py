"""CardDAV handlers of the DAV worker: address books and contacts.

Reads set ``ctx.validator`` to the address books' versions (revalidated by the
worker's one ``check_fresh``) and ``ctx.tags`` to the books they read; writes set
the tags of the book they changed. An update changes only the properties asked for
(``workers/dav/vcard_edit.py``) and writes with If-Match the ETag the model's id
was read with: a card changed elsewhere meanwhile is a Conflict, never overwritten.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import msgspec
from caldav.davclient import DAVClient

from protocol import contacts as api
from protocol.errors import AlreadyExists, Conflict, InvalidArgument
from workers.dav import carddav, paging
from workers.dav.carddav import BookMeta
from workers.dav.contact_books import (
    BOOKS_TAG,
    book_of,
    book_tag,
    books,
    build_index,
    cached_index,
    card_version,
    choose,
    token,
    writable,
)
from workers.dav.contact_ids import ContactId, etag_digest
from workers.dav.handlers import DavState
from workers.dav.vcard_edit import edit, new_card
from workers.dav.vcard_read import Person, digits, folded, read_person
from workers.runtime import CallContext, serves

# A cursor names its question (paging.question_key); a contact search has no range.
_NO_RANGE = datetime(2000, 1, 1)
_PHONE_LIKE = set("0123456789+()-./ ")


@serves(api.LIST_ADDRESS_BOOKS)
async def list_address_books(
    _args: api.ListAddressBooksArgs, state: DavState, ctx: CallContext
) -> api.ListAddressBooksResult:
    found = await books(state, ctx)
    ctx.validator, ctx.tags = token(found), [BOOKS_TAG]

    def counts(client: DAVClient) -> list[int | None]:
        return [
            len(index.cards) if (index := cached_index(b)) else carddav.count(client, b)
            for b in found
        ]

    numbers = await state.pool.run(counts, deadline=ctx.deadline)
    return api.ListAddressBooksResult(
        address_books=[
            api.AddressBookInfo(id=b.path, name=b.name, read_only=b.read_only, count=n)
            for b, n in zip(found, numbers, strict=True)
        ]
    )


class _Query:
    """What a query finds: every word in a name, email or organization, or (for a
    query of digits) a phone number holding those digits."""

    def __init__(self, text: str) -> None:
        self.words = folded(text).split()
        wanted = digits(text)
        phone_like = len(wanted) >= 3 and set(text) <= _PHONE_LIKE
        # A national number (030 1234567) also finds the international one (+49 30 ...).
        self.digits = {wanted, wanted.lstrip("0")} if phone_like else set()

    def matches(self, words: str, phones: tuple[str, ...]) -> bool:
        if any(d and d in p for d in self.digits for p in phones):
            return True
        return all(w in words for w in self.words)


@serves(api.SEARCH_CONTACTS)
async def search_contacts(
    args: api.SearchContactsArgs, state: DavState, ctx: CallContext
) -> api.SearchContactsResult:
    tool = api.SEARCH_CONTACTS.name
    question = paging.question_key(tool, args, _NO_RANGE, _NO_RANGE)
    first = paging.read_offset(tool, args.cursor, question)  # refused before reading
    chosen = choose(await books(state, ctx), args.address_book)
    # Taken before the reads: a change meanwhile makes the answer stale, never wrong.
    ctx.validator, ctx.tags = token(chosen), [book_tag(b.path) for b in chosen]
    indexes = await state.pool.run(
        lambda c: [build_index(c, b) for b in chosen], deadline=ctx.deadline
    )
    query = _Query(args.query)
    found = sorted(
        (
            card
            for index in indexes
            for card in index.cards
            if query.matches(card.words, card.phones)
        ),
        key=lambda card: (card.sort_key, card.summary.id),
    )
    shown = paging.page(found, first, args.limit, question)
    return api.SearchContactsResult(
        contacts=[card.summary for card in shown.items],
        total=shown.total,
        next_cursor=shown.next_cursor,
        notes=[note for index in indexes for note in index.notes],
    )


@serves(api.GET_CONTACT)
async def get_contact(args: api.GetContactArgs, state: DavState, ctx: CallContext) -> api.Contact:
    card_id = ContactId.parse(args.id, api.GET_CONTACT.name)
    book = book_of(await books(state, ctx), card_id)
    ctx.validator, ctx.tags = token([book]), [book_tag(book.path)]
    stored = await state.pool.run(
        lambda c: carddav.fetch(c, card_id.url_path), deadline=ctx.deadline
    )
    person = _read(stored.data)
    fresh = ContactId.of(book.path, card_id.href, stored.etag)
    return api.Contact(
        id=str(fresh),
        address_book=book.name,
        name=person.name,
        given=person.given,
        family=person.family,
        nickname=person.nickname,
        emails=[api.EmailOut(e.value, e.type) for e in person.emails],
        phones=[api.PhoneOut(p.value, p.type) for p in person.phones],
        addresses=[
            api.AddressOut(a.street, a.city, a.region, a.postal_code, a.country, a.type)
            for a in person.addresses
        ],
        organization=person.organization,
        title=person.title,
        birthday=person.birthday,
        notes=person.notes,
        categories=person.categories,
        urls=person.urls,
        has_photo=person.has_photo,
        read_only=book.read_only,
        warnings=person.warnings,
    )


def _read(text: str) -> Person:
    try:
        return read_person(text)
    except ValueError:
        raise InvalidArgument(
            "That card holds no vCard the server could give back; it cannot be read here."
        ) from None


@serves(api.CREATE_CONTACT)
async def create_contact(
    args: api.CreateContactArgs, state: DavState, ctx: CallContext
) -> api.ContactWritten:
    found = await books(state, ctx)
    if args.address_book is None:
        candidates = [b for b in found if not b.read_only]
        if not candidates:
            raise InvalidArgument("There is no address book here that accepts new contacts.")
        book = candidates[0]
    else:
        book = writable(choose(found, args.address_book)[0])
    _changes(ctx, book)
    fields = {f: getattr(args, f) for f in args.__struct_fields__ if f != "address_book"}
    # The file name comes from what is created: the same contact created twice at once
    # (a retried call) meets If-None-Match on the server, and only one card is made.
    digest = hashlib.blake2b(msgspec.msgpack.encode(args), digest_size=10).hexdigest()
    href = f"{book.path}mcp-{digest}.vcf"

    def run(client: DAVClient) -> str | None:
        version = card_version(client, book)
        text, _uid = new_card(fields, version)
        return carddav.store(client, href, text, None)

    try:
        etag = await state.pool.run(run, deadline=ctx.deadline)
    except Conflict:
        existing = ContactId.of(book.path, href, None)
        raise AlreadyExists(
            f"This contact was already created in {book.name} with exactly these details "
            f"(id {existing}); change it with update_contact rather than creating it again."
        ) from None
    return api.ContactWritten(str(ContactId.of(book.path, href, etag)), args.name, book.name)


@serves(api.UPDATE_CONTACT)
async def update_contact(
    args: api.UpdateContactArgs, state: DavState, ctx: CallContext
) -> api.ContactWritten:
    card_id, book = await _card_to_change(args.id, api.UPDATE_CONTACT.name, state, ctx)
    changes = args.changed()

    def run(client: DAVClient) -> tuple[str | None, str]:
        stored = carddav.fetch(client, card_id.url_path, to_change=True)
        _unchanged_since_read(card_id, stored.etag)
        try:
            text = edit(stored.data, changes)
        except ValueError:
            raise InvalidArgument(
                "That card holds no vCard that can be changed here; nothing was changed."
            ) from None
        etag = carddav.store(client, card_id.url_path, text, stored.etag or "*")
        return etag, _read(text).name

    etag, name = await state.pool.run(run, deadline=ctx.deadline)
    return api.ContactWritten(str(ContactId.of(book.path, card_id.href, etag)), name, book.name)


@serves(api.DELETE_CONTACT)
async def delete_contact(
    args: api.DeleteContactArgs, state: DavState, ctx: CallContext
) -> api.ContactDeleted:
    card_id, book = await _card_to_change(args.id, api.DELETE_CONTACT.name, state, ctx)

    def run(client: DAVClient) -> str:
        stored = carddav.fetch(client, card_id.url_path)
        _unchanged_since_read(card_id, stored.etag)
        name = _read(stored.data).name
        carddav.remove(client, card_id.url_path, stored.etag)
        return name

    name = await state.pool.run(run, deadline=ctx.deadline)
    return api.ContactDeleted(id=args.id, name=name, address_book=book.name)


def _changes(ctx: CallContext, book: BookMeta) -> None:
    """The call writes to ``book``: the supervisor forgets what it cached of it, and of the
    address book list, whose ctags change with it."""
    ctx.tags = [book_tag(book.path), BOOKS_TAG]


async def _card_to_change(
    card: str, tool: str, state: DavState, ctx: CallContext
) -> tuple[ContactId, BookMeta]:
    """The card the id ``card`` names and its book, which must be writable and which the
    call writes to."""
    card_id = ContactId.parse(card, tool)
    book = writable(book_of(await books(state, ctx), card_id))
    _changes(ctx, book)
    return card_id, book


def _unchanged_since_read(card_id: ContactId, etag: str | None) -> None:
    """Raises Conflict when the card is not as it was when the model got its id."""
    if card_id.seen and etag and etag_digest(etag) != card_id.seen:
        raise Conflict(carddav.CHANGED_ELSEWHERE)
