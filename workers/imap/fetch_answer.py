"""Reading one message's item of a FETCH answer: its header fields and when it arrived.

Both degrade instead of raising: a message with unreadable headers still has
a place in a search or a conversation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import Message
from typing import Any

from workers.imap.decode import parse_header_block


def header_fields(item: dict[bytes, Any]) -> Message:
    """The fields a ``BODY.PEEK[HEADER.FIELDS (...)]`` item carries; an empty Message
    where the server sent none or they cannot be parsed."""
    raw = next((v for k, v in item.items() if k.startswith(b"BODY[HEADER")), b"")
    try:
        return parse_header_block(raw or b"")
    except ValueError:
        return Message()


def received_time(item: dict[bytes, Any]) -> datetime | None:
    """INTERNALDATE, when the server received the message (UTC where it names no zone);
    None where the answer has none."""
    value = item.get(b"INTERNALDATE")
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
