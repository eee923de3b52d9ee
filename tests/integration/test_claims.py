"""Claims against the real Dovecot: a claim left by a call that died is taken over once it
has stayed unchanged for STALE_AFTER seconds, by exactly one claimant; a live one is not.

The clock is fake and "sleeping" moves it on (and lets the other party act), so nothing
here waits for real.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from protocol.settings import ImapSettings, PoolSettings
from tests.imap_client import other_client
from tests.mail_factory import deliver, message
from tests.servers.dovecot import Account, DovecotServer
from workers.imap import claims
from workers.imap.connect import open_client
from workers.imap.pool import ImapConnection


class Sleeper:
    """A fake clock whose sleep moves it on and then runs ``during`` (the other party)."""

    def __init__(self, during: Callable[[int], None] | None = None) -> None:
        self.now = 0.0
        self.sleeps = 0
        self.during = during

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.sleeps += 1
        if self.during is not None:
            self.during(self.sleeps)

    def claim(
        self, conn: ImapConnection, uids: list[int], keyword: bytes, extra: tuple[str, ...] = ()
    ) -> claims.Claim:
        """``claims.claim`` living on this clock."""
        return claims.claim(conn, uids, keyword, extra, clock=self.clock, sleep=self.sleep)


@pytest.fixture
def connect(dovecot: DovecotServer, account: Account) -> Iterator[Callable[[], ImapConnection]]:
    settings = ImapSettings(
        host="localhost",
        port=dovecot.imaps_port,
        username=account.email,
        password=account.password,
        ca_file=str(dovecot.certificates.ca_file),
        pool=PoolSettings(min_size=0, max_size=2, connect_timeout=5, read_timeout=10),
    )
    opened: list[ImapConnection] = []

    def open_inbox() -> ImapConnection:
        conn = ImapConnection(open_client(settings), 0.0)
        conn.select("INBOX", readonly=False)
        opened.append(conn)
        return conn

    yield open_inbox
    for conn in opened:
        conn.client.logout()


def one_message(
    dovecot: DovecotServer, account: Account, *flags: bytes, folders: tuple[str, ...] = ()
) -> int:
    with other_client(dovecot, account) as imap:
        for name in folders:
            imap.create_folder(name)
        deliver(imap, "INBOX", message("Claimed"), flags=tuple(f.decode() for f in flags))
        imap.select_folder("INBOX")
        return int(max(imap.search("ALL")))


def claim_alone(
    connect: Callable[[], ImapConnection],
    uids: list[int],
    keyword: bytes,
    extra: tuple[str, ...] = (),
) -> tuple[ImapConnection, Sleeper, claims.Claim]:
    """A claim as one call makes it, on a connection and a fake clock of its own; with
    them, to look at afterwards."""
    conn, time = connect(), Sleeper()
    return conn, time, time.claim(conn, uids, keyword, extra)


def flags_of(conn: ImapConnection, uid: int) -> set[bytes]:
    conn.client.noop()
    item: dict[bytes, Any] = conn.client.fetch([uid], ["FLAGS"]).get(uid, {})
    return {bytes(f).lower() for f in item.get(b"FLAGS", ())}


def test_a_claim_left_unchanged_for_stale_after_is_taken_over(
    dovecot: DovecotServer, account: Account, connect: Callable[[], ImapConnection]
) -> None:
    uid = one_message(dovecot, account, claims.MOVING)
    conn, time, outcome = claim_alone(connect, [uid], claims.MOVING)
    assert list(outcome.won) == [uid], outcome
    assert claims.STALE_AFTER <= time.now < claims.STALE_AFTER + 1
    assert claims.MOVING.lower() in flags_of(conn, uid)


def test_a_claim_whose_message_goes_while_waiting_was_taken_by_a_live_call(
    dovecot: DovecotServer, account: Account, connect: Callable[[], ImapConnection]
) -> None:
    uid = one_message(dovecot, account, claims.MOVING, folders=("Elsewhere",))
    conn, other = connect(), connect()
    time = Sleeper(lambda n: other.client.move([uid], "Elsewhere") if n == 2 else None)
    outcome = time.claim(conn, [uid], claims.MOVING)
    assert outcome.taken == [uid] and not outcome.won and not outcome.gone, outcome
    assert time.now < claims.STALE_AFTER


def test_of_two_calls_taking_over_one_abandoned_claim_only_one_wins(
    dovecot: DovecotServer, account: Account, connect: Callable[[], ImapConnection]
) -> None:
    uid = one_message(dovecot, account, claims.MOVING, folders=("Elsewhere",))
    first, second = connect(), connect()
    second_time = Sleeper()
    seconds: list[claims.Claim] = []
    store = first.client._imap.uid

    def race(command: str, *args: Any) -> Any:
        # The second claimant takes over between the first one's judging the claim
        # abandoned and its own take-over STORE.
        if command == "STORE" and not seconds:
            seconds.append(second_time.claim(second, [uid], claims.MOVING))
        return store(command, *args)

    first.client._imap.uid = race
    moves: list[int] = []

    def winner_moves(_n: int) -> None:
        # The winner moves the message a moment later, as a live claimant does.
        if seconds and not moves:
            moves.append(uid)
            second.client.move([uid], "Elsewhere")

    first_time = Sleeper(winner_moves)
    firsts = first_time.claim(first, [uid], claims.MOVING)
    (won,) = seconds
    assert list(won.won) == [uid], won
    assert not firsts.won and firsts.taken == [uid], firsts
    assert moves == [uid]


def test_what_was_won_comes_back_at_once_and_claims_found_are_waited_for_after(
    dovecot: DovecotServer, account: Account, connect: Callable[[], ImapConnection]
) -> None:
    free = one_message(dovecot, account)
    held = one_message(dovecot, account, claims.MOVING)
    _conn, time, outcome = claim_alone(connect, [free, held], claims.MOVING)
    assert list(outcome.won) == [free] and outcome.waiting == [held], outcome
    assert time.sleeps == 0


def test_a_claim_that_keeps_changing_is_never_taken_over(
    dovecot: DovecotServer, account: Account, connect: Callable[[], ImapConnection]
) -> None:
    uid = one_message(dovecot, account, claims.MOVING)
    conn, other = connect(), connect()

    def busy(n: int) -> None:
        (other.client.add_flags if n % 2 else other.client.remove_flags)([uid], [b"\\Flagged"])

    time = Sleeper(busy)
    outcome = time.claim(conn, [uid], claims.MOVING)
    assert outcome.taken == [uid] and not outcome.won, outcome
    assert claims.MOVING.lower() in flags_of(conn, uid)


def test_a_send_claim_makes_a_second_send_refuse_at_once(
    dovecot: DovecotServer, account: Account, connect: Callable[[], ImapConnection]
) -> None:
    uid = one_message(dovecot, account, claims.SENDING, b"\\Draft")
    _conn, time, outcome = claim_alone(connect, [uid], claims.SENDING)
    assert outcome.taken == [uid] and not outcome.won, outcome
    assert time.sleeps == 0


def test_a_move_outlasts_an_abandoned_send_claim_and_leaves_it_on(
    dovecot: DovecotServer, account: Account, connect: Callable[[], ImapConnection]
) -> None:
    uid = one_message(dovecot, account, claims.SENDING, claims.MOVING, b"\\Draft")
    conn, _time, outcome = claim_alone(connect, [uid], claims.MOVING)
    assert list(outcome.won) == [uid], outcome
    flags = flags_of(conn, uid)
    assert {claims.SENDING.lower(), claims.MOVING.lower()} <= flags, flags


def test_a_send_takes_over_an_abandoned_move_claim(
    dovecot: DovecotServer, account: Account, connect: Callable[[], ImapConnection]
) -> None:
    uid = one_message(dovecot, account, claims.MOVING, b"\\Draft")
    conn, _time, outcome = claim_alone(connect, [uid], claims.SENDING, ("BODY.PEEK[]",))
    assert b"BODY[]" in outcome.won[uid], outcome
    flags = flags_of(conn, uid)
    assert claims.SENDING.lower() in flags and claims.MOVING.lower() not in flags, flags
