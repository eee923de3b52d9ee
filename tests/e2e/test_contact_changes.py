"""Contact tools that change cards, through a real MCP client, against Radicale and Xandikos:
an update keeps every line it was not asked to change, writes the card's own version, and
never overwrites a change made elsewhere; parallel writes end in one winner.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.calendar_calls import call
from tests.contact_calls import card, find, only, photo_line, raw, server_of, stored, word
from tests.mcp_client import error_text, structured
from tests.server_env import Servers, Shared, module_calendar_server
from tests.servers.dav import DavAccount

FAMILIES = ("contacts",)
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]

book = module_calendar_server(None, FAMILIES)
"""One server on a new account, for every test of this module (per DAV server)."""


# -- never lose a field -----------------------------------------------------------------


async def test_an_update_keeps_photo_x_properties_and_groups_byte_for_byte(book: Shared) -> None:
    dav, login = server_of(book)
    tag = word()
    _, href, before = await stored(
        book,
        f"FN:Kept {tag}",
        f"N:{tag};Kept;;;",
        "EMAIL;TYPE=INTERNET,HOME:old@example.org",
        "item1.TEL;type=pref:+1 555 0100",
        "item1.X-ABLabel:_$!<Assistant>!$_",
        "X-PHONETIC-FIRST-NAME;X-Note=a,b:Kept",
        "X-SOCIALPROFILE;type=twitter:https://twitter.com/kept",
        photo_line(secrets.token_bytes(3000)),
        "NOTE:first line\\nsecond",
        tag=tag,
    )
    found = await only(book.session, tag)
    await call(
        book.session,
        "update_contact",
        id=found["id"],
        emails=[{"address": "new@example.org", "type": "work"}],
    )
    after = raw(dav, login, href)
    gone = [line for line in before.split("\r\n") if line not in after.split("\r\n")]
    added = [line for line in after.split("\r\n") if line not in before.split("\r\n")]
    assert gone == ["EMAIL;TYPE=INTERNET,HOME:old@example.org"]
    assert added == ["EMAIL;TYPE=WORK:new@example.org"]
    assert before.replace(gone[0], added[0]) == after


async def test_an_update_writes_a_vcard_4_card_as_4_and_null_removes_a_field(book: Shared) -> None:
    dav, login = server_of(book)
    tag = word()
    lines = (f"FN:Four {tag}", f"N:{tag};Four;;;", "TITLE:Boss", "TEL;TYPE=cell:+1 555 0101")
    _, href, _ = await stored(book, *lines, tag=tag, version="4.0")
    found = await only(book.session, tag)
    await call(
        book.session,
        "update_contact",
        id=found["id"],
        title=None,
        phones=[{"number": "+1 555 0199", "type": "mobile"}],
    )
    after = raw(dav, login, href)
    assert "VERSION:4.0" in after and "TITLE" not in after
    assert "TEL;TYPE=cell:+1 555 0199" in after and "0101" not in after


async def test_a_new_contact_is_written_in_the_version_the_book_already_uses(
    servers: Servers, book: Shared, tmp_path: Path
) -> None:
    dav = servers.dav[book.calendar]
    account = servers.new_account()
    servers.dav_login(dav, account)
    login = DavAccount(account.email, account.password, dav.url)
    for n in range(2):
        four = card(f"v4-{n}", f"FN:Four {n}", f"N:Four{n};;;;", version="4.0")
        assert dav.put_card(login, f"v4-{n}.vcf", four)[0] in (201, 204)
    async with servers.shared_session(account, tmp_path, FAMILIES, book.calendar) as shared:
        made = await call(shared.session, "create_contact", name="Fourth Person")
        got = await call(shared.session, "get_contact", id=made["id"])
    assert got["name"] == "Fourth Person"
    status, listing = dav.request(
        login, "PROPFIND", dav.address_book_path(login), "", {"Depth": "1"}
    )
    assert status == 207
    (href,) = {h for h in re.findall(r"<[^>]*href>([^<]+)</", listing.decode()) if "mcp-" in h}
    assert "VERSION:4.0" in raw(dav, login, href)


async def test_a_card_changed_behind_our_back_is_a_conflict_and_keeps_that_change(
    book: Shared,
) -> None:
    dav, login = server_of(book)
    tag = word()
    _, href, _ = await stored(book, f"FN:Behind {tag}", f"N:{tag};Behind;;;", tag=tag)
    read = await call(book.session, "get_contact", id=(await only(book.session, tag))["id"])
    elsewhere = card(tag, f"FN:Behind {tag}", f"N:{tag};Behind;;;", "TITLE:Changed on the phone")
    assert dav.put_card(login, f"{tag}.vcf", elsewhere)[0] in (201, 204)
    answer = await book.session.call_tool("update_contact", {"id": read["id"], "title": "Ours"})
    assert "changed elsewhere since it was read" in error_text(answer)
    assert raw(dav, login, href) == elsewhere
    deleted = await book.session.call_tool("delete_contact", {"id": read["id"]})
    assert "changed elsewhere since it was read" in error_text(deleted)


async def test_parallel_updates_of_one_card_one_wins_and_the_other_is_a_conflict(
    book: Shared,
) -> None:
    tag = word()
    made = await call(book.session, "create_contact", name=f"Race {tag}")
    answers: list[Any] = []

    async def update(title: str) -> None:
        answers.append(
            await book.session.call_tool("update_contact", {"id": made["id"], "title": title})
        )

    async with anyio.create_task_group() as group:
        for title in ("One", "Two", "Three"):
            group.start_soon(update, title)
    won = [a for a in answers if not a.is_error]
    assert len(won) == 1
    for answer in answers:
        if answer.is_error:
            # A conflict, or (Xandikos, when two writes collide) its HTTP 500: whether
            # that write was kept cannot be told, so the answer says to look it up again.
            text = error_text(answer)
            assert "changed elsewhere" in text or "look it up again" in text, text
    got = await call(book.session, "get_contact", id=structured(won[0])["id"])
    assert got["title"] in ("One", "Two", "Three")


async def test_the_same_contact_created_twice_at_once_is_made_once(book: Shared) -> None:
    tag = word()
    answers: list[Any] = []

    async def create() -> None:
        answers.append(await book.session.call_tool("create_contact", {"name": f"Twice {tag}"}))

    async with anyio.create_task_group() as group:
        group.start_soon(create)
        group.start_soon(create)
    assert len(await find(book.session, tag)) == 1
    assert sum(not a.is_error for a in answers) == 1
    assert "already created" in error_text(next(a for a in answers if a.is_error))


async def test_delete_removes_the_card_and_a_second_delete_says_it_is_gone(book: Shared) -> None:
    tag = word()
    made = await call(book.session, "create_contact", name=f"Gone {tag}")
    assert (await call(book.session, "delete_contact", id=made["id"]))["name"] == f"Gone {tag}"
    assert await find(book.session, tag) == []
    again = await book.session.call_tool("delete_contact", {"id": made["id"]})
    assert "no longer on the server" in error_text(again)
