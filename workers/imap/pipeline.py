"""Several IMAP commands in one round trip (RFC 3501 section 5.5, pipelining).

imapclient waits for each command's completion before sending the next; for
the commands a read starts with (NOOP to sync, STATUS for the freshness token,
the first FETCH) that is one network round trip each. Written back to back they
cost one. The server still runs them in the order sent, so the token is taken
before the read, as freshness tokens require.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from imapclient.response_parser import parse_fetch_response, parse_response

from workers.imap import folders
from workers.imap.pool import ImapConnection


@dataclass(frozen=True)
class Command:
    """One command: imaplib's name for it, its arguments, and the untagged
    response its data comes back in."""

    name: str
    args: tuple[str | bytes, ...]
    response: str


def noop() -> Command:
    return Command("NOOP", (), "NOOP")


def status(conn: ImapConnection, raw_name: str, items: Sequence[str]) -> Command:
    # imapclient's own quoting and modified UTF-7, as folder_status uses.
    name = conn.client._normalise_folder(raw_name)
    name = name.decode("ascii") if isinstance(name, bytes) else name
    return Command("STATUS", (name, "({})".format(" ".join(items))), "STATUS")


def uid_sort(sort_keys: bytes, charset: bytes, criteria: Sequence[bytes]) -> Command:
    """UID SORT with criteria already on the wire form (workers.imap.criteria.normalise);
    only for criteria without literals, which would wait for the server's go-ahead."""
    return Command("UID", ("SORT", sort_keys, charset, *criteria), "SORT")


def sorted_uids(data: list[Any]) -> list[int]:
    """The UIDs of one SORT answer, in the server's order."""
    return [int(uid) for line in data if line for uid in line.split()]


def uid_fetch(uids: Sequence[int], items: Sequence[str]) -> Command:
    return Command(
        "UID", ("FETCH", ",".join(str(u) for u in uids), "({})".format(" ".join(items))), "FETCH"
    )


@dataclass(frozen=True)
class Answers:
    data: list[list[Any]]
    """Each command's untagged data, in the order sent."""
    view_changed: bool
    """The server reported messages that arrived or went (EXISTS, EXPUNGE) on the way.

    Dovecot syncs a pipelined NOOP only after the commands behind it, so those
    commands saw the folder as it was before: ask again where that matters.
    """


def run(conn: ImapConnection, commands: Sequence[Command]) -> Answers:
    """Send ``commands`` without waiting, then read each one's completion in order.

    Raises (as imapclient would) for the first command the server refused, after
    every completion has been read, so the connection stays in step with the
    server. Blocking.
    """
    imap = conn.client._imap
    # Left over from earlier commands (SELECT's EXISTS, say); imapclient never reads them.
    imap.untagged_responses.clear()
    tags = [imap._command(c.name, *c.args) for c in commands]
    answers = [imap._command_complete(c.name, tag) for c, tag in zip(commands, tags, strict=True)]
    data = []
    for command, (typ, completion) in zip(commands, answers, strict=True):
        conn.client._checkok(command.name.lower(), typ, completion)
        data.append(imap.untagged_responses.pop(command.response, []))
    changed = any(key in imap.untagged_responses for key in ("EXISTS", "EXPUNGE", "VANISHED"))
    # Flag changes of other messages and the like are of no use here (imapclient's
    # noop() discards them too).
    imap.untagged_responses.clear()
    if any(c.name == "NOOP" for c in commands):
        conn.synced = True
    return Answers(data, changed)


def status_items(data: list[Any]) -> dict[str, int]:
    """The items of one STATUS answer, as folders.status() returns them."""
    lines = [line for line in data if line not in (b"", None)]
    parsed = parse_response(lines[-1:])
    pairs = parsed[-1]
    return folders.status_dict(dict(zip(pairs[::2], pairs[1::2], strict=False)))


def fetched(conn: ImapConnection, data: list[Any], uids: Sequence[int]) -> dict[int, Any]:
    """The FETCH answer for ``uids`` only (unsolicited ones for other messages dropped)."""
    response = parse_fetch_response(data, conn.client.normalise_times, True)
    return {uid: response[uid] for uid in uids if uid in response}
