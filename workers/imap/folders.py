"""Folder listing, roles and names, on one connection (blocking; run in its thread).

The model always sees '/' between levels, whatever the server's delimiter;
names are converted here in both directions. imapclient does the modified
UTF-7 encoding and the quoting of names.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from imapclient.imap_utf7 import decode as decode_utf7
from imapclient.response_parser import parse_response
from imapclient.util import to_unicode

from protocol.email import Folder, FolderRole
from workers.imap.pool import ImapConnection

_SPECIAL_USE: dict[str, FolderRole] = {
    "\\sent": "sent",
    "\\drafts": "drafts",
    "\\trash": "trash",
    "\\junk": "junk",
    "\\archive": "archive",
}

# Used only when the server does not announce SPECIAL-USE flags for a role.
_NAMES_BY_ROLE: dict[FolderRole, tuple[str, ...]] = {
    "sent": (
        "Sent",
        "Sent Items",
        "Sent Messages",
        "Sent Mail",
        "Gesendet",
        "Gesendete Objekte",
        "Gesendete Elemente",
    ),
    "drafts": ("Drafts", "Draft", "Entwürfe"),
    "trash": ("Trash", "Deleted Items", "Deleted Messages", "Bin", "Papierkorb"),
    "junk": ("Junk", "Spam", "Junk E-mail", "Junk Email"),
    "archive": ("Archive", "Archives", "Archiv"),
}
_ROLE_BY_NAME: dict[str, FolderRole] = {
    name.casefold(): role for role, names in _NAMES_BY_ROLE.items() for name in names
}

STATUS_ITEMS = ("MESSAGES", "UNSEEN", "UIDNEXT", "UIDVALIDITY")
FINGERPRINT_ITEMS = ("MESSAGES", "UIDNEXT", "UIDVALIDITY", "HIGHESTMODSEQ")


@dataclass(frozen=True)
class RawFolder:
    """A folder as the server names it, with its LIST flags and STATUS items."""

    raw_name: str
    delimiter: str | None
    flags: frozenset[str]
    status: dict[str, int]

    @property
    def selectable(self) -> bool:
        return not ({"\\noselect", "\\nonexistent"} & self.flags)


def to_display(raw_name: str, delimiter: str | None) -> str:
    """The server's name with '/' between levels."""
    if not delimiter or delimiter == "/":
        return raw_name
    return raw_name.replace(delimiter, "/")


def to_server(display_name: str, delimiter: str | None) -> str:
    """The server's name for a '/'-separated name; INBOX is case-insensitive."""
    parts = display_name.split("/")
    if parts[0].upper() == "INBOX":
        parts[0] = "INBOX"
    return (delimiter or "/").join(parts)


def hierarchy_delimiter(conn: ImapConnection) -> str | None:
    """The delimiter from ``LIST "" ""`` (RFC 3501 6.3.8)."""
    listing = conn.client.list_folders("", "")
    if listing and listing[0][1]:
        return str(to_unicode(listing[0][1]))
    return None


def exists(conn: ImapConnection, raw_name: str) -> bool:
    """Whether a folder of exactly this name exists. LIST reads the name it is given as
    a pattern ('*' and '%' are wildcards), so each name it answers is compared."""
    wanted = _comparable(raw_name)
    return any(
        _comparable(name) == wanted and "\\nonexistent" not in _flags(flags)
        for flags, _delimiter, name in conn.client.list_folders("", raw_name)
    )


def _comparable(raw_name: Any) -> str:
    name = str(raw_name)
    return "INBOX" if name.upper() == "INBOX" else name


def list_folders(conn: ImapConnection, items: tuple[str, ...] = STATUS_ITEMS) -> list[RawFolder]:
    """Every folder with its flags and STATUS ``items``.

    One round trip with LIST-STATUS (RFC 5819) where offered, else LIST plus
    one STATUS per selectable folder.
    """
    conn.sync()
    if conn.has("LIST-STATUS"):
        return _list_status(conn, items)
    folders = []
    for flags, delimiter, name in conn.client.list_folders():
        folder = RawFolder(name, _delim(delimiter), _flags(flags), {})
        if folder.selectable:
            status = conn.client.folder_status(name, list(items))
            folder = RawFolder(name, folder.delimiter, folder.flags, status_dict(status))
        folders.append(folder)
    return folders


def status(conn: ImapConnection, raw_name: str, items: tuple[str, ...]) -> dict[str, int]:
    """STATUS ``items`` of one folder (blocking)."""
    return status_dict(conn.client.folder_status(raw_name, list(items)))


def _list_status(conn: ImapConnection, items: tuple[str, ...]) -> list[RawFolder]:
    imap = conn.client._imap
    returns = (
        "(SPECIAL-USE STATUS ({}))".format(" ".join(items))
        if conn.has("SPECIAL-USE")
        else "(STATUS ({}))".format(" ".join(items))
    )
    # All arguments are constants of ours: nothing from a user reaches this line.
    typ, data = imap._simple_command("LIST", '""', '"*"', "RETURN", returns)
    conn.client._checkok("list", typ, data)
    _, list_data = imap._untagged_response(typ, data, "LIST")
    status_data = imap.untagged_responses.pop("STATUS", [])
    listing = conn.client._proc_folder_list(list_data)
    statuses: dict[str, dict[str, int]] = {}
    for line in (d for d in status_data if d not in (b"", None)):
        parsed = parse_response([line])
        name = parsed[0]
        raw = decode_utf7(name) if not isinstance(name, int) else str(name)
        statuses[raw] = status_dict(dict(zip(parsed[1][::2], parsed[1][1::2], strict=False)))
    return [
        RawFolder(name, _delim(delimiter), _flags(flags), statuses.get(name, {}))
        for flags, delimiter, name in listing
    ]


def folder_role(folder: RawFolder) -> FolderRole | None:
    """Role from SPECIAL-USE flags, else from well-known names; None otherwise."""
    if folder.raw_name.upper() == "INBOX":
        return "inbox"
    for flag, role in _SPECIAL_USE.items():
        if flag in folder.flags:
            return role
    return None


def roles_of(raw: list[RawFolder]) -> dict[str, FolderRole | None]:
    """Each folder's role, by server name: SPECIAL-USE first; a role no folder is marked
    with goes to the first selectable folder with its well-known name ("Sent", "Trash")."""
    roles = {f.raw_name: folder_role(f) for f in raw}
    taken = {role for role in roles.values() if role}
    for f in raw:
        leaf = to_display(f.raw_name, f.delimiter).rsplit("/", 1)[-1]
        guess = _ROLE_BY_NAME.get(leaf.casefold())
        if roles[f.raw_name] is None and guess and guess not in taken and f.selectable:
            roles[f.raw_name] = guess
            taken.add(guess)
    return roles


def to_folders(raw: list[RawFolder]) -> list[Folder]:
    """The tool's view: display names, roles (each role given once), counts."""
    roles = roles_of(raw)
    folders = [
        Folder(
            name=to_display(f.raw_name, f.delimiter),
            role=roles[f.raw_name],
            messages=f.status.get("MESSAGES"),
            unseen=f.status.get("UNSEEN"),
            selectable=f.selectable,
        )
        for f in raw
    ]
    # INBOX first, then special folders, then the rest by name.
    order = {"inbox": 0, "drafts": 1, "sent": 2, "archive": 3, "junk": 4, "trash": 5}
    return sorted(folders, key=lambda f: (order.get(f.role or "", 9), f.name.casefold()))


def fingerprint(raw: list[RawFolder]) -> str:
    """A short digest that changes whenever a folder appears, goes, or changes content."""
    digest = hashlib.blake2b(digest_size=16)
    for f in sorted(raw, key=lambda f: f.raw_name):
        digest.update(f.raw_name.encode("utf-8", "surrogatepass"))
        kept = sorted((k, v) for k, v in f.status.items() if k in FINGERPRINT_ITEMS)
        digest.update(repr(kept).encode())
        digest.update(repr(sorted(f.flags)).encode())
    return digest.hexdigest()


def _delim(delimiter: Any) -> str | None:
    return to_unicode(delimiter) if delimiter else None


def _flags(flags: Any) -> frozenset[str]:
    return frozenset(to_unicode(f).lower() for f in flags)


def status_dict(status: dict[Any, Any]) -> dict[str, int]:
    """STATUS items as imapclient parses them, keyed by upper-case name."""
    return {to_unicode(k).upper(): int(v) for k, v in status.items() if isinstance(v, int)}
