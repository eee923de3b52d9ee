"""Contact tools through a real MCP client, each test against Radicale and Xandikos.

Every account has an address book "Contacts"; on Radicale also a read-only "Global
address book" (Xandikos cannot make a collection read-only: it grants every user all
privileges, so the read-only tests run on Radicale only). The tests of one server
share one session and one account; each makes contacts with names of its own. Updates,
conflicts and parallel writes are in test_contact_changes.py.
"""

from __future__ import annotations

import re
import secrets

import anyio
import pytest

from supervisor.tools import available_tools
from tests.calendar_calls import call
from tests.contact_calls import card, find, forged, only, photo_line, server_of, stored, word
from tests.mcp_client import error_text, run_server
from tests.server_env import Servers, Shared, module_calendar_server

FAMILIES = ("contacts",)
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]
WRITERS = {"create_contact", "update_contact", "delete_contact"}

book = module_calendar_server(None, FAMILIES)
"""One server on a new account, for every test of this module (per DAV server)."""


# -- listing, creating, reading ---------------------------------------------------------


async def test_the_address_books_are_listed_and_the_global_one_is_read_only(
    book: Shared,
) -> None:
    listed = {
        b["name"]: b for b in (await call(book.session, "list_address_books"))["address_books"]
    }
    assert listed["Contacts"]["read_only"] is False
    assert isinstance(listed["Contacts"]["count"], int)
    if book.calendar == "radicale":
        assert listed["Global address book"]["read_only"] is True
    else:
        assert set(listed) == {"Contacts"}


async def test_a_created_contact_reads_back_with_every_field(book: Shared) -> None:
    family = word()
    made = await call(
        book.session,
        "create_contact",
        name=f"Dr. Sarita {family}",
        emails=[{"address": "sarita@example.org", "type": "work"}, {"address": "s@home.example"}],
        phones=[
            {"number": "+49 (30) 1234-567", "type": "mobile"},
            {"number": "555", "type": "Assistant"},
        ],
        organization="Acme, Inc.",
        title="Engineer",
        addresses=[
            {
                "street": "Hauptstr. 5",
                "city": "Berlin",
                "postal_code": "10115",
                "country": "Germany",
                "type": "work",
            }
        ],
        birthday="1980-05-17",
        notes="Met at the fair;\nlikes tea",
        categories=["Friends", "Work"],
    )
    assert made["id"].startswith("ct_") and made["address_book"] == "Contacts"
    got = await call(book.session, "get_contact", id=made["id"])
    assert (got["name"], got["given"], got["family"]) == (f"Dr. Sarita {family}", "Sarita", family)
    assert got["emails"] == [
        {"address": "sarita@example.org", "type": "work"},
        {"address": "s@home.example", "type": None},
    ]
    assert got["phones"] == [
        {"number": "+49 (30) 1234-567", "type": "mobile"},
        {"number": "555", "type": "Assistant"},
    ]
    assert got["addresses"][0] | {"region": None} == {
        "street": "Hauptstr. 5",
        "city": "Berlin",
        "region": None,
        "postal_code": "10115",
        "country": "Germany",
        "type": "work",
    }
    assert (got["organization"], got["title"], got["birthday"]) == (
        "Acme, Inc.",
        "Engineer",
        "1980-05-17",
    )
    assert got["notes"] == "Met at the fair;\nlikes tea"
    assert got["categories"] == ["Friends", "Work"] and got["has_photo"] is False


async def test_a_photo_is_only_has_photo_and_a_card_without_a_name_reads_with_a_note(
    book: Shared,
) -> None:
    tag = word()
    photo = photo_line(secrets.token_bytes(600_000))
    await stored(book, f"FN:Photo {tag}", f"N:{tag};Photo;;;", photo, tag=tag)
    found = await only(book.session, tag)
    got = await call(book.session, "get_contact", id=found["id"])
    assert got["has_photo"] is True and photo.partition(":")[2][:40] not in str(got)


async def test_a_card_with_a_control_character_from_another_client_hides_no_other_card(
    book: Shared,
) -> None:
    dav, login = server_of(book)
    tag = word()
    await stored(book, f"FN:Odd {tag}", "N:Odd;;;;", "NOTE:a\x13b", tag=f"{tag}-bad")
    await call(book.session, "create_contact", name=f"Fine {tag}")
    answer = await call(book.session, "search_contacts", query=tag)
    assert sorted(c["name"] for c in answer["contacts"]) == [f"Fine {tag}", f"Odd {tag}"]
    # Where the server's REPORT cannot carry the card (Xandikos), the answer says so.
    assert dav.name == "radicale" or any("read one by one" in n for n in answer["notes"])
    dav.request(login, "DELETE", f"{dav.address_book_path(login)}{tag}-bad.vcf")


# -- search -------------------------------------------------------------------------------


async def test_search_ignores_case_and_accents_and_finds_emails_phones_and_organizations(
    book: Shared,
) -> None:
    tag = word()
    await call(
        book.session,
        "create_contact",
        name=f"Jürgen Müller {tag}",
        emails=[{"address": f"juergen.{tag.lower()}@example.org"}],
        phones=[{"number": "+49 (30) 9876-543", "type": "work"}],
        organization=f"Bäckerei {tag}",
    )
    for query in (
        f"muller {tag}",
        f"JÜRGEN {tag.upper()}",
        f"juergen.{tag.lower()}",
        f"backerei {tag}",
    ):
        assert [c["name"] for c in await find(book.session, query)] == [f"Jürgen Müller {tag}"], (
            query
        )
    by_digits = [c["name"] for c in await find(book.session, "9876 543")]
    assert f"Jürgen Müller {tag}" in by_digits
    national = [c["name"] for c in await find(book.session, "030 9876543")]
    assert f"Jürgen Müller {tag}" in national
    assert await find(book.session, f"nobody {tag}") == []


async def test_search_finds_a_nickname_and_a_name_written_with_combining_accents(
    book: Shared,
) -> None:
    tag = word()
    lines = (f"FN:Robert Zo\u0308llner {tag}", "N:Zo\u0308llner;Robert;;;", f"NICKNAME:Bobby{tag}")
    await stored(book, *lines, tag=tag)
    assert [c["name"] for c in await find(book.session, f"bobby{tag}")] == [lines[0][3:]]
    assert len(await find(book.session, f"zöllner {tag}")) == 1  # precomposed ö
    assert len(await find(book.session, f"ZOLLNER {tag}")) == 1


async def test_search_pages_through_every_match_once(book: Shared) -> None:
    tag = word()
    for n in range(5):
        await call(book.session, "create_contact", name=f"Page{n} {tag}")
    first = await call(book.session, "search_contacts", query=tag, limit=2)
    seen = [c["name"] for c in first["contacts"]]
    cursor = first["next_cursor"]
    assert first["total"] == 5 and cursor
    while cursor:
        page = await call(book.session, "search_contacts", query=tag, limit=2, cursor=cursor)
        seen += [c["name"] for c in page["contacts"]]
        cursor = page["next_cursor"]
    assert seen == [f"Page{n} {tag}" for n in range(5)]
    other = await book.session.call_tool(
        "search_contacts", {"query": "else", "cursor": first["next_cursor"]}
    )
    assert "cursor belongs to another" in error_text(other)


async def test_a_card_added_by_another_client_is_found_by_the_same_search_at_once(
    book: Shared,
) -> None:
    tag = word()
    await call(book.session, "create_contact", name=f"First {tag}")
    assert len(await find(book.session, tag)) == 1  # now cached in the session
    await stored(book, f"FN:Second {tag}", "N:Second;;;;", tag=tag)
    assert sorted(c["name"] for c in await find(book.session, tag)) == [
        f"First {tag}",
        f"Second {tag}",
    ]


# -- wrong calls ----------------------------------------------------------------------------


async def test_wrong_ids_are_refused_in_one_sentence(book: Shared) -> None:
    dav, login = server_of(book)
    calendar = await book.session.call_tool(
        "delete_contact", {"id": forged(dav.calendar_path(login), "x.ics")}
    )
    assert "not one of yours" in error_text(calendar)
    event = await book.session.call_tool("get_contact", {"id": "ev_kZ1hYmMv"})
    assert "is an event id, not a contact id" in error_text(event)
    other_user = await book.session.call_tool(
        "get_contact", {"id": forged("/someone@example.test/contacts/")}
    )
    assert "not one of yours" in error_text(other_user)
    other_host = await book.session.call_tool(
        "update_contact", {"id": forged("//evil.example/c/"), "title": "x"}
    )
    assert "is not a contact id" in error_text(other_host)
    nonsense = await book.session.call_tool("delete_contact", {"id": "ct_!!!"})
    assert "is not a contact id" in error_text(nonsense)


async def test_an_update_without_changes_and_a_blank_name_are_refused(book: Shared) -> None:
    made = await call(book.session, "create_contact", name=f"Same {word()}")
    empty = await book.session.call_tool("update_contact", {"id": made["id"]})
    assert "Nothing to change" in error_text(empty)
    blank = await book.session.call_tool("create_contact", {"name": "   "})
    assert "name must not be blank" in error_text(blank)
    phone = await book.session.call_tool(
        "create_contact", {"name": "X", "phones": [{"number": "call me"}]}
    )
    assert "is not a phone number" in error_text(phone)
    nameless = await book.session.call_tool("update_contact", {"id": made["id"], "name": None})
    assert "keeps a name" in error_text(nameless)
    day = await book.session.call_tool("create_contact", {"name": "X", "birthday": "1980-02-30"})
    assert "must look like 1980-05-17" in error_text(day)


async def test_the_global_address_book_is_searched_but_never_written(book: Shared) -> None:
    dav, login = server_of(book)
    if dav.global_book_path(login) is None:
        pytest.skip("Xandikos cannot make a collection read-only (every user has DAV:all)")
    tag = word()
    dav.seed_global_card(
        login, f"{tag}.vcf", card(tag, f"FN:Reception {tag}", f"N:{tag};Reception;;;")
    )
    found = await only(book.session, tag)
    assert found["address_book"] == "Global address book"
    assert (await call(book.session, "get_contact", id=found["id"]))["read_only"] is True
    refused = [
        await book.session.call_tool("update_contact", {"id": found["id"], "title": "x"}),
        await book.session.call_tool("delete_contact", {"id": found["id"]}),
        await book.session.call_tool(
            "create_contact", {"name": "X", "address_book": "Global address book"}
        ),
    ]
    for answer in refused:
        assert "Global address book is read-only" in error_text(answer)
    assert len(await find(book.session, tag)) == 1


async def test_read_only_mode_lists_no_contact_writer() -> None:
    listed = set(available_tools(read_only=True))
    assert {"list_address_books", "search_contacts", "get_contact"} <= listed
    assert not WRITERS & listed


async def test_diagnose_names_the_address_books_it_found(servers: Servers, book: Shared) -> None:
    env = servers.env(book.account, book.folder, calendar=book.calendar)
    done = await anyio.to_thread.run_sync(lambda: run_server(env, "--diagnose"))
    (line,) = [text for text in done.stdout.splitlines() if "carddav address books" in text]
    listed = re.search(r"\d+ address books?: (.+)$", line)
    assert listed is not None, line
    found = sorted(listed.group(1).split(", "))
    if book.calendar == "radicale":
        assert found == ["Contacts", "Global address book (read-only)"], line
    else:
        assert found == ["Contacts"], line
