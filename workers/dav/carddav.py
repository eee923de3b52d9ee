"""CardDAV over caldav's DAVClient: the address book home, the address books, their cards,
and conditional writes (blocking; run in worker threads).

The requests and the status handling are the calendar's (``workers/dav/client.py``):
the XML is ours and small, each call one request, every URL confined to the
configured server. Only the sentences differ: they speak of contacts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from caldav.davclient import DAVClient
from lxml import etree  # type: ignore[import-untyped]  # caldav parses answers with it

from protocol.errors import Conflict, NotFound, ProtocolViolation, Refused
from workers.dav.client import StoredObject, _sync_token, absolute, server_failed
from workers.dav.propfind import NS, _ok_props, _text, listed_collections, same_origin

CARD = "urn:ietf:params:xml:ns:carddav"
CARD_NS = {**NS, "card": CARD}

_HOME = f"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:card="{CARD}"><d:prop><card:addressbook-home-set/></d:prop></d:propfind>"""
_LIST_BOOKS = f"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:card="{CARD}" xmlns:cs="http://calendarserver.org/ns/">
  <d:prop>
    <d:resourcetype/><d:displayname/><card:addressbook-description/>
    <d:current-user-privilege-set/><cs:getctag/>
  </d:prop>
</d:propfind>"""
# Every card of a book: an addressbook-query with an empty filter, which every card
# passes (RFC 6352 10.5). A filter naming properties (VERSION, FN) makes Radicale parse
# every card to test it: 10-14 s for 5,000 cards against 2-4 s for the empty one.
_QUERY = f"""<?xml version="1.0" encoding="utf-8"?>
<card:addressbook-query xmlns:d="DAV:" xmlns:card="{CARD}">
  <d:prop><d:getetag/><card:address-data/></d:prop>
  <card:filter/>
</card:addressbook-query>"""
_COUNT = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>"""


@dataclass(frozen=True)
class BookMeta:
    url: str  # absolute
    path: str  # the id we give out, ending in "/"
    name: str
    read_only: bool
    version: str  # ctag or sync-token: changes with every change inside


CHANGED_ELSEWHERE = (
    "The contact was changed elsewhere since it was read; nothing was changed. Read it again "
    "with get_contact and repeat the change if it is still wanted."
)
"""A card that is no longer as the model read it: told before the write or by the server."""


def check(response: Any, what: str, *, write: bool = False) -> None:
    """Raises the MailError a refused CardDAV request means, in a sentence about contacts."""
    status = int(getattr(response, "status", 0) or 0)
    if status in (403, 409, 412):
        # Xandikos answers a card it will not store with 412 and a precondition element:
        # that is a refusal of the card, not a change made elsewhere.
        body = getattr(response, "_raw", b"")
        body = body if isinstance(body, bytes) else str(body).encode()
        if b"no-uid-conflict" in body:
            raise Refused(
                "Another card in this address book already has this card's UID; nothing was saved."
            )
        if b"valid-address-data" in body or b"supported-address-data" in body:
            raise Refused("The server refused to store this card as invalid; nothing was saved.")
    if status == 412:
        raise Conflict(CHANGED_ELSEWHERE)
    if status == 423:
        raise Conflict(
            "The address book was busy with another change; nothing was changed. Try again "
            "in a moment."
        )
    if status == 404:
        raise NotFound(
            "That contact is no longer on the server; look it up again with search_contacts."
        )
    if status == 403:
        raise Refused(f"The server does not allow {what} in this address book (read-only?).")
    if status >= 500:
        raise ProtocolViolation(server_failed("The address book server", what, status, write))
    if status >= 400:
        raise ProtocolViolation(f"The address book server refused {what} (HTTP {status}).")


def discover_home(client: DAVClient) -> str | None:
    """The address book home URL named by the user's principal; None if it names none."""
    principal = str(client.principal().url)  # type: ignore[no-untyped-call]
    response = client.propfind(principal, _HOME, depth=0)
    if int(getattr(response, "status", 0) or 0) != 207 or response.tree is None:
        return None
    for href in response.tree.iterfind(".//card:addressbook-home-set/d:href", CARD_NS):
        url = urljoin(principal, (href.text or "").strip())
        if href.text and same_origin(url, principal):
            return str(url if url.endswith("/") else url + "/")
    return None


def list_books(client: DAVClient, home: str) -> list[BookMeta]:
    response = client.propfind(home, _LIST_BOOKS, depth=1)
    check(response, "listing address books")
    return [
        BookMeta(
            url=listed.url,
            path=listed.path,
            name=listed.name,
            read_only=listed.read_only,
            version=_text(listed.props, "cs:getctag") or _sync_token(client, listed.url),
        )
        for listed in listed_collections(
            response, home, "card:addressbook", CARD_NS, as_folder=True
        )
    ]


MAX_CARDS_ONE_BY_ONE = 2000


@dataclass
class CardsAnswer:
    cards: list[StoredObject]
    note: str = ""  # how the cards were read when one REPORT could not carry them
    complete: bool = True  # False: more cards than are read one by one


def cards(client: DAVClient, book: BookMeta) -> CardsAnswer:
    """Every card of ``book`` with its ETag: one REPORT.

    A card that holds a character XML cannot carry (a control character another client
    stored) makes the server's whole REPORT unreadable; then the cards are listed and
    read one by one, so one card cannot hide the book.
    """
    try:
        response = client.report(book.url, _QUERY, depth=1)
    except etree.XMLSyntaxError:
        return _one_by_one(client, book)
    if int(getattr(response, "status", 0) or 0) in (400, 500, 501, 507):
        return _one_by_one(client, book)
    check(response, "reading the address book")
    found = []
    for item in response.tree.findall("d:response", NS) if response.tree is not None else []:
        props = _ok_props(item)
        if props is None:
            continue
        data = props.findtext("card:address-data", default="", namespaces=CARD_NS)
        href = _path(book.url, item.findtext("d:href", default="", namespaces=NS))
        if data and href.startswith(book.path) and href != book.path:
            found.append(StoredObject(href, _text(props, "d:getetag") or None, data))
    return CardsAnswer(found)


def _one_by_one(client: DAVClient, book: BookMeta) -> CardsAnswer:
    hrefs = _hrefs(client, book)
    found = []
    for href in hrefs[:MAX_CARDS_ONE_BY_ONE]:
        try:
            found.append(fetch(client, href))
        except (NotFound, ProtocolViolation):
            continue  # deleted meanwhile, or refused: the others still count
    note = one_by_one_note(book.name)
    if len(hrefs) > MAX_CARDS_ONE_BY_ONE:
        note += f" Only the first {MAX_CARDS_ONE_BY_ONE} of {len(hrefs)} were read."
    return CardsAnswer(found, note, complete=len(hrefs) <= MAX_CARDS_ONE_BY_ONE)


def one_by_one_note(name: str) -> str:
    """What an answer says when book ``name`` could not be read in one REPORT."""
    return (
        f"The server could not send {name} in one piece (a card in it holds characters "
        "that cannot be sent that way), so its cards were read one by one."
    )


def _hrefs(client: DAVClient, book: BookMeta) -> list[str]:
    response = client.propfind(book.url, _COUNT, depth=1)
    check(response, "listing the address book")
    hrefs = [
        _path(book.url, item.findtext("d:href", default="", namespaces=NS))
        for item in (response.tree.findall("d:response", NS) if response.tree is not None else [])
    ]
    return [h for h in hrefs if h.startswith(book.path) and h.rstrip("/") != book.path.rstrip("/")]


def count(client: DAVClient, book: BookMeta) -> int | None:
    """How many cards ``book`` holds (a PROPFIND of ETags only); None if not answered."""
    try:
        return len(_hrefs(client, book))
    except (NotFound, ProtocolViolation, Refused):
        return None


def _path(base: str, href: str) -> str:
    return unquote(urlsplit(urljoin(base, href)).path)


def fetch(client: DAVClient, href: str, *, to_change: bool = False) -> StoredObject:
    """The card at ``href`` with its ETag. Bytes that are not UTF-8 read as U+FFFD; a card
    ``to_change`` that holds such bytes is refused (Refused), since writing it back would
    change them."""
    # caldav's client asks for text/calendar by default, and Xandikos answers 406.
    response = client.request(absolute(client, href), "GET", "", {"Accept": "text/vcard"})
    check(response, "reading the contact")
    raw = response._raw
    if not isinstance(raw, bytes):
        return StoredObject(href, response.headers.get("ETag"), str(raw))
    try:
        data = raw.decode("utf-8")
    except UnicodeDecodeError:
        if to_change:
            raise Refused(
                "This card holds bytes that are not UTF-8 text, which a change here would "
                "alter; nothing was changed. Edit it in your contacts app instead."
            ) from None
        data = raw.decode("utf-8", "replace")
    return StoredObject(href, response.headers.get("ETag"), data)


LOCKED_WAIT = 10.0  # seconds a book may stay locked before the write gives up


def _write(client: DAVClient, href: str, method: str, body: str, headers: dict[str, str]) -> Any:
    """One PUT or DELETE, sent again while the server answers 423 Locked (for at most
    LOCKED_WAIT seconds, and never past the call's deadline, which abandons it): Xandikos
    locks a whole book while it writes one card, and a locked request did nothing, so
    sending it again (with the same If-Match) is safe."""
    url = absolute(client, href)
    give_up = time.monotonic() + LOCKED_WAIT
    attempt = 0
    while True:
        response = client.request(url, method, body, headers)
        if int(getattr(response, "status", 0) or 0) != 423 or time.monotonic() > give_up:
            return response
        time.sleep(min(0.5, 0.05 * 2**attempt))
        attempt += 1


def store(client: DAVClient, href: str, data: str, etag: str | None) -> str | None:
    """PUT: If-Match the ETag we read, or If-None-Match * for a new card; the new ETag."""
    headers = {"Content-Type": "text/vcard; charset=utf-8"}
    if etag:
        headers["If-Match"] = etag
    else:
        headers["If-None-Match"] = "*"
    response = _write(client, href, "PUT", data, headers)
    check(response, "saving contacts", write=True)
    etag = response.headers.get("ETag")
    return str(etag) if etag else None


def remove(client: DAVClient, href: str, etag: str | None) -> None:
    headers = {"If-Match": etag} if etag else {}
    response = _write(client, href, "DELETE", "", headers)
    check(response, "deleting contacts", write=True)
