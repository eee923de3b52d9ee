"""What the attacks on the contact tools share (tests/e2e/test_attack_contacts.py,
test_attack_contact_data.py): the check that a refusal is a sentence of ours and the file
name inside a contact id (a card stored as another client would: contact_calls.stored)."""

from __future__ import annotations

import base64
from typing import Any

import msgspec

from tests.mcp_client import error_text
from tests.server_env import Shared

NEVER = ("unexpectedly", "Traceback", "HTTP/1.1", "Error(", "b'", "password")


def plain_refusal(answer: Any) -> str:
    """The refusal's text, checked to be a sentence of ours."""
    text = error_text(answer)
    assert not any(bad in text for bad in NEVER), text
    return text


def card_name(contact_id: str) -> str:
    """The card's file name a contact id holds."""
    body = contact_id.removeprefix("ct_")
    decoded = msgspec.msgpack.decode(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return str(decoded[1])


def restarts(shared: Shared) -> int:
    """How often a worker was started after the first time (a crash, or a hang)."""
    return (shared.folder / "err.log").read_text().count("worker.ready") - 1
