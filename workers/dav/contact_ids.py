"""Contact ids: which card, in which address book, as it was when it was read.

The id carries the address book's URL path, the card's file name inside it and a
short digest of the ETag the card had when it was listed or read. It is opaque to
the model. A write with an id refuses to change a card that changed since that read
(update_contact, delete_contact), so nothing another client wrote is overwritten.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from urllib.parse import quote

import msgspec

from protocol.errors import InvalidArgument

PREFIX = "ct_"


class ContactId(msgspec.Struct, array_like=True, frozen=True):
    book: str  # the address book's URL path, ending in "/"
    name: str  # the card's file name inside it
    seen: str = ""  # etag_digest() of the card as read; "" when unknown

    @property
    def href(self) -> str:
        """The card's path as the server lists it (decoded)."""
        return self.book + self.name

    @property
    def url_path(self) -> str:
        """The card's path percent-encoded for a request: the server decodes it to
        exactly ``href`` (a name with '#', '?' or '%41' another client chose names that
        card, not the book or another card)."""
        return quote(self.href, safe="/@")

    def __str__(self) -> str:
        raw = msgspec.msgpack.encode(self)
        return PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def of(cls, book: str, href: str, etag: str | None) -> ContactId:
        return cls(book, href.removeprefix(book), etag_digest(etag))

    @classmethod
    def parse(cls, text: str, tool: str) -> ContactId:
        """The id in ``text``. Raises InvalidArgument with a sentence for ``tool``."""
        if text.startswith("ev_"):
            raise InvalidArgument(
                f"That is an event id, not a contact id: give it to update_event or "
                f"delete_event, and give {tool} an id from search_contacts."
            )
        if text.startswith("td_"):
            raise InvalidArgument(
                f"That is a task id, not a contact id: give it to update_task or delete_task, "
                f"and give {tool} an id from search_contacts."
            )
        if not text.startswith(PREFIX):
            raise _not_an_id(text)
        body = text[len(PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            found = msgspec.msgpack.decode(raw, type=cls)
        except (binascii.Error, ValueError, msgspec.DecodeError):
            raise _not_an_id(text) from None
        # Only a card directly inside an address book on our own server: the id comes
        # back from the model and must not steer a request (which carries the password)
        # anywhere else, nor name the collection itself (Radicale answers a GET of the
        # book with every card in it, and its DELETE with that ETag deletes the book).
        # The name is sent percent-encoded (url_path), so '%2e', '#' or '?' in it name a
        # file of that name, never the book; the book must be one listed (book_of).
        if not (
            found.book.startswith("/")
            and not found.book.startswith("//")
            and found.book.endswith("/")
            and "/../" not in found.book + "/"
            and "/./" not in found.book
            and found.name not in ("", ".", "..")
            and "/" not in found.name
            and "\\" not in found.name
            and not any(c in found.book for c in "?#%")
            and not any(c in found.book + found.name for c in "\r\n\x00")
            and len(found.seen) <= 32
        ):
            raise _not_an_id(text)
        return found


def etag_digest(etag: str | None) -> str:
    """A short, stable stand-in for an ETag (the id need not carry the whole of it)."""
    if not etag:
        return ""
    digest = hashlib.blake2b(etag.strip().removeprefix("W/").encode(), digest_size=6)
    return base64.urlsafe_b64encode(digest.digest()).decode()


def _not_an_id(text: str) -> InvalidArgument:
    shown = text if len(text) < 60 else text[:57] + "..."
    return InvalidArgument(
        f"“{shown}” is not a contact id; use an id exactly as search_contacts returned it."
    )
