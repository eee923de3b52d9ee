"""Claiming messages before a write that must happen once (blocking IMAP work).

Two programs moving, deleting or sending one message at the same moment must not
both do it: Dovecot carries out MOVE as a copy and an expunge, so two MOVEs from two
connections can both copy the message (it ends up in two folders), and two
send_draft calls can both send it. Within one worker the folder locks keep calls in
turn; across processes, the IMAP server decides. A claim sets a keyword with one
conditional STORE (CONDSTORE's UNCHANGEDSINCE): the server applies it only to
messages unchanged since we read them, atomically, so of two claimants exactly one
wins each message. A message that changed for another reason (a flag set meanwhile)
is read again and claimed again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from workers.imap.pool import ImapConnection
from workers.imap.response_codes import take_code, uid_set

MOVING = b"$MailboxMcpMoving"
"""The keyword of a message this server is moving or erasing (removed once it is done)."""
SENDING = b"$MailboxMcpSending"
"""The keyword of a draft taken for sending; it stays on a draft that may have gone out."""
CLAIMED = (MOVING, SENDING)

ATTEMPTS = 5


@dataclass
class Claim:
    """The outcome of claiming some UIDs of the selected folder."""

    won: dict[int, dict[bytes, Any]] = field(default_factory=dict)
    """UID -> what was fetched of it (FLAGS and the extra items asked for)."""
    taken: list[int] = field(default_factory=list)
    """Claimed by another call, now or earlier (it carries a claim keyword)."""
    gone: list[int] = field(default_factory=list)
    """No longer in the folder."""


def has_flag(flags: Iterable[Any], flag: bytes) -> bool:
    """IMAP flags and keywords compare case-insensitively."""
    return flag.lower() in {bytes(f).lower() for f in flags}


def claim(
    conn: ImapConnection, uids: Iterable[int], keyword: bytes, extra: tuple[str, ...] = ()
) -> Claim:
    """Set ``keyword`` on those of ``uids`` in the folder selected read-write that no call
    has claimed; returns which were won, taken and gone."""
    outcome = Claim()
    pending = sorted(set(uids))
    condstore = conn.has("CONDSTORE")
    items = ["FLAGS", *extra, *(["MODSEQ"] if condstore else [])]
    for _attempt in range(ATTEMPTS):
        if not pending:
            break
        fetched = conn.client.fetch(pending, items)
        contested: list[int] = []
        for uid in pending:
            item = fetched.get(uid)
            if item is None:
                outcome.gone.append(uid)
            elif any(has_flag(item.get(b"FLAGS", ()), k) for k in CLAIMED):
                outcome.taken.append(uid)
            else:
                contested.append(uid)
        if not contested:
            pending = []
            break
        modified: set[int] = set()
        take_code(conn, "MODIFIED")
        if condstore:
            # Any change after our FETCH has a mod-sequence above all we read.
            since = max(int(fetched[uid][b"MODSEQ"][0]) for uid in contested)
            conn.client._imap.uid(
                "STORE",
                ",".join(str(u) for u in contested),
                f"(UNCHANGEDSINCE {since}) +FLAGS.SILENT",
                f"({keyword.decode()})",
            )
            for code in take_code(conn, "MODIFIED"):
                modified.update(uid_set(code.split()[0]))
        else:
            conn.client.add_flags(contested, [keyword], silent=True)
        stored = [uid for uid in contested if uid not in modified]
        # A STORE on a message expunged meanwhile is a quiet no-op: check it is still there.
        present = conn.client.fetch(stored, ["FLAGS"]) if stored else {}
        for uid in stored:
            if uid in present:
                outcome.won[uid] = fetched[uid]
            else:
                outcome.gone.append(uid)
        pending = sorted(modified)
    outcome.taken += pending  # still changing under us after every attempt
    return outcome


def release(conn: ImapConnection, uids: list[int], keyword: bytes) -> None:
    """Take the claim keyword off ``uids`` of the selected folder (those still there)."""
    if uids:
        conn.client.remove_flags(uids, [keyword], silent=True)
