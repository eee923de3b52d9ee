"""Attacks on the task tools with data other clients put on the server, through the real
MCP client: hostile VTODOs (no DUE, a 5 MB description, a rule that ends before it
starts, broken UTF-8, a VEVENT and a VTODO in one object), a thousand tasks in one list,
a read-only task list, and the server in read-only mode. Everything is listed, never a
failure; a refused write is one sentence of ours and leaves the raw object as it was.
Both CalDAV servers (the read-only list on Radicale: Xandikos grants every user all).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import NoReturn

import pytest

from tests import task_attacks
from tests.calendar_calls import call
from tests.e2e.test_tasks import create, make_calendar, make_task_list, todo
from tests.mcp_client import mcp_session, text_of
from tests.server_env import Servers, Shared, module_calendar_server
from tests.servers.dav import DavAccount, DavServer, RadicaleServer

FAMILIES = ("tasks", "calendar")
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]

MIXED = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\n"
    "BEGIN:VEVENT\r\nUID:mixed\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20300302T090000Z\r\n"
    "SUMMARY:Mixed event\r\nEND:VEVENT\r\n"
    "BEGIN:VTODO\r\nUID:mixed\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Mixed task\r\n"
    "DUE;VALUE=DATE:20300303\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
)
HOSTILE = {
    "no-due": todo("no-due", "SUMMARY:Nothing due"),
    "huge": todo("huge", "SUMMARY:Huge description", "DESCRIPTION:" + "x" * (5 * 2**20)),
    "absurd-until": todo(
        "absurd-until",
        "SUMMARY:Absurd until",
        "DTSTART;VALUE=DATE:20300101",
        "DUE;VALUE=DATE:20300102",
        "RRULE:FREQ=DAILY;UNTIL=19000101",
    ),
    "mixed": MIXED,
}


def seed(server: DavServer, login: DavAccount) -> None:
    tasks = make_task_list(server, login)
    if isinstance(server, RadicaleServer):  # Xandikos cannot make a list read-only
        shared_list = server.root / "collections" / "collection-root" / login.username / "global"
        props = {
            "tag": "VCALENDAR",
            "D:displayname": SHARED_LIST,
            "C:supported-calendar-component-set": "VTODO",
        }
        (shared_list / ".Radicale.props").write_text(json.dumps(props))
        for old in shared_list.glob("*.vcf"):
            old.unlink()
        (shared_list / "theirs.ics").write_text(todo("theirs", "SUMMARY:Theirs"), newline="")
        make_calendar(server, login, "crowd", "Crowd")
        folder = server.root / "collections" / "collection-root" / login.username / "crowd"
        for n in range(CROWD):
            text = todo(f"crowd-{n}", f"SUMMARY:Crowd {n}", f"DUE;VALUE=DATE:2030{n % 12 + 1:02}01")
            (folder / f"crowd-{n}.ics").write_text(text, newline="")
    for name, ics in HOSTILE.items():
        status, _answer = server.request(
            login, "PUT", f"{tasks}{name}.ics", ics, {"Content-Type": "text/calendar"}
        )
        if status in (201, 204):
            STORED.add((server.name, name))


SHARED_LIST = "Shared tasks"
CROWD = 1000
STORED: set[tuple[str, str]] = set()
"""The hostile objects each server agreed to store: both refuse "mixed" (a VEVENT and a
VTODO in one object), and Radicale a rule whose UNTIL is before DTSTART (and skips such
a file written into its storage), so neither can reach the tools from there."""


REFUSED_BY_SERVER = {("radicale", "absurd-until"), ("xandikos", "broken-utf8")}
"""The hostile objects a server is known to refuse itself: only there may a test that
needs one skip; a refusal anywhere else fails, so a skip never hides a test that the
other server would have run."""


def refused_by_server(server: str, name: str, status: int | None = None) -> NoReturn:
    """Skips where ``server`` is known to refuse object ``name``; fails anywhere else."""
    answer = "" if status is None else f" (HTTP {status})"
    if (server, name) not in REFUSED_BY_SERVER:
        pytest.fail(f"{server} unexpectedly refused the object {name!r}{answer}")
    pytest.skip(f"{server} refuses the object {name!r} itself{answer}")


def stored_on(shared: Shared, name: str) -> None:
    if (shared.dav.name, name) not in STORED:
        refused_by_server(shared.dav.name, name)


shared = module_calendar_server(seed, FAMILIES)


# -- hostile data on the server -----------------------------------------------------------


async def test_hostile_tasks_on_the_server_are_listed_never_a_failure(shared: Shared) -> None:
    answer = await call(shared.session, "list_tasks", task_list="Tasks", limit=500)
    names = {t["summary"]: t for t in answer["tasks"]}
    kept = {n for s, n in STORED if s == shared.dav.name}
    assert {"no-due", "huge"} <= kept
    summaries = {"absurd-until": "Absurd until", "mixed": "Mixed task"}
    assert {summaries[n] for n in kept if n in summaries} <= set(names)
    assert len(names["Huge description"]["description"]) <= 5000
    assert names["Nothing due"]["due"] is None
    assert task_attacks.restarts(shared) == 0


async def test_completing_a_task_whose_rule_ended_before_it_began_is_one_sentence(
    shared: Shared,
) -> None:
    stored_on(shared, "absurd-until")
    found = await task_attacks.by_summary(shared.session, "Absurd until")
    before = task_attacks.raw(shared, found["id"])
    answer = await shared.session.call_tool("update_task", {"id": found["id"], "completed": True})
    if answer.is_error:
        task_attacks.plain_sentence(text_of(answer))
        assert task_attacks.raw(shared, found["id"]) == before
    assert "unexpectedly" not in text_of(answer) and task_attacks.restarts(shared) == 0


async def test_a_broken_utf8_task_is_listed_with_replacement_characters(shared: Shared) -> None:
    server, login = task_attacks.login_of(shared)
    body = todo("broken-utf8", "SUMMARY:Broken \udcff bytes").encode("utf-8", "surrogateescape")
    status = task_attacks.put_bytes(
        server, login, f"{server.home_path(login)}tasks/broken-utf8.ics", body
    )
    if status not in (201, 204):
        refused_by_server(server.name, "broken-utf8", status)
    answer = await call(shared.session, "list_tasks", task_list="Tasks", limit=500)
    assert any(t["summary"].startswith("Broken") for t in answer["tasks"]), answer["notes"]


async def test_a_thousand_tasks_in_one_list_are_listed_in_pages(shared: Shared) -> None:
    task_attacks.radicale_only(shared)
    asked = {"task_list": "Crowd", "query": "crowd", "limit": 500}
    first = await call(shared.session, "list_tasks", **asked)
    assert first["total"] == CROWD and len(first["tasks"]) == 500
    rest = await call(shared.session, "list_tasks", **asked, cursor=first["next_cursor"])
    seen = {t["summary"] for t in first["tasks"] + rest["tasks"]}
    assert len(seen) == CROWD and rest["next_cursor"] is None


async def test_a_read_only_task_list_is_listed_and_writes_to_it_change_nothing(
    shared: Shared,
) -> None:
    task_attacks.radicale_only(shared)
    found = await task_attacks.by_summary(shared.session, "Theirs", task_list=SHARED_LIST)
    before = task_attacks.raw(shared, found["id"])
    await task_attacks.refused(shared.session, "create_task", summary="Mine", task_list=SHARED_LIST)
    text = await task_attacks.refused(shared.session, "update_task", id=found["id"], completed=True)
    assert "read-only" in text or "does not allow" in text, text
    await task_attacks.refused(shared.session, "delete_task", id=found["id"])
    assert task_attacks.raw(shared, found["id"]) == before


async def test_a_cursor_of_get_calendar_events_is_refused_by_list_tasks(shared: Shared) -> None:
    server, login = task_attacks.login_of(shared)
    for n in range(3):
        ics = (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:page-{n}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:2030060{n + 1}T090000Z\r\n"
            "SUMMARY:Paged\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        )
        server.put_object(login, f"page-{n}.ics", ics)
    page = await call(
        shared.session, "get_calendar_events", start="2030-06-01", end="2030-06-05", limit=1
    )
    assert page["next_cursor"], page
    text = await task_attacks.refused(shared.session, "list_tasks", cursor=page["next_cursor"])
    assert "cursor" in text, text


# -- read-only mode ---------------------------------------------------------------------


@pytest.fixture
def read_only_env(servers: Servers, shared: Shared) -> Iterator[dict[str, str]]:
    env = servers.env(shared.account, shared.folder / "ro", FAMILIES, shared.calendar)
    yield env | {"MAILBOX_READ_ONLY": "1"}


async def test_read_only_mode_lists_no_task_writer_and_refuses_a_call_to_one(
    shared: Shared, read_only_env: dict[str, str]
) -> None:
    (shared.folder / "ro").mkdir(exist_ok=True)
    found = await task_attacks.by_summary(shared.session, "Nothing due")
    before = task_attacks.raw(shared, found["id"])
    async with mcp_session(read_only_env, shared.folder / "ro" / "err.log") as session:
        names = {t.name for t in (await session.list_tools()).tools}
        text = await task_attacks.refused(session, "update_task", id=found["id"], completed=True)
        await task_attacks.refused(session, "delete_task", id=found["id"])
    assert "list_tasks" in names
    assert not {"create_task", "update_task", "delete_task"} & names
    assert "update_task" in text
    assert task_attacks.raw(shared, found["id"]) == before


async def test_no_series_deletes_also_refuses_a_rule_change_that_drops_occurrences(
    servers: Servers, shared: Shared
) -> None:
    written = await create(
        shared.session, "Stand-up notes", due="2030-09-02", recurrence="FREQ=WEEKLY"
    )
    before = task_attacks.raw(shared, written["id"])
    (shared.folder / "keep").mkdir(exist_ok=True)
    env = servers.env(shared.account, shared.folder / "keep", FAMILIES, shared.calendar)
    env["MAILBOX_ALLOW_SERIES_DELETE"] = "0"
    async with mcp_session(env, shared.folder / "keep" / "err.log") as session:
        for rule in (None, "FREQ=WEEKLY;COUNT=2"):
            text = await task_attacks.refused(
                session, "update_task", id=written["id"], recurrence=rule
            )
            assert "MAILBOX_ALLOW_SERIES_DELETE" in text, text
        await call(session, "update_task", id=written["id"], recurrence="FREQ=DAILY")
    assert task_attacks.raw(shared, written["id"]) != before  # a rule with more occurrences is fine
