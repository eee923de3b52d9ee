"""The contact tools against cards other clients stored (no FN, a name of 100,000
characters, a card nested in a card, one without END, 10,000 emails, a long folded X-
property) and in read-only mode, through a real MCP client on Radicale and Xandikos:
each card reads or is noted, and an update keeps every line it was not asked to change
(or is refused and changes nothing). Cards of 8-bit garbage and an 8 MB photo are in
test_contact_corpus.py.
"""

from __future__ import annotations

import pytest

from tests.calendar_calls import call
from tests.contact_attacks import card_name, plain_refusal, restarts
from tests.contact_calls import find, only, raw, server_of, stored, word
from tests.mcp_client import mcp_session
from tests.server_env import Servers, Shared, module_calendar_server

FAMILIES = ("contacts",)
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]

book = module_calendar_server(None, FAMILIES)
"""One server on a new account, for every test of this module (per DAV server)."""


# -- hostile cards on the server ---------------------------------------------------------


# A card without FN is not among them: Radicale (400) and Xandikos (412) both refuse to
# store one, so it can only come from another server; tests/unit/test_vcard.py reads it.
HOSTILE = {
    "huge FN": ["FN:Huge " + "h" * 100_000],
    "nested": ["FN:Outer Nest", "BEGIN:VCARD", "VERSION:3.0", "FN:Inner Nest", "END:VCARD"],
    "long folded X-": [
        "FN:Folded Long",
        "X-LONG:" + "\r\n ".join(["y" * 74] * 70),
    ],
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
async def test_a_hostile_card_reads_or_is_noted_and_an_update_keeps_its_other_lines(
    book: Shared, kind: str
) -> None:
    dav, login = server_of(book)
    tag = word()
    _, href, before = await stored(book, *HOSTILE[kind], f"NICKNAME:{tag}", tag=tag)
    found = await only(book.session, tag)
    got = await call(book.session, "get_contact", id=found["id"])
    assert len(found["name"]) <= 501 and len(got["name"]) <= 501
    answer = await book.session.call_tool("update_contact", {"id": got["id"], "title": "Boss"})
    after = raw(dav, login, href)
    if answer.is_error:
        plain_refusal(answer)
        assert after == before
        return
    kept = [line for line in before.split("\r\n") if not line.startswith(("TITLE", "REV"))]
    assert [line for line in after.split("\r\n") if not line.startswith(("TITLE", "REV"))] == kept


async def test_a_card_of_ten_thousand_emails_and_a_megabyte_note_reads_cut_with_notes(
    book: Shared,
) -> None:
    tag = word()
    emails = [f"EMAIL:m{i}@example.org" for i in range(10_000)]
    await stored(book, f"FN:Crowd {tag}", f"NOTE:{'n' * 1_000_000}", *emails, tag=tag)
    found = await only(book.session, tag)
    got = await call(book.session, "get_contact", id=found["id"])
    assert len(got["emails"]) == 100 and len(got["notes"]) <= 20_001
    assert any("10,000 emails" in w for w in got["warnings"])
    assert any("notes holds 1,000,000 characters" in w for w in got["warnings"])


async def test_a_card_nested_inside_another_reads_as_the_outer_one_with_a_note(
    book: Shared,
) -> None:
    dav, login = server_of(book)
    tag = word()
    nested = ["BEGIN:VCARD", "VERSION:3.0", "FN:Inner Boss", "EMAIL:inner@example.org", "END:VCARD"]
    _, href, before = await stored(book, f"FN:Outer {tag}", *nested, f"NICKNAME:n{tag}", tag=tag)
    (found,) = await find(book.session, f"n{tag}")
    got = await call(book.session, "get_contact", id=found["id"])
    assert (got["name"], got["emails"]) == (f"Outer {tag}", [])
    assert any("another card inside it" in w for w in got["warnings"])
    await call(book.session, "update_contact", id=got["id"], title="Chief")
    after = raw(dav, login, href)
    inner = before[before.index("BEGIN:VCARD", 1) : before.index("END:VCARD") + 9]
    assert inner in after  # the inner card kept as the server stored it, nothing put in it


async def test_a_card_without_end_is_refused_by_the_server_or_read_with_a_note(
    book: Shared,
) -> None:
    """(Cards of 8-bit garbage and an 8 MB photo are in test_contact_corpus.py.)"""
    dav, login = server_of(book)
    tag = word()
    broken = f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{tag}\r\nFN:Endless {tag}\r\n"
    if dav.put_card(login, f"{tag}.vcf", broken)[0] not in (201, 204):
        return  # the server refused it: nothing of it to read
    answer = await book.session.call_tool("search_contacts", {"query": tag})
    if answer.is_error:
        plain_refusal(answer)
        return
    for found in answer.structured_content["contacts"]:
        got = await book.session.call_tool("get_contact", {"id": found["id"]})
        if got.is_error:
            plain_refusal(got)


# -- read-only mode, and the worker after every attack -------------------------------------


async def test_read_only_mode_lists_no_contact_writer_and_a_call_to_one_changes_nothing(
    servers: Servers, book: Shared
) -> None:
    dav, login = server_of(book)
    made = await call(book.session, "create_contact", name=f"Frozen {word()}")
    href = dav.address_book_path(login) + card_name(made["id"])
    before = raw(dav, login, href)
    folder = book.folder / "read-only"
    folder.mkdir(exist_ok=True)
    env = servers.env(book.account, folder, FAMILIES, book.calendar) | {"MAILBOX_READ_ONLY": "1"}
    async with mcp_session(env, folder / "err.log") as session:
        names = {t.name for t in (await session.list_tools()).tools}
        answers = [
            await session.call_tool("update_contact", {"id": made["id"], "title": "x"}),
            await session.call_tool("delete_contact", {"id": made["id"]}),
            await session.call_tool("create_contact", {"name": "Not made"}),
        ]
    assert "search_contacts" in names
    assert not {"create_contact", "update_contact", "delete_contact"} & names
    for answer in answers:
        plain_refusal(answer)
    assert raw(dav, login, href) == before


async def test_zz_no_attack_restarted_the_worker(book: Shared) -> None:
    """Run last in the module: every attack above was answered without a worker crash."""
    assert restarts(book) == 0
