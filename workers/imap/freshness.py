"""Freshness tokens for cached IMAP answers (see protocol.fingerprint).

A token names the folders an answer depended on (or all of them) and a digest
of their MESSAGES, UIDNEXT, UIDVALIDITY and HIGHESTMODSEQ, which change with
every arrival, removal and flag change. Checking one is a single STATUS (or
one LIST-STATUS for all folders).
"""

from __future__ import annotations

import base64

import msgspec

from workers.imap import folders
from workers.imap.pool import ImapConnection


class _Token(msgspec.Struct, array_like=True, frozen=True):
    folders: list[str] | None  # server names; None: every folder
    digest: str


def items(conn: ImapConnection) -> tuple[str, ...]:
    """The STATUS items a digest covers (HIGHESTMODSEQ only where CONDSTORE is offered)."""
    return folders.FINGERPRINT_ITEMS if conn.has("CONDSTORE") else folders.FINGERPRINT_ITEMS[:3]


def digest_of(conn: ImapConnection, raw_names: list[str] | None) -> str:
    """The current digest of ``raw_names`` (blocking)."""
    conn.sync()
    if raw_names is None:
        return folders.fingerprint(folders.list_folders(conn, items(conn)))
    return _digest({name: folders.status(conn, name, items(conn)) for name in raw_names})


def _digest(statuses: dict[str, dict[str, int]]) -> str:
    return folders.fingerprint(
        [folders.RawFolder(name, None, frozenset(), status) for name, status in statuses.items()]
    )


def make_token(raw_names: list[str] | None, digest: str) -> str:
    raw = msgspec.msgpack.encode(_Token(raw_names, digest))
    return base64.urlsafe_b64encode(raw).decode()


def token_of(raw_name: str, status: dict[str, int]) -> str:
    """A token for one folder from a STATUS of ``items()`` taken before the read."""
    return make_token([raw_name], _digest({raw_name: status}))


def token_now(conn: ImapConnection, raw_names: list[str] | None) -> str:
    """A token for the state of ``raw_names`` right now; take it *before* reading them."""
    return make_token(raw_names, digest_of(conn, raw_names))


def is_fresh(conn: ImapConnection, token: str) -> bool:
    """Whether the folders behind ``token`` are unchanged; a foreign token is never fresh."""
    try:
        parsed = msgspec.msgpack.decode(base64.urlsafe_b64decode(token), type=_Token)
    except (ValueError, msgspec.DecodeError):
        return False
    return digest_of(conn, parsed.folders) == parsed.digest
