"""What the attacks on the contact tools share (tests/e2e/test_attack_contacts.py,
test_attack_contact_data.py): the check that a refusal is a sentence of ours, a card
stored as another client would, and the file name inside a contact id."""

from __future__ import annotations

import base64
from typing import Any

import msgspec

from tests.contact_calls import card, raw, server_of, word
from tests.mcp_client import error_text
from tests.server_env import Servers, Shared

NEVER = ("unexpectedly", "Traceback", "HTTP/1.1", "Error(", "b'", "password")


def plain_refusal(answer: Any) -> str:
    """The refusal's text, checked to be a sentence of ours."""
    text = error_text(answer)
    assert not any(bad in text for bad in NEVER), text
    return text


async def stored(
    servers: Servers, shared: Shared, *lines: str, tag: str = ""
) -> tuple[str, str, str]:
    """A card another client stored: (its tag, its href, its bytes on the server)."""
    dav, login = server_of(servers, shared)
    tag = tag or word()
    status, _ = dav.put_card(login, f"{tag}.vcf", card(tag, *lines))
    # A refusal would leave the test nothing to check: it fails rather than skips.
    assert status in (201, 204), f"{dav.name} refused the card (HTTP {status})"
    href = f"{dav.address_book_path(login)}{tag}.vcf"
    return tag, href, raw(dav, login, href)


def card_name(contact_id: str) -> str:
    """The card's file name a contact id holds."""
    body = contact_id.removeprefix("ct_")
    decoded = msgspec.msgpack.decode(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return str(decoded[1])


def restarts(shared: Shared) -> int:
    """How often a worker was started after the first time (a crash, or a hang)."""
    return (shared.folder / "err.log").read_text().count("worker.ready") - 1
