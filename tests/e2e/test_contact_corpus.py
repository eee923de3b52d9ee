"""The vCard corpus (tests/data/vcards) stored on Radicale and Xandikos, then searched
and read through the MCP client as a person's address book.

Each card is PUT as its own resource, byte for byte as exported, with a UID added
where the export had none (as an importing CardDAV client does). A server may refuse
the cards the corpus marks so (broken encodings, no FN, not UTF-8, vCard 2.1, a UID
it already holds), or store them re-encoded, and no other; a card it does not hold is
not listed. Whatever it holds is found by search_contacts and read by get_contact
with the fields tests/vcard_corpus.py expects, or with a note on that card saying
what could not be read. On Xandikos the cards that are not UTF-8 are kept as they
came and spoil its REPORT of the whole book: every test here then also proves that
the rest of the book is still listed. A photo of several MB is only "has photo"."""

from __future__ import annotations

import base64
import http.client
import unicodedata
from typing import Any

import pytest

from tests import vcard_corpus
from tests.calendar_calls import call
from tests.server_env import Shared, module_calendar_server
from tests.servers.dav import DavAccount, DavServer

FAMILIES = ("contacts",)
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]


LARGE_PHOTO_FILE = "large-photo.vcf"
# Radicale's vCard library takes time growing much faster than the size to store a
# long photo (1 MB in 2 s, 2 MB in 15 s, 4 MB in two minutes); Xandikos stores 4 MB
# in a few seconds. Each server gets the largest photo it stores in seconds.
LARGE_PHOTO_MB = {"radicale": 1.5, "xandikos": 4.0}
# By server and corpus key ("file#index"): the HTTP status of each card's PUT, and
# whether the server holds the card after it (Xandikos answers a card that is not
# UTF-8 with HTTP 500, yet keeps it).
PUT_STATUS: dict[str, dict[str, int]] = {}
HELD: dict[str, dict[str, bool]] = {}


def request(server: DavServer, login: DavAccount, method: str, path: str, body: bytes = b"") -> int:
    """One request with ``body`` exactly as given (the fixture's put_card sends text as
    UTF-8, and some corpus cards are not UTF-8); returns the HTTP status."""
    connection = http.client.HTTPSConnection(
        "localhost", server.port, context=server.certificates.client_context(), timeout=120
    )
    token = base64.b64encode(f"{login.username}:{login.password}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Content-Type": "text/vcard"}
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def store_the_corpus(server: DavServer, login: DavAccount) -> None:
    """Every corpus card, and the large-photo card, into the account's address book."""
    book = server.address_book_path(login)
    cards = {
        key: vcard_corpus.with_uid(card, key) for key, card in vcard_corpus.corpus_cards().items()
    }
    cards[LARGE_PHOTO_FILE] = vcard_corpus.card_with_large_photo(
        LARGE_PHOTO_MB[server.name]
    ).encode()
    status, held = PUT_STATUS.setdefault(server.name, {}), HELD.setdefault(server.name, {})
    for key, card in cards.items():
        path = book + file_name(key)
        status[key] = request(server, login, "PUT", path, card)
        held[key] = request(server, login, "GET", path) == 200


def file_name(key: str) -> str:
    return key.replace(".vcf#", "-").removesuffix(".vcf") + ".vcf"


corpus = module_calendar_server(store_the_corpus, FAMILIES)
"""The corpus in the address book "Contacts", on each CardDAV server in turn."""


def stored(shared: Shared, key: str) -> bool:
    return HELD[shared.calendar][key]


async def search(shared: Shared, query: str, **more: Any) -> list[dict[str, Any]]:
    answer = await call(shared.session, "search_contacts", query=query, limit=100, **more)
    return list(answer["contacts"])


def query_for(expected: vcard_corpus.Expected) -> str:
    """Its first email, else its first phone's digits, else its name."""
    return (expected.emails or expected.phones or (expected.name,))[0]


async def hits_for(shared: Shared, expected: vcard_corpus.Expected) -> list[dict[str, Any]]:
    found = await search(shared, query_for(expected))
    return [c for c in found if vcard_corpus.nfc(c["name"]).startswith(expected.name)]


async def found_and_read(shared: Shared, expected: vcard_corpus.Expected) -> dict[str, Any]:
    """The card ``expected`` describes, found by ``query_for`` and read by get_contact."""
    hits = await hits_for(shared, expected)
    assert len(hits) == 1, (query_for(expected), hits)
    return dict(await call(shared.session, "get_contact", id=hits[0]["id"]))


def differences(contact: dict[str, Any], expected: vcard_corpus.Expected) -> list[str]:
    found = []
    name = vcard_corpus.nfc(contact["name"])
    if name != vcard_corpus.nfc(expected.name) and not (
        expected.noted and name.startswith(expected.name)
    ):
        found.append(f"name {contact['name']!r}")
    if tuple(e["address"] for e in contact["emails"]) != expected.emails:
        found.append(f"emails {contact['emails']}")
    if tuple(vcard_corpus.digits(p["number"]) for p in contact["phones"]) != expected.phones:
        found.append(f"phones {contact['phones']}")
    organization = vcard_corpus.nfc(contact.get("organization") or "")
    if expected.organization and not organization.startswith(
        vcard_corpus.nfc(expected.organization)
    ):
        found.append(f"organization {contact.get('organization')!r}")
    if contact["has_photo"] != expected.has_photo:
        found.append(f"has_photo {contact['has_photo']}")
    if expected.noted and not contact["warnings"]:
        found.append("no note says what could not be read")
    return found


async def test_a_server_refuses_only_the_cards_the_corpus_says_it_may(corpus: Shared) -> None:
    may_refuse = {e.key for e in vcard_corpus.EXPECTED if e.servers_may_refuse}
    refused = {key for key, status in PUT_STATUS[corpus.calendar].items() if status >= 300}
    assert refused <= may_refuse


async def test_the_address_book_counts_every_card_the_server_stored(corpus: Shared) -> None:
    books = (await call(corpus.session, "list_address_books"))["address_books"]
    (contacts,) = [b for b in books if b["name"] == "Contacts"]
    assert contacts["count"] == sum(HELD[corpus.calendar].values())


@pytest.mark.parametrize("expected", vcard_corpus.EXPECTED, ids=lambda e: e.key)
async def test_a_card_is_found_and_reads_with_its_fields_or_a_note_unless_refused(
    corpus: Shared, expected: vcard_corpus.Expected
) -> None:
    if not stored(corpus, expected.key):
        assert await search(corpus, query_for(expected)) == []
    elif expected.servers_may_refuse:  # perhaps re-encoded: listed and read is all
        (hit,) = await search(corpus, query_for(expected))
        assert (await call(corpus.session, "get_contact", id=hit["id"]))["id"] == hit["id"]
    else:
        assert differences(await found_and_read(corpus, expected), expected) == []


async def test_muller_finds_the_mueller_written_with_a_combining_accent(corpus: Shared) -> None:
    names = [vcard_corpus.nfc(c["name"]) for c in await search(corpus, "muller")]
    assert names == ["Anja Müller"]


async def test_a_composed_umlaut_finds_the_decomposed_one(corpus: Shared) -> None:
    query = unicodedata.normalize("NFC", "Müller")
    assert [vcard_corpus.nfc(c["name"]) for c in await search(corpus, query)] == ["Anja Müller"]


async def test_phone_digits_find_a_number_written_with_spaces_brackets_and_dashes(
    corpus: Shared,
) -> None:
    found = await search(corpus, "1234 567")
    assert [c["name"] for c in found] == ["Sarita Ghosh"]
    assert "+49 (30) 1234-567" in found[0]["phones"]


async def test_a_phone_written_as_a_tel_uri_is_found_by_its_digits(corpus: Shared) -> None:
    assert [c["name"] for c in await search(corpus, "0170 555 0142")] == ["Jürgen Schmidt"]


async def test_the_card_with_thirty_emails_is_found_by_any_of_them_and_keeps_all(
    corpus: Shared,
) -> None:
    (rafael,) = await search(corpus, "rafael.costa+17@example.com")
    contact = await call(corpus.session, "get_contact", id=rafael["id"])
    thirty = next(e for e in vcard_corpus.EXPECTED if e.file == "thirty-emails.vcf").emails
    assert [e["address"] for e in contact["emails"]] == list(thirty)


async def test_names_in_arabic_and_chinese_are_found_by_their_words(corpus: Shared) -> None:
    assert [c["name"] for c in await search(corpus, "ليلى")] == ["ليلى حداد"]
    assert [c["name"] for c in await search(corpus, "王小明")] == ["王小明"]


async def test_a_several_megabyte_photo_is_read_only_as_has_photo(corpus: Shared) -> None:
    assert stored(corpus, LARGE_PHOTO_FILE)
    contact = await found_and_read(corpus, vcard_corpus.LARGE_PHOTO)
    assert differences(contact, vcard_corpus.LARGE_PHOTO) == []
    assert len(repr(contact)) < 4000  # no base64 in the answer


async def test_every_card_holding_a_shared_uid_is_listed(corpus: Shared) -> None:
    holders = [
        e
        for e in vcard_corpus.EXPECTED
        if e.file.startswith("duplicate-uid") and stored(corpus, e.key)
    ]
    found = await search(corpus, "Mats Brandt")
    assert len(found) == len(holders) >= 1
