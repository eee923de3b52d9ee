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

A claim can outlive its claimant: a worker killed between claiming and moving (or
between moving and taking the keyword off in the new folder) leaves the keyword on
the message. A live move or erase holds its claim only for the few round trips up to
its MOVE or EXPUNGE (writing.py claims batch by batch, right before each command, and
acts on what it won before it waits for the rest: a claim kept while waiting would
itself look abandoned), so a claimant that finds a claim watches it for STALE_AFTER
seconds: if the message
goes, the other call took it; if it stays there unchanged all that time (same
MODSEQ), the call that claimed it died, and this one takes the claim over with a
conditional STORE that takes the abandoned keyword off (UNCHANGEDSINCE the MODSEQ it
watched, so of two claimants taking over only one succeeds) and then claims the
message as usual. A send claim is never taken over by another send: it also marks a
draft that may have gone out (see drafts.py), so send_draft refuses it at once. A
move or erase may outlast it, and leaves it on: the draft, wherever it goes, is
still never sent again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from workers.imap.pool import ImapConnection
from workers.imap.response_codes import take_code, uid_set

MOVING = b"$MailboxMcpMoving"
"""The keyword of a message this server is moving or erasing (removed once it is done)."""
SENDING = b"$MailboxMcpSending"
"""The keyword of a draft taken for sending; it stays on a draft that may have gone out."""
CLAIMED = (MOVING, SENDING)

OUTLASTS: dict[bytes, frozenset[bytes]] = {
    MOVING: frozenset({MOVING, SENDING}),
    SENDING: frozenset({MOVING}),
}
"""For each claim keyword, the claims a claimant of it waits out and takes over once they
look abandoned; any other claim on a message makes it taken at once."""
KEPT = frozenset({SENDING})
"""Claims a take-over leaves on the message (the mark of a draft that may have gone out)."""

STALE_AFTER = 2.0
"""Seconds a claim must stay unchanged before it counts as left by a call that died."""
GIVE_UP_AFTER = 3 * STALE_AFTER
"""Seconds after which messages that keep changing under us count as taken."""
MAX_ROUNDS = 60
POLL_FIRST = 0.05
POLL_MAX = 0.5


@dataclass
class Claim:
    """The outcome of claiming some UIDs of the selected folder."""

    won: dict[int, dict[bytes, Any]] = field(default_factory=dict)
    """UID -> what was fetched of it after claiming (FLAGS and the extra items asked for)."""
    taken: list[int] = field(default_factory=list)
    """Claimed by another live call (or by a send whose outcome is unknown), or taken away
    by another call while this one waited."""
    gone: list[int] = field(default_factory=list)
    """No longer in the folder."""
    waiting: list[int] = field(default_factory=list)
    """Claimed by another call, not waited out yet: returned with what was won, so that
    the caller acts on that (and ends its claims) first, then claims these again."""


@dataclass
class _Round:
    """What one FETCH of the pending UIDs showed."""

    free: list[int] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)


def has_flag(flags: Iterable[Any], flag: bytes) -> bool:
    """IMAP flags and keywords compare case-insensitively."""
    return flag.lower() in {bytes(f).lower() for f in flags}


def claims_on(flags: Iterable[Any]) -> frozenset[bytes]:
    """The claim keywords among ``flags``."""
    return frozenset(k for k in CLAIMED if has_flag(flags, k))


def claim(
    conn: ImapConnection,
    uids: Iterable[int],
    keyword: bytes,
    extra: tuple[str, ...] = (),
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Claim:
    """Set ``keyword`` on those of ``uids`` in the folder selected read-write that no live
    call has claimed, taking over claims left by calls that died (see the module's
    docstring); returns which were won, taken, gone and still waiting. Returns as soon as
    it has won any (a claim kept while waiting for others would itself look abandoned);
    otherwise waits about STALE_AFTER seconds when it finds claims, GIVE_UP_AFTER at most."""
    outcome = Claim()
    pending = sorted(set(uids))
    condstore = conn.has("CONDSTORE")
    items = ["FLAGS", *(["MODSEQ"] if condstore else [])]
    watched: dict[int, tuple[Any, float]] = {}  # UID -> (MODSEQ or flags, seen so since)
    kept: dict[int, frozenset[bytes]] = {}  # claims outlasted and left on (a send claim)
    start = clock()
    sleeps = 0
    for _round in range(MAX_ROUNDS):
        if not pending or clock() - start > GIVE_UP_AFTER:
            break
        if watched:
            conn.client.noop()  # see what other sessions did while we waited
        fetched = conn.client.fetch(pending, items)
        now = clock()
        seen = _Round()
        for uid in pending:
            item = fetched.get(uid)
            if item is None:
                (outcome.taken if uid in watched else outcome.gone).append(uid)
                continue
            held = claims_on(item.get(b"FLAGS", ())) - kept.get(uid, frozenset())
            state = _state(item, condstore)
            if not held:
                seen.free.append(uid)
            elif not held <= OUTLASTS[keyword]:
                outcome.taken.append(uid)
            elif uid not in watched or watched[uid][0] != state:
                watched[uid] = (state, now)
                seen.waiting.append(uid)
            elif now - watched[uid][1] >= STALE_AFTER:
                seen.stale.append(uid)
                kept[uid] = kept.get(uid, frozenset()) | (held & KEPT)
            else:
                seen.waiting.append(uid)
        retry = _take_over(conn, seen.stale, fetched, keyword, condstore)
        retry += _contest(conn, seen.free, fetched, keyword, condstore, extra, outcome)
        pending = sorted(retry + seen.waiting)
        if outcome.won:
            outcome.waiting = pending
            return outcome
        if seen.waiting and not retry:
            due = min(watched[uid][1] + STALE_AFTER for uid in seen.waiting) - clock()
            sleep(max(0.0, min(POLL_FIRST * 2**sleeps, POLL_MAX, due)))
            sleeps += 1
    outcome.taken += pending  # still claimed or changing under us after every attempt
    return outcome


def _state(item: dict[bytes, Any], condstore: bool) -> Any:
    """What changes whenever anything about the message's flags changes."""
    if condstore:
        return int(item[b"MODSEQ"][0])
    return frozenset(bytes(f).lower() for f in item.get(b"FLAGS", ()))


def _conditional_store(
    conn: ImapConnection,
    uids: list[int],
    fetched: dict[int, dict[bytes, Any]],
    change: str,
    keyword: bytes,
    condstore: bool,
) -> set[int]:
    """``change`` (+FLAGS.SILENT or -FLAGS.SILENT) ``keyword`` on ``uids`` unless they
    changed since ``fetched`` was read; returns the UIDs that had changed (left alone)."""
    modified: set[int] = set()
    take_code(conn, "MODIFIED")
    if condstore:
        # Any change after our FETCH has a mod-sequence above all we read.
        since = max(int(fetched[uid][b"MODSEQ"][0]) for uid in uids)
        conn.client._imap.uid(
            "STORE",
            ",".join(str(u) for u in uids),
            f"(UNCHANGEDSINCE {since}) {change}",
            f"({keyword.decode()})",
        )
        for code in take_code(conn, "MODIFIED"):
            modified.update(uid_set(code.split()[0]))
        # Its untagged FETCH answers (the new MODSEQs) would otherwise be read as part
        # of the next FETCH's answer, even for a message expunged in between.
        conn.client._imap.untagged_responses.pop("FETCH", None)
    elif change.startswith("+"):
        conn.client.add_flags(uids, [keyword], silent=True)
    else:
        conn.client.remove_flags(uids, [keyword], silent=True)
    return modified


def _take_over(
    conn: ImapConnection,
    uids: list[int],
    fetched: dict[int, dict[bytes, Any]],
    keyword: bytes,
    condstore: bool,
) -> list[int]:
    """Take abandoned claims off ``uids`` (a kept one stays); returns the UIDs to read and
    claim again — all of them: those another taker beat us to show its claim then."""
    for abandoned in sorted(OUTLASTS[keyword] - KEPT):
        holding = [u for u in uids if has_flag(fetched[u].get(b"FLAGS", ()), abandoned)]
        if holding:
            # A STORE that sets a keyword already there changes nothing, so two takers
            # could both "win" it: taking it off is what only one of them can do.
            _conditional_store(conn, holding, fetched, "-FLAGS.SILENT", abandoned, condstore)
    return list(uids)


def _contest(
    conn: ImapConnection,
    uids: list[int],
    fetched: dict[int, dict[bytes, Any]],
    keyword: bytes,
    condstore: bool,
    extra: tuple[str, ...],
    outcome: Claim,
) -> list[int]:
    """Claim the unclaimed ``uids``; returns those that changed meanwhile (to try again)."""
    if not uids:
        return []
    modified = _conditional_store(conn, uids, fetched, "+FLAGS.SILENT", keyword, condstore)
    stored = [uid for uid in uids if uid not in modified]
    # A STORE on a message expunged meanwhile is a quiet no-op: check it is still there.
    present = conn.client.fetch(stored, ["FLAGS", *extra]) if stored else {}
    for uid in stored:
        if uid in present:
            outcome.won[uid] = present[uid]
        else:
            outcome.gone.append(uid)
    return sorted(modified)


def release(conn: ImapConnection, uids: list[int], keyword: bytes) -> None:
    """Take the claim keyword off ``uids`` of the selected folder (those still there)."""
    if uids:
        conn.client.remove_flags(uids, [keyword], silent=True)
