"""The contact tools as the end-to-end tests call them, and cards as other clients write
them (tests/e2e/test_contacts.py, test_contact_changes.py)."""

from __future__ import annotations

import base64
import secrets
from typing import Any

import msgspec

from tests.calendar_calls import call
from tests.server_env import Servers, Shared
from tests.servers.dav import DavAccount, DavServer


def server_of(servers: Servers, shared: Shared) -> tuple[DavServer, DavAccount]:
    dav = servers.dav[shared.calendar]
    return dav, DavAccount(shared.account.email, shared.account.password, dav.url)


def word() -> str:
    """A word no other test's contact holds."""
    return "Zq" + secrets.token_hex(4)


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
