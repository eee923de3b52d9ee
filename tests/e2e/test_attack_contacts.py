"""The contact tools attacked by calls as a misusing agent would make them, through a real
MCP client, on Radicale and Xandikos: ids from other tools or forged, stale ids, hostile
field values, wrong searches, parallel writes, another place to create in. Every answer is
a result or one sentence of ours, and a refused call leaves the card on the server as it
was. Cards other clients stored, and read-only mode: test_attack_contact_data.py.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import anyio
import pytest

from tests.calendar_calls import call
from tests.contact_attacks import card_name, plain_refusal, restarts
from tests.contact_calls import card, find, forged, only, raw, server_of, stored, word
from tests.mcp_client import error_text
from tests.server_env import Shared, module_calendar_server

FAMILIES = ("contacts",)
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]

book = module_calendar_server(None, FAMILIES)
"""One server on a new account, for every test of this module (per DAV server)."""


# -- ids that are not this card's --------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["%2e", "%2E", "%2e%2e", "a%2fb.vcf", "a%5cb.vcf", "%2e%2e%2fx.vcf", "#x", "?x"]
)
async def test_a_forged_name_that_would_read_as_another_place_names_no_card_but_itself(
    book: Shared, name: str
) -> None:
    dav, login = server_of(book)
    _tag, href, before = await stored(book, "FN:Kept Safe", "N:Safe;Kept;;;")
    path = dav.address_book_path(login)
    for tool, extra in (
        ("get_contact", {}),
        ("update_contact", {"title": "x"}),
        ("delete_contact", {}),
    ):
        answer = await book.session.call_tool(tool, {"id": forged(path, name), **extra})
        # Sent encoded, the name is a file of that name: there is none (or Radicale
        # refuses the name).
        text = plain_refusal(answer)
        assert "no longer on the server" in text or "refused reading" in text, text
    assert raw(dav, login, href) == before  # the book and its card are still there


@pytest.mark.parametrize(
    "given",
    [
        "td_kZ1hYmMv",  # a task id
        "ev_kZ1hYmMv",  # an event id
        "4711",  # an email id
        "INBOX/4711",
        "rule-1",  # a filter id
        "ct_",
        "ct_" + "A" * 3000,
    ],
)
async def test_an_id_from_another_tool_is_refused_in_one_sentence(book: Shared, given: str) -> None:
    for tool, extra in (
        ("get_contact", {}),
        ("update_contact", {"title": "x"}),
        ("delete_contact", {}),
    ):
        answer = await book.session.call_tool(tool, {"id": given, **extra})
        text = plain_refusal(answer)
        assert "contact id" in text or "id must have" in text, text


async def test_a_card_another_client_named_with_hash_percent_or_question_mark_is_changed(
    book: Shared,
) -> None:
    dav, login = server_of(book)
    # Xandikos lists a name with '#' or '?' unencoded in its REPORT (the href is cut
    # there), so such a card is not found on it: a matter of reading the REPORT.
    odd = ("h#h", "q?q", "p%41", "a b+c") if book.calendar == "radicale" else ("p%41", "a b+c")
    for name in odd:
        tag = word()
        status, _ = dav.put_card(login, quote(f"{name}{tag}.vcf"), card(tag, f"FN:Odd {tag}"))
        if status not in (201, 204):
            continue  # Radicale refuses some names outright
        found = await only(book.session, tag)
        changed = await call(book.session, "update_contact", id=found["id"], title="Odd")
        assert (await call(book.session, "get_contact", id=changed["id"]))["title"] == "Odd"
        href = f"{dav.address_book_path(login)}{quote(name + tag)}.vcf"
        assert "TITLE:Odd" in raw(dav, login, href)
        await call(book.session, "delete_contact", id=changed["id"])
        assert await find(book.session, tag) == []


async def test_the_address_book_itself_and_its_parent_are_not_contacts(book: Shared) -> None:
    dav, login = server_of(book)
    _tag, href, before = await stored(book, "FN:Parent Kept", "N:Kept;Parent;;;")
    path = dav.address_book_path(login)
    for made_up in (forged(path, ""), forged(path, "."), forged(path, ".."), forged(path + "../")):
        answer = await book.session.call_tool("delete_contact", {"id": made_up})
        assert "contact id" in plain_refusal(answer) or "not one of yours" in error_text(answer)
    assert raw(dav, login, href) == before


async def test_a_stale_id_after_another_change_is_a_conflict_and_changes_nothing(
    book: Shared,
) -> None:
    dav, login = server_of(book)
    made = await call(book.session, "create_contact", name=f"Stale {word()}")
    await call(book.session, "update_contact", id=made["id"], title="First")
    href = dav.address_book_path(login) + card_name(made["id"])
    before = raw(dav, login, href)
    for tool, extra in (("update_contact", {"title": "Second"}), ("delete_contact", {})):
        answer = await book.session.call_tool(tool, {"id": made["id"], **extra})
        assert "changed elsewhere" in plain_refusal(answer)
    assert raw(dav, login, href) == before


async def test_the_id_of_a_deleted_card_says_it_is_gone(book: Shared) -> None:
    made = await call(book.session, "create_contact", name=f"Gone {word()}")
    await call(book.session, "delete_contact", id=made["id"])
    for tool, extra in (
        ("get_contact", {}),
        ("update_contact", {"title": "x"}),
        ("delete_contact", {}),
    ):
        answer = await book.session.call_tool(tool, {"id": made["id"], **extra})
        assert "no longer on the server" in plain_refusal(answer)


# -- hostile values ----------------------------------------------------------------------


async def test_a_name_with_vcard_separators_round_trips_and_injects_no_line(book: Shared) -> None:
    dav, login = server_of(book)
    tag = word()
    name = f"Semi;colon, comma\\back {tag}"
    made = await call(
        book.session,
        "create_contact",
        name=name,
        organization="A;B, C\\D",
        categories=["one,two", "three;four"],
        notes="line one\nEMAIL:evil@example.org\r\nline three",
    )
    got = await call(book.session, "get_contact", id=made["id"])
    assert got["name"] == name
    assert got["organization"] == "A;B, C\\D"
    assert got["categories"] == ["one,two", "three;four"]
    assert got["emails"] == []
    text = raw(dav, login, dav.address_book_path(login) + card_name(made["id"]))
    assert "\nEMAIL" not in text


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", "Line\r\nEMAIL:evil@example.org"),
        ("organization", "Org\nX-EVIL:1"),
        ("emails", [{"address": "a@example.org\r\nBCC:evil@example.org"}]),
        ("emails", [{"address": "Bob <evil@example.org>"}]),
        ("emails", [{"address": "a@example.org, evil@example.org"}]),
        ("emails", [{"address": "a@example.org", "type": "work\r\nX-EVIL:1"}]),
        ("phones", [{"number": "+49 CALL NOW"}]),
        ("phones", [{"number": "1-800-FLOWERS"}]),
        ("birthday", "9999-99-99"),
        ("birthday", "0000-05-17"),
        ("birthday", "2023-02-29"),
        ("birthday", "1980-05-17T10:00:00"),
        ("categories", ["a\nb"]),
    ],
)
async def test_a_hostile_field_is_refused_and_the_card_is_unchanged(
    book: Shared, field: str, value: Any
) -> None:
    dav, login = server_of(book)
    made = await call(book.session, "create_contact", name=f"Hostile {word()}")
    href = dav.address_book_path(login) + card_name(made["id"])
    before = raw(dav, login, href)
    answer = await book.session.call_tool("update_contact", {"id": made["id"], field: value})
    plain_refusal(answer)
    assert raw(dav, login, href) == before
    plain_refusal(await book.session.call_tool("create_contact", {"name": "Made", field: value}))


async def test_a_leap_day_birthday_and_year_9999_read_back(book: Shared) -> None:
    for day in ("2024-02-29", "9999-12-31", "--02-29"):
        made = await call(book.session, "create_contact", name=f"Born {word()}", birthday=day)
        assert (await call(book.session, "get_contact", id=made["id"]))["birthday"] == day


async def test_emails_set_to_an_empty_list_or_null_both_remove_them(book: Shared) -> None:
    for cleared in ([], None):
        made = await call(
            book.session,
            "create_contact",
            name=f"Mails {word()}",
            emails=[{"address": "x@example.org"}],
            phones=[{"number": "+1 555 0100"}],
        )
        changed = await call(book.session, "update_contact", id=made["id"], emails=cleared)
        got = await call(book.session, "get_contact", id=changed["id"])
        assert got["emails"] == [] and got["phones"] == [{"number": "+1 555 0100", "type": None}]


@pytest.mark.parametrize(
    "args",
    [
        {"notes": "x" * 1_000_000},
        {"emails": [{"address": f"a{i}@example.org"} for i in range(10_000)]},
        {"name": "N" * 100_000},
    ],
)
async def test_an_oversized_field_is_refused_in_one_sentence(book: Shared, args: Any) -> None:
    made = await call(book.session, "create_contact", name=f"Big {word()}")
    answer = await book.session.call_tool("update_contact", {"id": made["id"], **args})
    plain_refusal(answer)
    created = await book.session.call_tool("create_contact", {"name": "Big", **args})
    plain_refusal(created)


# -- search ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        {"query": ""},
        {"query": "   "},
        {"query": "x" * 10_000},
        {"query": "a\x00b"},
        {"query": "x", "limit": 0},
        {"query": "x", "limit": 10**9},
        {"query": "x", "cursor": "ev_kZ1hYmMv"},
        {"query": "x", "cursor": "c" * 150},
        {"query": "x", "address_book": "/someone@example.test/contacts/"},
        {"query": "x", "address_book": "../"},
    ],
)
async def test_a_wrong_search_is_refused_in_one_sentence(book: Shared, args: Any) -> None:
    plain_refusal(await book.session.call_tool("search_contacts", args))


async def test_regex_characters_in_a_query_are_matched_as_text(book: Shared) -> None:
    tag = word()
    await call(book.session, "create_contact", name=f"Regex {tag}", organization="C++ (dev) .*")
    assert [c["organization"] for c in await find(book.session, f"{tag} c++ (dev) .*")] == [
        "C++ (dev) .*"
    ]
    assert await find(book.session, ".* [a-z]+ (?=x)") == []


async def test_a_cursor_of_another_query_or_after_a_change_is_not_misread(book: Shared) -> None:
    tag = word()
    for i in range(3):
        await call(book.session, "create_contact", name=f"Paged{i} {tag}")
    first = await call(book.session, "search_contacts", query=tag, limit=2)
    other = await book.session.call_tool(
        "search_contacts", {"query": tag + "x", "cursor": first["next_cursor"]}
    )
    assert "cursor" in plain_refusal(other)
    await call(book.session, "create_contact", name=f"Paged3 {tag}")
    rest = await call(
        book.session, "search_contacts", query=tag, limit=2, cursor=first["next_cursor"]
    )
    assert rest["total"] == 4


async def test_parallel_updates_of_different_fields_lose_none(book: Shared) -> None:
    made = await call(book.session, "create_contact", name=f"Both {word()}")
    answers: list[Any] = []

    async def change(field: str, value: str) -> None:
        answers.append(
            await book.session.call_tool("update_contact", {"id": made["id"], field: value})
        )

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(change, "title", "Chief")
        tasks.start_soon(change, "organization", "Acme")
    won = [a for a in answers if not a.is_error]
    assert len(won) == 1
    for lost in (a for a in answers if a.is_error):
        assert "changed elsewhere" in plain_refusal(lost) or "busy" in error_text(lost)
    got = await call(book.session, "get_contact", id=won[0].structured_content["id"])
    assert (got["title"], got["organization"]) in (("Chief", None), (None, "Acme"))


async def test_a_delete_and_an_update_at_once_leave_no_half_card(book: Shared) -> None:
    made = await call(book.session, "create_contact", name=f"Race {word()}")
    answers: dict[str, Any] = {}

    async def run(tool: str, extra: dict[str, Any]) -> None:
        answers[tool] = await book.session.call_tool(tool, {"id": made["id"], **extra})

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(run, "delete_contact", {})
        tasks.start_soon(run, "update_contact", {"title": "Late"})
    for answer in answers.values():
        if answer.is_error:
            plain_refusal(answer)
    assert sum(not a.is_error for a in answers.values()) >= 1
    found = await find(book.session, made["name"].split()[-1])
    assert len(found) == (0 if not answers["delete_contact"].is_error else 1)


@pytest.mark.parametrize("where", ["calendar", "other user", "parent", "global by path"])
async def test_a_contact_is_created_only_in_an_address_book_of_ours_that_takes_it(
    book: Shared, where: str
) -> None:
    dav, login = server_of(book)
    target = {
        "calendar": dav.calendar_path(login),
        "other user": "/someone@example.test/contacts/",
        "parent": dav.address_book_path(login) + "../",
        "global by path": dav.global_book_path(login) or "/nobody/global/",
    }[where]
    before = (await call(book.session, "list_address_books"))["address_books"]
    answer = await book.session.call_tool(
        "create_contact", {"name": f"Misplaced {word()}", "address_book": target}
    )
    plain_refusal(answer)
    assert (await call(book.session, "list_address_books"))["address_books"] == before


async def test_a_task_id_is_named_as_one_and_the_task_tools_are_offered(book: Shared) -> None:
    answer = await book.session.call_tool("delete_contact", {"id": "td_kZ1hYmMv"})
    assert "is a task id, not a contact id" in plain_refusal(answer)


async def test_zz_no_attack_restarted_the_worker(book: Shared) -> None:
    """Run last in the module: every attack above was answered without a worker crash."""
    assert restarts(book) == 0
