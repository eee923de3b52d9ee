"""Attacks on the task tools through the real MCP client, as a model misusing them would.

Each test is one behaviour the tasks family promises (issue 21): an id names one object
of its own list and nothing else; a refused call is one sentence of ours and changes
nothing on the server (the raw object is read back to check); a hostile VTODO another
client stored is listed, never a failure; completing a task twice, or a repeating one
from two calls at once, never loses or skips what the user meant. Both CalDAV servers.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
from collections.abc import Iterator
from typing import Any

import anyio
import msgspec
import pytest

from tests.calendar_calls import call
from tests.e2e.test_tasks import make_task_list, put, todo
from tests.mcp_client import error_text, mcp_session, text_of
from tests.server_env import Servers, Shared, module_calendar_server
from tests.servers.dav import DavAccount, DavServer, RadicaleServer
from workers.dav.todo_ids import parse_task_id

FAMILIES = ("tasks", "calendar")
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]

EVENTS_ONLY = "Events only"
_MKCALENDAR_EVENTS = f"""<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop>
    <D:displayname>{EVENTS_ONLY}</D:displayname>
    <C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
  </D:prop></D:set>
</C:mkcalendar>"""

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
    status, answer = server.request(
        login, "MKCALENDAR", f"{server.home_path(login)}events-only/", _MKCALENDAR_EVENTS
    )
    assert status == 201, (status, answer[:300])
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
        crowd = f"{server.home_path(login)}crowd/"
        body = _MKCALENDAR_EVENTS.replace("VEVENT", "VTODO").replace(EVENTS_ONLY, "Crowd")
        assert server.request(login, "MKCALENDAR", crowd, body)[0] == 201
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


def stored_on(shared: Shared, name: str) -> None:
    if (shared.dav.name, name) not in STORED:
        pytest.skip(f"{shared.dav.name} refuses the object {name!r} itself")


shared = module_calendar_server(seed, FAMILIES)


# -- helpers ----------------------------------------------------------------------------


def login_of(shared: Shared) -> tuple[DavServer, DavAccount]:
    return shared.dav, shared.dav_login()


def get(shared: Shared, path: str) -> tuple[int, str]:
    server, login = login_of(shared)
    status, body = server.request(login, "GET", path)
    return status, body.decode("utf-8", "replace").replace("\r\n ", "").replace("\r\n", "\n")


def raw(shared: Shared, task_id: str) -> str:
    status, body = get(shared, parse_task_id(task_id).href)
    assert status == 200, status
    return body


def new_list(shared: Shared, name: str) -> str:
    """A task list of its own (path), with one task 'victim' in it."""
    server, login = login_of(shared)
    path = f"{server.home_path(login)}{name}/"
    body = _MKCALENDAR_EVENTS.replace("VEVENT", "VTODO").replace(EVENTS_ONLY, name)
    status, answer = server.request(login, "MKCALENDAR", path, body)
    assert status == 201, (status, answer[:300])
    put(server, login, path, "victim.ics", todo("victim", "SUMMARY:Victim"))
    return path


def forged(prefix: str, calendar: str, href: str, uid: str | None) -> str:
    """An id as workers.dav.ids writes one, naming whatever the attacker likes."""
    raw_id = msgspec.msgpack.encode([calendar, href.removeprefix(calendar), uid, ""])
    return prefix + base64.urlsafe_b64encode(raw_id).decode().rstrip("=")


def plain_sentence(text: str) -> None:
    """One sentence of ours: no library repr, no server bytes, no 'unexpectedly'."""
    assert "unexpectedly" not in text and "\n" not in text, text
    assert not re.search(r"Traceback|Error\(|<[a-z]+:|HTTP/1|BEGIN:V", text), text
    assert len(text) < 400, text


async def refused(session: Any, tool: str, **args: Any) -> str:
    text = error_text(await session.call_tool(tool, args))
    plain_sentence(text)
    return text


async def tasks(session: Any, **args: Any) -> list[dict[str, Any]]:
    return list((await call(session, "list_tasks", limit=500, **args))["tasks"])


async def by_summary(session: Any, summary: str, **args: Any) -> dict[str, Any]:
    args.setdefault("query", summary)  # past the thousand tasks of the list "Crowd"
    (found,) = [t for t in await tasks(session, **args) if t["summary"] == summary]
    return found


def restarts(shared: Shared) -> int:
    """How often a worker was started after the first time (a crash, or a hang)."""
    return (shared.folder / "err.log").read_text().count("worker.ready") - 1


# -- ids that would leave their object --------------------------------------------------


@pytest.mark.parametrize("name", ["#x", "?x", "%2e", "%2E%2e", "sub%2fvictim.ics"])
async def test_a_forged_task_id_naming_the_list_itself_changes_nothing(
    shared: Shared, name: str
) -> None:
    path = new_list(shared, "victims-" + name.encode().hex())
    before = get(shared, f"{path}victim.ics")
    for tool, args in (("update_task", {"summary": "Hacked"}), ("delete_task", {})):
        task = forged("td_", path, path + name, "victim")
        text = await refused(shared.session, tool, id=task, **args)
        assert "task id" in text, text
    assert get(shared, f"{path}victim.ics") == before
    assert get(shared, path)[0] in (200, 207, 405), "the list itself is still there"


@pytest.mark.parametrize("name", ["#x", "?x", "%2e"])
async def test_a_forged_event_id_naming_the_calendar_itself_changes_nothing(
    shared: Shared, name: str
) -> None:
    server, login = login_of(shared)
    calendar = server.calendar_path(login)
    event = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\nUID:ev-victim\r\n"
        "DTSTAMP:20260101T000000Z\r\nDTSTART:20300402T090000Z\r\nDTEND:20300402T100000Z\r\n"
        "SUMMARY:Event victim\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    server.put_object(login, "ev-victim.ics", event)
    before = get(shared, f"{calendar}ev-victim.ics")
    wrong = forged("ev_", calendar, calendar + name, "ev-victim")
    await refused(shared.session, "update_event", id=wrong, summary="Hacked")
    await refused(shared.session, "delete_event", id=wrong)
    assert get(shared, f"{calendar}ev-victim.ics") == before


async def test_a_task_id_of_another_users_list_is_one_sentence_and_reads_nothing(
    shared: Shared,
) -> None:
    other = "/someone-else@example.test/calendar/"
    wrong = forged("td_", other, other + "x.ics", "x")
    await refused(shared.session, "update_task", id=wrong, completed=True)
    await refused(shared.session, "delete_task", id=wrong)


async def test_ids_of_the_other_tools_are_refused_naming_the_right_tool(shared: Shared) -> None:
    for wrong in ("INBOX#1.1", "ct_" + "A" * 20, "td_../../etc", "td_" + "A" * 3000):
        text = await refused(shared.session, "update_task", id=wrong, completed=True)
        assert "not a task id" in text, text


# -- what the caller writes -------------------------------------------------------------


async def test_a_rule_that_ends_before_the_task_starts_is_refused_as_such(shared: Shared) -> None:
    text = await refused(
        shared.session,
        "create_task",
        summary="Never repeats",
        due="2030-01-05",
        recurrence="FREQ=DAILY;UNTIL=20200101",
    )
    assert "does not accept repeating tasks" not in text and "UNTIL" in text, text
    assert "Never repeats" not in {t["summary"] for t in await tasks(shared.session)}


async def test_a_rule_with_no_occurrence_at_all_is_refused(shared: Shared) -> None:
    text = await refused(
        shared.session,
        "create_task",
        summary="February thirtieth",
        due="2030-01-05",
        recurrence="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    )
    assert "does not accept repeating tasks" not in text, text
    assert "February thirtieth" not in {t["summary"] for t in await tasks(shared.session)}


async def test_a_rule_repeating_more_often_than_daily_is_refused_in_words_about_tasks(
    shared: Shared,
) -> None:
    text = await refused(
        shared.session, "create_task", summary="Often", due="2030-01-05", recurrence="FREQ=SECONDLY"
    )
    assert text.startswith("Tasks can repeat daily at most often"), text


async def test_a_description_with_a_nul_character_is_refused(shared: Shared) -> None:
    text = await refused(
        shared.session, "create_task", summary="Nul inside", description="before\x00after"
    )
    assert "NUL" in text, text
    assert "Nul inside" not in {t["summary"] for t in await tasks(shared.session)}


@pytest.mark.parametrize("field", ["summary", "categories"])
async def test_other_control_characters_are_refused_before_the_server_sees_them(
    shared: Shared, field: str
) -> None:
    # Xandikos refuses such data with HTTP 412, which read as "changed elsewhere".
    value: Any = "bell\x07" if field == "summary" else ["bell\x07"]
    args = {"summary": "Control chars", field: value}
    text = await refused(shared.session, "create_task", **args)
    assert "control characters" in text, text
    assert not [t for t in await tasks(shared.session) if t["summary"].startswith("bell")]


async def test_an_event_description_with_a_nul_character_is_refused(shared: Shared) -> None:
    text = await refused(
        shared.session,
        "create_event",
        summary="Nul event",
        start="2030-07-01T10:00",
        end="2030-07-01T11:00",
        description="before\x00after",
    )
    assert "NUL" in text, text


async def test_a_summary_cannot_inject_icalendar_lines(shared: Shared) -> None:
    text = await refused(
        shared.session, "create_task", summary="X\r\nBEGIN:VALARM", due="2030-01-01"
    )
    assert "line breaks" in text, text


async def test_categories_with_commas_and_semicolons_come_back_as_given(shared: Shared) -> None:
    names = ["a,b", "c;d", "e\\f"]
    written = await call(shared.session, "create_task", summary="Odd categories", categories=names)
    assert (await by_summary(shared.session, "Odd categories"))["categories"] == names
    assert "BEGIN:VALARM" not in raw(shared, written["id"])


async def test_a_new_task_is_not_put_into_an_event_only_calendar(shared: Shared) -> None:
    text = await refused(shared.session, "create_task", summary="Wrong list", task_list=EVENTS_ONLY)
    assert EVENTS_ONLY in text, text


# -- completing -------------------------------------------------------------------------


async def test_completing_a_completed_task_keeps_when_it_was_completed(shared: Shared) -> None:
    server, login = login_of(shared)
    tasks_path = f"{server.home_path(login)}tasks/"
    put(
        server,
        login,
        tasks_path,
        "done-before.ics",
        todo(
            "done-before",
            "SUMMARY:Done before",
            "STATUS:COMPLETED",
            "COMPLETED:20250104T120000Z",
            "PERCENT-COMPLETE:100",
        ),
    )
    found = await by_summary(shared.session, "Done before", include_completed=True)
    answer = await call(shared.session, "update_task", id=found["id"], completed=True)
    assert answer["status"] == "COMPLETED"
    assert "COMPLETED:20250104T120000Z" in raw(shared, found["id"])


async def test_completing_a_finished_repeating_series_again_records_no_new_occurrence(
    shared: Shared,
) -> None:
    server, login = login_of(shared)
    tasks_path = f"{server.home_path(login)}tasks/"
    put(
        server,
        login,
        tasks_path,
        "series-done.ics",
        todo(
            "series-done",
            "SUMMARY:Series done elsewhere",
            "DTSTART;VALUE=DATE:20300101",
            "DUE;VALUE=DATE:20300101",
            "RRULE:FREQ=WEEKLY",
            "STATUS:COMPLETED",
            "COMPLETED:20250104T120000Z",
        ),
    )
    found = await by_summary(shared.session, "Series done elsewhere", include_completed=True)
    await call(shared.session, "update_task", id=found["id"], completed=True)
    stored = raw(shared, found["id"])
    assert "DTSTART;VALUE=DATE:20300101" in stored and "COMPLETED:20250104T120000Z" in stored
    listed = await tasks(shared.session, include_completed=True, query="series done elsewhere")
    assert len(listed) == 1, listed


async def test_a_repeating_task_completed_from_two_calls_at_once_moves_on_once(
    shared: Shared,
) -> None:
    written = await call(
        shared.session,
        "create_task",
        summary="Feed the cat",
        due="2030-02-04",
        recurrence="FREQ=DAILY;COUNT=10",
    )
    answers: list[Any] = []

    async def complete() -> None:
        answers.append(
            await shared.session.call_tool("update_task", {"id": written["id"], "completed": True})
        )

    async with anyio.create_task_group() as group:
        group.start_soon(complete)
        group.start_soon(complete)
    for answer in answers:
        if answer.is_error:
            plain_sentence(text_of(answer))
    series = await by_summary(shared.session, "Feed the cat")
    records = [
        t
        for t in await tasks(shared.session, include_completed=True, query="feed cat")
        if t["status"] == "COMPLETED"
    ]
    assert series["due"] == "2030-02-05" and series["rule"] == "FREQ=DAILY;COUNT=9", series
    assert [r["due"] for r in records] == ["2030-02-04"], records


async def test_a_completion_retried_with_the_same_id_is_refused_and_changes_nothing(
    shared: Shared,
) -> None:
    written = await call(
        shared.session,
        "create_task",
        summary="Take the pill",
        due="2030-04-01",
        recurrence="FREQ=DAILY;COUNT=5",
    )
    moved = await call(shared.session, "update_task", id=written["id"], completed=True)
    after_first = raw(shared, written["id"])
    text = await refused(shared.session, "update_task", id=written["id"], completed=True)
    assert "already done" in text, text
    assert raw(shared, written["id"]) == after_first
    again = await call(shared.session, "update_task", id=moved["id"], completed=True)
    assert again["due"] == "2030-04-03"


async def test_reopening_a_repeating_series_keeps_its_rule_and_date(shared: Shared) -> None:
    written = await call(
        shared.session,
        "create_task",
        summary="Water the fern",
        due="2030-03-04",
        recurrence="FREQ=WEEKLY;COUNT=4",
    )
    await call(shared.session, "update_task", id=written["id"], completed=True)
    await call(shared.session, "update_task", id=written["id"], completed=False)
    series = await by_summary(shared.session, "Water the fern")
    assert series["due"] == "2030-03-11" and series["rule"] == "FREQ=WEEKLY;COUNT=3"
    assert series["status"] == "NEEDS-ACTION"


# -- parallel writes on one task ----------------------------------------------------------


async def test_an_update_and_a_delete_at_once_leave_no_half_written_task(shared: Shared) -> None:
    written = await call(shared.session, "create_task", summary="Contested", due="2030-05-05")
    answers: list[Any] = []

    async def run(tool: str, **args: Any) -> None:
        answers.append(await shared.session.call_tool(tool, {"id": written["id"], **args}))

    async with anyio.create_task_group() as group:
        group.start_soon(lambda: run("update_task", summary="Contested, renamed"))
        group.start_soon(lambda: run("delete_task"))
    for answer in answers:
        if answer.is_error:
            plain_sentence(text_of(answer))
    status, _body = get(shared, parse_task_id(written["id"]).href)
    assert status in (200, 404)
    assert restarts(shared) == 0


async def test_two_deletes_at_once_delete_once_and_the_other_says_it_is_gone(
    shared: Shared,
) -> None:
    written = await call(shared.session, "create_task", summary="Delete me twice")
    answers: list[Any] = []

    async def delete() -> None:
        answers.append(await shared.session.call_tool("delete_task", {"id": written["id"]}))

    async with anyio.create_task_group() as group:
        group.start_soon(delete)
        group.start_soon(delete)
    done = [a for a in answers if not a.is_error]
    assert len(done) == 1, [text_of(a) for a in answers]
    for answer in answers:
        if answer.is_error:
            plain_sentence(text_of(answer))
    assert get(shared, parse_task_id(written["id"]).href)[0] == 404


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
    assert restarts(shared) == 0


async def test_completing_a_task_whose_rule_ended_before_it_began_is_one_sentence(
    shared: Shared,
) -> None:
    stored_on(shared, "absurd-until")
    found = await by_summary(shared.session, "Absurd until")
    before = raw(shared, found["id"])
    answer = await shared.session.call_tool("update_task", {"id": found["id"], "completed": True})
    if answer.is_error:
        plain_sentence(text_of(answer))
        assert raw(shared, found["id"]) == before
    assert "unexpectedly" not in text_of(answer) and restarts(shared) == 0


async def test_a_broken_utf8_task_is_listed_with_replacement_characters(shared: Shared) -> None:
    server, login = login_of(shared)
    body = todo("broken-utf8", "SUMMARY:Broken \udcff bytes").encode("utf-8", "surrogateescape")
    status = _put_bytes(server, login, f"{server.home_path(login)}tasks/broken-utf8.ics", body)
    if status not in (201, 204):
        pytest.skip(f"{server.name} refuses broken UTF-8 itself (HTTP {status})")
    answer = await call(shared.session, "list_tasks", task_list="Tasks", limit=500)
    assert any(t["summary"].startswith("Broken") for t in answer["tasks"]), answer["notes"]


def _put_bytes(server: DavServer, login: DavAccount, path: str, body: bytes) -> int:
    connection = http.client.HTTPSConnection(
        "localhost", server.port, context=server.certificates.client_context(), timeout=60
    )
    token = base64.b64encode(f"{login.username}:{login.password}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Content-Type": "text/calendar"}
    try:
        connection.request("PUT", path, body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def radicale_only(shared: Shared) -> None:
    if not isinstance(shared.dav, RadicaleServer):
        pytest.skip("Xandikos cannot make a list read-only (every user has DAV:all)")


async def test_a_thousand_tasks_in_one_list_are_listed_in_pages(shared: Shared) -> None:
    radicale_only(shared)
    asked = {"task_list": "Crowd", "query": "crowd", "limit": 500}
    first = await call(shared.session, "list_tasks", **asked)
    assert first["total"] == CROWD and len(first["tasks"]) == 500
    rest = await call(shared.session, "list_tasks", **asked, cursor=first["next_cursor"])
    seen = {t["summary"] for t in first["tasks"] + rest["tasks"]}
    assert len(seen) == CROWD and rest["next_cursor"] is None


async def test_a_read_only_task_list_is_listed_and_writes_to_it_change_nothing(
    shared: Shared,
) -> None:
    radicale_only(shared)
    found = await by_summary(shared.session, "Theirs", task_list=SHARED_LIST)
    before = raw(shared, found["id"])
    await refused(shared.session, "create_task", summary="Mine", task_list=SHARED_LIST)
    text = await refused(shared.session, "update_task", id=found["id"], completed=True)
    assert "read-only" in text or "does not allow" in text, text
    await refused(shared.session, "delete_task", id=found["id"])
    assert raw(shared, found["id"]) == before


async def test_a_cursor_of_get_calendar_events_is_refused_by_list_tasks(shared: Shared) -> None:
    server, login = login_of(shared)
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
    text = await refused(shared.session, "list_tasks", cursor=page["next_cursor"])
    assert "cursor" in text, text


async def test_null_for_a_summary_is_refused_not_ignored(shared: Shared) -> None:
    written = await call(shared.session, "create_task", summary="Keeps its name")
    text = await refused(
        shared.session, "update_task", id=written["id"], summary=None, priority="high"
    )
    assert "summary" in text, text
    assert "PRIORITY" not in raw(shared, written["id"])


async def test_an_event_rule_that_ends_before_the_event_starts_is_refused_as_such(
    shared: Shared,
) -> None:
    text = await refused(
        shared.session,
        "create_event",
        summary="Never again",
        start="2030-01-05T10:00",
        end="2030-01-05T11:00",
        rrule="FREQ=DAILY;UNTIL=20200101",
    )
    assert "UNTIL" in text, text


# -- read-only mode ---------------------------------------------------------------------


@pytest.fixture
def read_only_env(servers: Servers, shared: Shared) -> Iterator[dict[str, str]]:
    env = servers.env(shared.account, shared.folder / "ro", FAMILIES, shared.calendar)
    yield env | {"MAILBOX_READ_ONLY": "1"}


async def test_read_only_mode_lists_no_task_writer_and_refuses_a_call_to_one(
    shared: Shared, read_only_env: dict[str, str]
) -> None:
    (shared.folder / "ro").mkdir(exist_ok=True)
    found = await by_summary(shared.session, "Nothing due")
    before = raw(shared, found["id"])
    async with mcp_session(read_only_env, shared.folder / "ro" / "err.log") as session:
        names = {t.name for t in (await session.list_tools()).tools}
        text = await refused(session, "update_task", id=found["id"], completed=True)
        await refused(session, "delete_task", id=found["id"])
    assert "list_tasks" in names
    assert not {"create_task", "update_task", "delete_task"} & names
    assert "update_task" in text
    assert raw(shared, found["id"]) == before
