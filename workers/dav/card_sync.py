"""What changed in an address book since its index was built (blocking; worker threads).

A search after another client changed one card of 5,000 should read that card, not
the book. Two ways to learn what changed:

- a sync-collection REPORT (RFC 6578) from the sync-token the index was built at:
  the server names the cards changed and deleted since;
- where the server keeps no sync-token, a PROPFIND of every card's ETag, compared
  with the ETags the index holds.

The changed cards are then read in one addressbook-multiget (card by card where the
server cannot send them that way). Any answer we cannot trust (a token the server
rejects, a truncated list) returns None: the caller reads the whole book again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urljoin, urlsplit
from xml.sax.saxutils import escape

from caldav.davclient import DAVClient
from caldav.lib import error as dav_error
from lxml import etree  # type: ignore[import-untyped]  # caldav parses answers with it

from protocol.errors import NotFound, ProtocolViolation
from workers.dav.carddav import CARD, CARD_NS, BookMeta, check, fetch
from workers.dav.client import StoredObject, _sync_token
from workers.dav.propfind import NS, _ok_props, _text, same_origin

_SYNC = """<?xml version="1.0" encoding="utf-8"?>
<d:sync-collection xmlns:d="DAV:">
  <d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level>
  <d:prop><d:getetag/></d:prop>
</d:sync-collection>"""
_ETAGS = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>"""
_MULTIGET = f"""<?xml version="1.0" encoding="utf-8"?>
<card:addressbook-multiget xmlns:d="DAV:" xmlns:card="{CARD}">
  <d:prop><d:getetag/><card:address-data/></d:prop>
  {{hrefs}}
</card:addressbook-multiget>"""
_BROKEN_REPORT = (400, 500, 501, 507)


@dataclass
class Changes:
    """Cards to read again (by the href the server gave) and cards gone (by path)."""

    changed: list[str] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)
    token: str = ""  # the sync-token these changes bring the index to; "" without one


def path_of(base: str, href: str) -> str:
    """The unquoted path an href names: how the index and contact ids name cards."""
    return unquote(urlsplit(urljoin(base, href)).path)


def _in_book(book: BookMeta, path: str) -> bool:
    return path.startswith(book.path) and path.rstrip("/") != book.path.rstrip("/")


def since_token(client: DAVClient, book: BookMeta, token: str) -> Changes | None:
    """The changes since ``token`` (a sync-collection REPORT); None when the server
    rejects the token (403/409 valid-sync-token) or does not list every change."""
    try:
        response = client.report(book.url, _SYNC.format(token=escape(token)), depth=0)
    except (etree.XMLSyntaxError, dav_error.AuthorizationError):
        # caldav raises on a 403, the answer Radicale gives a token it does not know.
        return None
    status = int(getattr(response, "status", 0) or 0)
    if status != 207 or response.tree is None:
        return None
    changes = Changes(token=" ".join((response.tree.findtext("d:sync-token", "", NS)).split()))
    if not changes.token:
        return None  # without a new token the next call could not go on from here
    for item in response.tree.findall("d:response", NS):
        href = item.findtext("d:href", default="", namespaces=NS)
        path = path_of(book.url, href)
        gone = item.findtext("d:status", default="", namespaces=NS)
        if not _in_book(book, path):
            if "507" in gone:
                return None  # the server truncated the list of changes
            continue
        if "404" in gone:
            changes.deleted.add(path)
        elif same_origin(urljoin(book.url, href), book.url):
            changes.changed.append(href)
    return changes


def by_etags(client: DAVClient, book: BookMeta, known: dict[str, str | None]) -> Changes:
    """The changes against ``known`` (ETags by path): one PROPFIND of every ETag."""
    response = client.propfind(book.url, _ETAGS, depth=1)
    check(response, "listing the address book")
    changes, present = Changes(), set()
    for item in response.tree.findall("d:response", NS) if response.tree is not None else []:
        href = item.findtext("d:href", default="", namespaces=NS)
        path = path_of(book.url, href)
        if not _in_book(book, path) or not same_origin(urljoin(book.url, href), book.url):
            continue
        present.add(path)
        props = _ok_props(item)
        etag = _text(props, "d:getetag") if props is not None else ""
        if not etag or path not in known or known[path] != etag:
            changes.changed.append(href)
    changes.deleted = set(known) - present
    return changes


@dataclass
class Read:
    cards: list[StoredObject]
    missing: set[str]  # paths asked for that the server no longer has
    one_by_one: bool = False  # the multiget broke, and the cards were read by GET


def read(client: DAVClient, book: BookMeta, hrefs: list[str]) -> Read:
    """The cards at ``hrefs``: one addressbook-multiget, or card by card when the
    server cannot send them in one piece (a card holding a character XML cannot carry)."""
    if not hrefs:
        return Read([], set())
    body = _MULTIGET.format(hrefs="".join(f"<d:href>{escape(h)}</d:href>" for h in hrefs))
    try:
        response = client.report(book.url, body, depth=1)
    except etree.XMLSyntaxError:
        return _one_by_one(client, book, hrefs)
    if int(getattr(response, "status", 0) or 0) in _BROKEN_REPORT:
        return _one_by_one(client, book, hrefs)
    check(response, "reading the address book")
    wanted = {path_of(book.url, h) for h in hrefs}
    found: list[StoredObject] = []
    for item in response.tree.findall("d:response", NS) if response.tree is not None else []:
        props = _ok_props(item)
        path = path_of(book.url, item.findtext("d:href", default="", namespaces=NS))
        data = props.findtext("card:address-data", "", CARD_NS) if props is not None else ""
        if data and path in wanted:
            found.append(StoredObject(path, _text(props, "d:getetag") or None, data))
    return Read(found, wanted - {card.href for card in found})


def _one_by_one(client: DAVClient, book: BookMeta, hrefs: list[str]) -> Read:
    found, missing = [], set()
    for href in hrefs:
        path = path_of(book.url, href)
        try:
            card = fetch(client, href)
        except (NotFound, ProtocolViolation):
            # Gone, or refused: left out, as a whole read of the book leaves it out.
            missing.add(path)
            continue
        found.append(StoredObject(path, card.etag, card.data))
    return Read(found, missing, one_by_one=True)


def token_now(client: DAVClient, book: BookMeta) -> str:
    """The book's sync-token now ("" where the server keeps none): asked before a whole
    read, so a change made during it is read again at the next sync, never missed."""
    return _sync_token(client, book.url)
