"""IMAP response codes that imaplib collects aside (COPYUID, APPENDUID, MODIFIED)."""

from __future__ import annotations

from workers.imap.decode import to_str
from workers.imap.pool import ImapConnection


def uid_set(text: str) -> list[int]:
    """The UIDs of an IMAP sequence set such as '4,7:9'."""
    uids: list[int] = []
    for piece in text.split(","):
        low, _, high = piece.partition(":")
        start, end = int(low), int(high or low)
        uids.extend(range(min(start, end), max(start, end) + 1))
    return uids


def take_code(conn: ImapConnection, name: str) -> list[str]:
    """The data of response code ``name`` from the last command(s), removed so that the
    next command's are not mistaken for them."""
    found = conn.client._imap.untagged_responses.pop(name, [])
    return [to_str(item) for item in found if item]
