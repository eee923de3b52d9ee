"""The contact tools as the end-to-end tests call them, and cards as other clients write
them (tests/e2e/test_contacts.py, test_contact_changes.py)."""

from __future__ import annotations

import base64
import secrets
from typing import Any

import msgspec

from tests.calendar_calls import call
from tests.server_env import Shared
from tests.servers.dav import DavAccount, DavServer


def server_of(shared: Shared) -> tuple[DavServer, DavAccount]:
    """The CalDAV server of the module's address book, and the account's login there."""
    return shared.dav, shared.dav_login()


def word() -> str:
    """A word no other test's contact holds."""
    return "Zq" + secrets.token_hex(4)


def photo_line(data: bytes) -> str:
    """A PHOTO property holding ``data`` in base64, folded as clients write it."""
    photo = base64.b64encode(data).decode()
    folded = "\r\n ".join(photo[i : i + 74] for i in range(0, len(photo), 74))
    return f"PHOTO;ENCODING=b;TYPE=JPEG:{folded}"


def card(uid: str, *lines: str, version: str = "3.0") -> str:
    return "\r\n".join(["BEGIN:VCARD", f"VERSION:{version}", f"UID:{uid}", *lines, "END:VCARD", ""])


def raw(dav: DavServer, login: DavAccount, href: str) -> str:
    status, body = dav.request(login, "GET", href)
    assert status == 200, (status, body[:200])
    return body.decode()


async def find(session: Any, query: str, **args: Any) -> list[dict[str, Any]]:
    return list((await call(session, "search_contacts", query=query, **args))["contacts"])


async def only(session: Any, query: str) -> dict[str, Any]:
    (found,) = await find(session, query)
    return found


def forged(book_path: str, name: str = "x.vcf") -> str:
    """A contact id made up to name ``name`` in ``book_path``."""
    raw_id = msgspec.msgpack.encode([book_path, name, ""])
    return "ct_" + base64.urlsafe_b64encode(raw_id).decode().rstrip("=")


async def stored(
    shared: Shared, *lines: str, tag: str = "", version: str = "3.0"
) -> tuple[str, str, str]:
    """A card another client stored: (its tag, its href, its bytes on the server)."""
    dav, login = server_of(shared)
    tag = tag or word()
    status, _ = dav.put_card(login, f"{tag}.vcf", card(tag, *lines, version=version))
    # A refusal would leave the test nothing to check: it fails rather than skips.
    assert status in (201, 204), f"{dav.name} refused the card (HTTP {status})"
    href = f"{dav.address_book_path(login)}{tag}.vcf"
    return tag, href, raw(dav, login, href)
