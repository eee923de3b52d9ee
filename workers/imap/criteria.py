"""IMAP SEARCH criteria built safely from user values.

imapclient quotes a search value only when it contains a space, a quote or a
backslash, and sends it as a literal only when it has 8-bit bytes (its issue
657): ``(x``, ``{5}`` or ``*`` would reach the server raw and be parsed as
syntax. Here every value is always a quoted string, or a literal when it is
8-bit, and only our own keywords are sent bare.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from imapclient.imapclient import _quoted
from imapclient.response_parser import parse_message_list

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class Value(str):
    """A user-supplied search value: always sent quoted (or as a literal)."""


class Group(tuple[Any, ...]):
    """Search keys sent in parentheses, as one key (the operand of an OR or a NOT).

    Only our own keywords, numbers and dates: a value that might go out as a literal
    cannot stand inside one wire item."""


def imap_date(day: date) -> bytes:
    """An IMAP search date (RFC 3501 ``date``): ``1-Jan-0001`` with all four digits of
    the year (imapclient writes ``01-Jan-1``, which servers refuse)."""
    return f"{day.day}-{_MONTHS[day.month - 1]}-{day.year:04d}".encode("ascii")


def normalise(items: list[Any] | tuple[Any, ...]) -> list[bytes]:
    """Criteria items (keywords as str, user values as Value, ints, dates, Groups of
    those but Values) to wire bytes."""
    out: list[bytes] = []
    for item in items:
        if isinstance(item, Group):
            if any(isinstance(i, Value | Group) for i in item):
                raise TypeError("a group holds only keywords, numbers and dates")
            out.append(b"(" + b" ".join(normalise(item)) + b")")
        elif isinstance(item, Value):
            out.append(quote(item))
        elif isinstance(item, bool):
            raise TypeError("a boolean is not a search item")
        elif isinstance(item, int):
            out.append(str(item).encode("ascii"))
        elif isinstance(item, date):
            out.append(imap_date(item))
        elif isinstance(item, str) and item.replace("-", "").isalnum() and item.isascii():
            out.append(item.encode("ascii"))  # one of our keywords
        else:
            raise TypeError(f"unexpected search item {item!r}")
    return out


def quote(value: str) -> bytes:
    """A quoted IMAP string; 8-bit values go out as literals (imapclient sends those)."""
    if any(c in value for c in "\r\n\x00"):
        raise ValueError("search values cannot contain line breaks or NUL")
    raw = value.encode("utf-8")
    escaped = raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
    wrapped = _quoted(b'"' + escaped + b'"')
    wrapped.original = raw  # what imapclient sends when it chooses a literal (8-bit)
    result: bytes = wrapped
    return result


def charset_for(items: list[Any]) -> bytes:
    return b"UTF-8" if any(isinstance(i, Value) and not i.isascii() for i in items) else b"US-ASCII"


def uid_sort(client: Any, sort_keys: bytes, items: list[Any]) -> list[int]:
    """UID SORT (``sort_keys`` such as b"(REVERSE ARRIVAL)") with safely quoted criteria."""
    args = [sort_keys, charset_for(items), *normalise(items)]
    data = client._raw_command_untagged(b"SORT", args, unpack=True)
    return [int(uid) for uid in (data or b"").split()]


def uid_search(client: Any, items: list[Any]) -> list[int]:
    args = [b"CHARSET", charset_for(items), *normalise(items)]
    data = client._raw_command_untagged(b"SEARCH", args)
    return [int(uid) for uid in parse_message_list(data)]
