"""Benchmark (``tox -e bench``): search_contacts over 5,000 cards, beside the bare REPORT.

One address book on Radicale holds 5,000 cards in the shapes of Apple, Google and
Thunderbird exports (seed_contacts.py). The floor, measured in the same run from
the same machine, is what any client must do to search a CardDAV address book
itself: one addressbook-query REPORT of every card (ETag and address data) by a
bare caldav DAVClient over a warm session. The goal (issue 20) is at most 1.5
times that floor, which the DAV worker meets by keeping each book's parsed cards
while the book's ctag or sync-token proves them unchanged:

- a new query each call: the session cache cannot answer (its key is the
  arguments), so the worker proves the book unchanged and searches its cards;
- the book changed before each call (another client PUT one card, untimed): the
  worker asks what changed since its index's sync-token (one sync-collection
  REPORT) and reads only that card (one addressbook-multiget);
- the same query again: the session cache's answer, validated by one round trip.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from caldav.davclient import DAVClient

from tests.mcp_client import mcp_session, structured
from tests.perf.bench import REPORT, timed_side_by_side
from tests.perf.seed_contacts import CONTACTS, FAMILY, seed_contacts
from tests.server_env import NO_RATE_LIMITS, Servers
from tests.servers.dav import DavAccount, RadicaleServer

pytestmark = pytest.mark.anyio

ROUNDS = 10  # each REPORT of 5,000 cards costs Radicale a second or more
CHANGED_ROUNDS = 5  # each round also costs Radicale a whole REPORT for the floor
TARGET = 1.5
FLOOR = f"REPORT addressbook-query of all {CONTACTS} cards (bare DAVClient, warm session)"
ALL_CARDS = """<?xml version="1.0" encoding="utf-8"?>
<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:prop><D:getetag/><C:address-data/></D:prop>
</C:addressbook-query>"""
CHANGED = """BEGIN:VCARD\r
VERSION:3.0\r
UID:bench-contact-changed\r
N:Elsewhere;Changed;;;\r
FN:Changed Elsewhere {n}\r
EMAIL;TYPE=INTERNET:changed.{n}@example.org\r
END:VCARD\r
"""


class Book:
    """The seeded address book, and a bare client of it (the floor's)."""

    def __init__(self, server: RadicaleServer, login: DavAccount) -> None:
        self.url = server.url.rstrip("/") + server.address_book_path(login)
        self.client = DAVClient(
            url=login.url,
            username=login.username,
            password=login.password,
            ssl_verify_cert=str(server.certificates.ca_file),
            enable_rfc6764=False,
            timeout=300,
        )

    def report(self) -> int:
        """Every card of the book in one REPORT; returns how many the server sent."""
        response = self.client.report(self.url, ALL_CARDS, depth=1)
        assert response.status == 207 and response.tree is not None
        return len(response.tree)

    def change(self, n: int) -> None:
        """What another client does: one card written, the book's ctag moved on."""
        response = self.client.put(
            self.url + "bench-contact-changed.vcf",
            CHANGED.format(n=n),
            {"Content-Type": "text/vcard; charset=utf-8"},
        )
        assert response.status in (201, 204)


@dataclass(frozen=True)
class Seeded:
    env: dict[str, str]  # the server's environment, on the seeded account
    book: Book


@pytest.fixture(scope="module")
def seeded(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """A new account whose address book holds the 5,000 cards, read once by Radicale."""
    server = servers.dav["radicale"]
    assert isinstance(server, RadicaleServer)
    account = servers.new_account()
    servers.dav_login(server, account)
    login = DavAccount(account.email, account.password, server.url)
    REPORT.figure(f"seeding: {CONTACTS} contacts written", seed_contacts(server, login), "s")
    book = Book(server, login)
    started = time.perf_counter()
    assert book.report() == CONTACTS
    REPORT.figure(
        f"seeding: first REPORT of {CONTACTS} contacts (Radicale parses them)",
        time.perf_counter() - started,
        "s",
    )
    folder = tmp_path_factory.mktemp("contacts")
    env = servers.env(account, folder, ("contacts",), "radicale")
    return Seeded({**env, **NO_RATE_LIMITS, "MAILBOX_CALL_TIMEOUT": "120"}, book)


def only_matches(word: str, answer: Any) -> None:
    assert answer["total"] > 0 and answer["contacts"]
    assert all(word.casefold() in c["name"].casefold() for c in answer["contacts"]), word


def latency(
    situation: str, ours: list[float], bare: list[float], target: float | None = TARGET
) -> None:
    """A row of search_contacts over the seeded book, beside the bare REPORT."""
    REPORT.latency(
        f"search_contacts {CONTACTS} cards, {situation}", ours, bare, floor=FLOOR, target=target
    )


async def clocked(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return time.perf_counter() - started


async def test_search_contacts_over_5000_cards_beside_the_bare_report(
    seeded: Seeded, tmp_path: Path
) -> None:
    book, queries = seeded.book, itertools.cycle(FAMILY)

    async def floor() -> int:
        return book.report()

    async with mcp_session(seeded.env, tmp_path / "contacts.log") as session:

        async def search(query: str) -> Any:
            return structured(await session.call_tool("search_contacts", {"query": query}))

        started = time.perf_counter()
        only_matches("Weber", await search("Weber"))
        REPORT.figure(
            "search_contacts: first call (the book read)", time.perf_counter() - started, "s"
        )

        async def new_query() -> Any:
            word = next(queries)
            answer = await search(word)
            only_matches(word, answer)
            return answer

        ours, bare = await timed_side_by_side(new_query, floor, ROUNDS)
        latency("a new query each call", ours, bare)

        ours, bare = [], []
        for n in range(CHANGED_ROUNDS + 1):
            book.change(n)  # untimed: another client's write

            async def changed(n: int = n) -> None:
                only_matches("Changed", await search(f"Changed Elsewhere {n}"))

            took, floor_took = await clocked(changed), await clocked(floor)
            if n:  # the first round warms up
                ours.append(took)
                bare.append(floor_took)
        latency("the book changed before each call", ours, bare)

        async def same_query() -> Any:
            return await search("Müller")

        ours, bare = await timed_side_by_side(same_query, floor, ROUNDS)
        latency("the same query again (cached)", ours, bare, target=None)
