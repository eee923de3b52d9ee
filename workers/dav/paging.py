"""Pages of a calendar answer: an opaque cursor holds the offset and what was asked.

A cursor names the question it belongs to (the tool, the instants of the range and
the other arguments), so one given out for another range is refused in a sentence
rather than paging through the wrong answer.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

import msgspec

from protocol.errors import InvalidArgument

T = TypeVar("T")


class _Cursor(msgspec.Struct, array_like=True, frozen=True):
    question: str
    offset: int


def question_key(tool: str, args: msgspec.Struct, start: datetime, end: datetime) -> str:
    """What a cursor belongs to: the arguments apart from the page, and the range's instants
    (a default range moves with the day)."""
    asked = msgspec.structs.replace(args, cursor=None, limit=1)
    body = msgspec.msgpack.encode([tool, asked, start.isoformat(), end.isoformat()])
    return hashlib.blake2b(body, digest_size=6).hexdigest()


def read_offset(tool: str, cursor: str | None, question: str) -> int:
    """The offset a cursor holds (0 without one). Raises InvalidArgument for a cursor of
    another question or none we gave out."""
    if cursor is None:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4))
        found = msgspec.msgpack.decode(raw, type=_Cursor)
    except (ValueError, msgspec.DecodeError):
        raise InvalidArgument(f"That cursor is not one {tool} gave out.") from None
    if found.question != question or found.offset < 0:
        raise InvalidArgument(
            f"That cursor belongs to another range or question of {tool}; ask again "
            "without a cursor."
        )
    return found.offset


def page_start(tool: str, args: msgspec.Struct, start: datetime, end: datetime) -> tuple[str, int]:
    """The question a call of ``tool`` asks and the offset its cursor holds: the cursor is
    refused (InvalidArgument) before anything is read when it is not of this question."""
    question = question_key(tool, args, start, end)
    cursor: str | None = getattr(args, "cursor", None)  # every paged Args has one
    return question, read_offset(tool, cursor, question)


def next_cursor(question: str, end: int, total: int) -> str | None:
    """The cursor of the page after one that ended at ``end``; None after the last."""
    if end >= total:
        return None
    raw = msgspec.msgpack.encode(_Cursor(question, end))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int  # of the whole answer
    next_cursor: str | None


def page(found: Sequence[T], first: int, limit: int, question: str) -> Page[T]:
    """At most ``limit`` of ``found`` from ``first`` on, with the cursor of the next page."""
    last = min(first + limit, len(found))
    return Page(list(found[first:last]), len(found), next_cursor(question, last, len(found)))
