"""Task tools (VTODO) through a real MCP client, each test against Radicale and Xandikos.

The seeded account has the default calendar (events and tasks) and a task-only list
"Tasks" made with MKCALENDAR, as mailbox.org keeps tasks apart. The user's zone is
Europe/Berlin. What a write did is checked in the raw VTODO on the server.

Two update_task calls on one task at once: each reads the task and writes it back with
If-Match on the ETag it read, so either they run one after the other and both changes
stay, or one wins and the other is refused as a Conflict (HTTP 412, or 423 where Xandikos
is still saving the first); never is a change lost, and the refused one is not retried:
the model reads the task again and decides.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import pytest

from tests.calendar_calls import call
from tests.faults.proxy import FaultProxy
from tests.mcp_client import error_text, mcp_session, text_of
from tests.server_env import Servers, Shared, module_calendar_server
from tests.servers.dav import DavAccount, DavServer
from tests.servers.dovecot import Account
from workers.dav.todo_ids import parse_task_id

FAMILIES = ("tasks", "calendar")
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]

TASK_LIST = "Tasks"


def todo(uid: str, *lines: str) -> str:
    """One calendar object holding one VTODO with ``lines`` inside."""
    body = ["BEGIN:VTODO", f"UID:{uid}", "DTSTAMP:20260101T000000Z", *lines, "END:VTODO"]
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//tests//EN"]
    return "\r\n".join([*head, *body, "END:VCALENDAR"]) + "\r\n"


SEEDED = {
    "seed-overdue": todo(
        "seed-overdue", "SUMMARY:File the report", "DUE;VALUE=DATE:20200110", "PRIORITY:1"
    ),
    "seed-passport": todo(
        "seed-passport", "SUMMARY:Renew passport", "DUE:20300301T090000Z", "PRIORITY:5"
    ),
    "seed-someday": todo("seed-someday", "SUMMARY:Learn the cello", "PRIORITY:9"),
    "seed-backwards": todo(
        "seed-backwards",
        "SUMMARY:Backwards task",
        "DTSTART;VALUE=DATE:20300510",
        "DUE;VALUE=DATE:20300501",
        "PRIORITY:42",
    ),
    "seed-far": todo("seed-far", "SUMMARY:Far future", "DUE;VALUE=DATE:99991231"),
    "seed-absurd": todo(
        "seed-absurd",
        "SUMMARY:Absurd rule",
        "DTSTART:19700101T000000Z",
        "DUE:19700101T000001Z",
        "RRULE:FREQ=SECONDLY",
    ),
    "seed-done": todo(
        "seed-done",
        "SUMMARY:Already done",
        "DUE;VALUE=DATE:20260105",
        "STATUS:COMPLETED",
        "COMPLETED:20260104T120000Z",
        "PERCENT-COMPLETE:100",
    ),
}
EVENT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\nUID:seed-event\r\n"
    "DTSTAMP:20260101T000000Z\r\nDTSTART:20300302T090000Z\r\nDTEND:20300302T100000Z\r\n"
    "SUMMARY:Team meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def make_calendar(
    server: DavServer, login: DavAccount, slug: str, name: str, component: str = "VTODO"
) -> str:
    """A collection ``name`` at ``slug/`` in the user's home that holds only ``component``
    objects; its path."""
    path = f"{server.home_path(login)}{slug}/"
    body = f"""<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop>
    <D:displayname>{name}</D:displayname>
    <C:supported-calendar-component-set><C:comp name="{component}"/></C:supported-calendar-component-set>
  </D:prop></D:set>
</C:mkcalendar>"""
    status, answer = server.request(login, "MKCALENDAR", path, body)
    assert status == 201, (status, answer[:300])
    return path


def make_task_list(server: DavServer, login: DavAccount) -> str:
    """A task-only collection "Tasks" in the user's home; its path."""
    return make_calendar(server, login, "tasks", TASK_LIST)


def put(server: DavServer, login: DavAccount, path: str, name: str, ics: str) -> None:
    status, answer = server.request(
        login, "PUT", f"{path}{name}", ics, {"Content-Type": "text/calendar; charset=utf-8"}
    )
    assert status in (201, 204), (status, answer[:300])


def seed(server: DavServer, login: DavAccount) -> None:
    tasks = make_task_list(server, login)
    for name, ics in SEEDED.items():
        put(server, login, tasks, f"{name}.ics", ics)
    server.put_object(login, "seed-event.ics", EVENT)


shared = module_calendar_server(seed, FAMILIES)


def login_of(servers: Servers, shared: Shared) -> tuple[DavServer, DavAccount]:
    server = servers.dav[shared.calendar]
    return server, DavAccount(shared.account.email, shared.account.password, server.url)


def raw(servers: Servers, shared: Shared, task_id: str) -> str:
    """The task's object as the server holds it, lines unfolded."""
    server, login = login_of(servers, shared)
    status, body = server.request(login, "GET", parse_task_id(task_id).href)
    assert status == 200, status
    return body.decode().replace("\r\n ", "").replace("\r\n", "\n")


async def tasks(session: Any, **args: Any) -> list[dict[str, Any]]:
    return list((await call(session, "list_tasks", limit=500, **args))["tasks"])


async def by_summary(session: Any, summary: str, **args: Any) -> dict[str, Any]:
    (found,) = [t for t in await tasks(session, **args) if t["summary"] == summary]
    return found


async def create(session: Any, summary: str, **args: Any) -> dict[str, Any]:
    return dict(await call(session, "create_task", summary=summary, **args))


# -- reading --------------------------------------------------------------------------


async def test_list_calendars_says_which_collections_hold_tasks(shared: Shared) -> None:
    answer = await shared.session.call_tool("list_calendars", {})
    line = next(x for x in text_of(answer).splitlines() if x.startswith(f"- {TASK_LIST}:"))
    assert "VTODO" in line and "task list" in line
    listed = {c["name"]: c["components"] for c in answer.structured_content["calendars"]}
    assert listed[TASK_LIST] == ["VTODO"]


async def test_open_tasks_come_overdue_first_then_by_due_date_and_undated_last(
    shared: Shared,
) -> None:
    seeded = {"File the report", "Renew passport", "Learn the cello", "Far future"}
    found = [t for t in await tasks(shared.session, task_list=TASK_LIST) if t["summary"] in seeded]
    assert [t["summary"] for t in found] == [
        "File the report",
        "Renew passport",
        "Far future",
        "Learn the cello",
    ]
    report, passport, far, cello = found
    assert report["overdue"] is True and report["due"] == "2020-01-10"
    assert passport["due"] == "2030-03-01T10:00:00+01:00" and not passport["overdue"]
    assert far["due"] == "9999-12-31" and cello["due"] is None
    assert [t["priority"] for t in found] == ["high", "medium", None, "low"]


async def test_hostile_tasks_are_listed_with_notes_never_a_failure(shared: Shared) -> None:
    answer = await call(shared.session, "list_tasks", task_list=TASK_LIST, limit=500)
    names = {t["summary"]: t for t in answer["tasks"]}
    assert names["Backwards task"]["priority"] is None
    assert names["Absurd rule"]["recurring"] is True
    notes = " ".join(answer["notes"])
    assert "'Backwards task' is due before it starts" in notes
    assert "priority that means nothing (42)" in notes


async def test_completed_tasks_are_listed_only_when_asked_for(shared: Shared) -> None:
    assert "Already done" not in {t["summary"] for t in await tasks(shared.session)}
    done = await by_summary(shared.session, "Already done", include_completed=True)
    assert done["status"] == "COMPLETED" and done["percent_complete"] == 100
    assert done["completed"] == "2026-01-04T13:00:00+01:00"


async def test_due_before_and_query_narrow_the_list(shared: Shared) -> None:
    due_soon = {t["summary"] for t in await tasks(shared.session, due_before="2030-03-02")}
    assert {"File the report", "Renew passport"} <= due_soon
    assert not {"Learn the cello", "Far future"} & due_soon
    found = await tasks(shared.session, query="PASSPORT renew")
    assert [t["summary"] for t in found] == ["Renew passport"]


async def test_the_text_answer_shows_overdue_and_the_fenced_task_words(shared: Shared) -> None:
    text = text_of(await shared.session.call_tool("list_tasks", {"task_list": TASK_LIST}))
    row = next(line for line in text.splitlines() if "File the report" in line)
    assert row.startswith("- due 2020-01-10 | OVERDUE |") and "high priority" in row
    assert "<<<EXTERNAL CONTENT from the task lists" in text


# -- writing --------------------------------------------------------------------------


async def test_a_new_task_goes_to_the_task_only_list_with_everything_given(
    servers: Servers, shared: Shared
) -> None:
    written = await create(
        shared.session,
        "Pay the rent",
        due="2030-04-01T18:00",
        priority="high",
        categories=["home", "money"],
        description="Transfer to the landlord.",
        reminder_minutes=60,
    )
    assert written["task_list"] == TASK_LIST and written["due"] == "2030-04-01T18:00:00+02:00"
    listed = await by_summary(shared.session, "Pay the rent")
    assert listed["id"] == written["id"] and listed["categories"] == ["home", "money"]
    stored = raw(servers, shared, written["id"])
    assert "DUE;TZID=Europe/Berlin:20300401T180000" in stored and "PRIORITY:1" in stored
    assert "TRIGGER;RELATED=END:-PT1H" in stored and "STATUS:NEEDS-ACTION" in stored


async def test_completing_a_task_sets_status_completed_time_and_percent(
    servers: Servers, shared: Shared
) -> None:
    written = await create(shared.session, "Post the letter", due="2030-05-02")
    done = await call(shared.session, "update_task", id=written["id"], completed=True)
    assert done["status"] == "COMPLETED"
    stored = raw(servers, shared, written["id"])
    assert "STATUS:COMPLETED" in stored and "PERCENT-COMPLETE:100" in stored
    assert any(x.startswith("COMPLETED:") and x.endswith("Z") for x in stored.splitlines())
    assert "Post the letter" not in {t["summary"] for t in await tasks(shared.session)}


async def test_reopening_a_completed_task_makes_it_open_again(
    servers: Servers, shared: Shared
) -> None:
    written = await create(shared.session, "Call the bank")
    await call(shared.session, "update_task", id=written["id"], completed=True)
    reopened = await call(shared.session, "update_task", id=written["id"], completed=False)
    assert reopened["status"] == "NEEDS-ACTION"
    stored = raw(servers, shared, written["id"])
    assert "STATUS:NEEDS-ACTION" in stored and "PERCENT-COMPLETE" not in stored
    assert not any(x.startswith("COMPLETED:") for x in stored.splitlines())
    assert (await by_summary(shared.session, "Call the bank"))["status"] == "NEEDS-ACTION"


async def test_a_repeating_task_completed_twice_moves_on_each_time_and_stays_open(
    servers: Servers, shared: Shared
) -> None:
    written = await create(
        shared.session, "Water the plants", due="2030-01-07", recurrence="FREQ=WEEKLY;COUNT=5"
    )
    current = written["id"]
    for next_due in ("2030-01-14", "2030-01-21"):
        moved = await call(shared.session, "update_task", id=current, completed=True)
        assert moved["status"] == "NEEDS-ACTION" and moved["due"] == next_due
        assert any(next_due in note for note in moved["notes"])
        current = moved["id"]  # names the occurrence it is at now
    series = await by_summary(shared.session, "Water the plants")
    assert series["id"] == current and series["due"] == "2030-01-21"
    assert series["recurring"] is True and series["rule"] == "FREQ=WEEKLY;COUNT=3"
    stored = raw(servers, shared, written["id"])
    assert "STATUS:NEEDS-ACTION" in stored and "COMPLETED:" not in stored
    everything = await tasks(shared.session, include_completed=True, query="water plants")
    records = [t for t in everything if t["status"] == "COMPLETED"]
    assert sorted(t["due"] for t in records) == ["2030-01-07", "2030-01-14"]
    assert all(not t["recurring"] and t["percent_complete"] == 100 for t in records)
    uid = parse_task_id(written["id"]).uid
    assert f"RELATED-TO;RELTYPE=SIBLING:{uid}" in raw(servers, shared, records[0]["id"])


async def test_an_update_changes_only_what_it_names_and_keeps_unknown_properties(
    servers: Servers, shared: Shared
) -> None:
    server, login = login_of(servers, shared)
    calendar_path = server.calendar_path(login)
    put(
        server,
        login,
        calendar_path,
        "keeps-x.ics",
        todo(
            "keeps-x",
            "SUMMARY:Keep my extras",
            "X-APPLE-SORT-ORDER:42",
            "X-OTHER-CLIENT;X-PARAM=1:kept",
            "ATTACH:https://example.org/plan.pdf",
            "DUE;VALUE=DATE:20300610",
        ),
    )
    found = await by_summary(shared.session, "Keep my extras")
    await call(shared.session, "update_task", id=found["id"], summary="Kept my extras")
    stored = raw(servers, shared, found["id"])
    assert "SUMMARY:Kept my extras" in stored and "DUE;VALUE=DATE:20300610" in stored
    assert "X-APPLE-SORT-ORDER:42" in stored and "X-OTHER-CLIENT;X-PARAM=1:kept" in stored
    assert "ATTACH:https://example.org/plan.pdf" in stored


async def test_null_removes_a_field_and_leaving_it_out_keeps_it(shared: Shared) -> None:
    written = await create(
        shared.session, "Sort the photos", due="2030-07-01", priority="low", categories=["home"]
    )
    await call(shared.session, "update_task", id=written["id"], due=None, priority="medium")
    found = await by_summary(shared.session, "Sort the photos")
    assert found["due"] is None and found["priority"] == "medium"
    assert found["categories"] == ["home"]


async def test_a_deleted_task_is_gone_and_deleting_it_again_says_so(shared: Shared) -> None:
    written = await create(shared.session, "Throw away")
    deleted = await call(shared.session, "delete_task", id=written["id"])
    assert deleted == {"deleted": True, "id": written["id"]}
    assert "Throw away" not in {t["summary"] for t in await tasks(shared.session)}
    again = error_text(await shared.session.call_tool("delete_task", {"id": written["id"]}))
    assert again == "That task is no longer in its list; look it up again with list_tasks."


async def test_two_updates_at_once_lose_no_change(servers: Servers, shared: Shared) -> None:
    written = await create(shared.session, "Plan the trip")
    answers: list[Any] = []

    async def update(**change: Any) -> None:
        answers.append(
            (change, await shared.session.call_tool("update_task", {"id": written["id"], **change}))
        )

    async with anyio.create_task_group() as group:
        group.start_soon(lambda: update(priority="high"))
        group.start_soon(lambda: update(categories=["travel"]))
    stored = raw(servers, shared, written["id"])
    applied = [change for change, answer in answers if not answer.is_error]
    assert applied, [text_of(a) for _c, a in answers]
    for change, answer in answers:
        if answer.is_error:
            # A conflict, or (Xandikos, when the two writes collide) a failure to look up.
            assert "look it up again" in text_of(answer), text_of(answer)
        elif "priority" in change:
            assert "PRIORITY:1" in stored
        else:
            assert "CATEGORIES:travel" in stored


# -- wrong calls: one sentence, nothing changed --------------------------------------------


async def test_wrong_calls_are_refused_in_one_sentence_and_change_nothing(
    shared: Shared,
) -> None:
    before = await tasks(shared.session, include_completed=True)
    (event,) = (
        await call(shared.session, "get_calendar_events", start="2030-03-02", end="2030-03-02")
    )["events"]
    task = next(t for t in before if t["summary"] == "Renew passport")
    wrong = {
        ("update_task", "id", event["id"]): "That is an event id, not a task id;",
        ("delete_task", "id", event["id"]): "That is an event id, not a task id;",
        ("update_task", "id", "td_forged"): "'td_forged' is not a task id;",
        ("update_task", "id", task["id"] + ".x"): "is not a task id;",
        ("list_tasks", "due_before", "next tuesday"): "due_before must be an ISO 8601 date",
        ("create_task", "due", "9999-12-31"): "due must lie between 0001-01-02 and 9999-12-30",
        ("list_tasks", "task_list", "Calendarx"): "There is no task list 'Calendarx';",
        ("create_task", "recurrence", "FREQ=FORTNIGHTLY"): "is not a recurrence rule",
    }
    for (tool, name, value), expected in wrong.items():
        args: dict[str, Any] = {name: value}
        if tool == "create_task":
            args |= {"summary": "Never"} | ({"due": "2030-01-01"} if name != "due" else {})
        if tool == "update_task":
            args["completed"] = True
        text = error_text(await shared.session.call_tool(tool, args))
        assert expected in text, (tool, text)
        assert "unexpectedly" not in text and "\n" not in text
    text = error_text(await shared.session.call_tool("update_event", {"id": task["id"]}))
    assert text.startswith("That is a task id, not an event id;") and "update_task" in text
    text = error_text(await shared.session.call_tool("update_task", {"id": task["id"]}))
    assert text.startswith("Nothing to change")
    assert await tasks(shared.session, include_completed=True) == before


async def test_due_before_start_is_refused_on_create(shared: Shared) -> None:
    answer = await shared.session.call_tool(
        "create_task", {"summary": "Backwards", "start": "2030-02-02", "due": "2030-02-01"}
    )
    assert error_text(answer) == "due must not be earlier than start."
    assert "Backwards" not in {t["summary"] for t in await tasks(shared.session)}


# -- a change made elsewhere meanwhile --------------------------------------------------


@pytest.fixture
def slow_dav(dav_server: DavServer) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", dav_server.port) as proxy:
        yield proxy


LATENCY = 2.0  # seconds each way through the proxy: the gap between our read and our write


async def our_read_arrived(server: DavServer, path: str, reads_before: int) -> None:
    """Returns once the task's GET of the update reached the server, before its PUT can.

    Radicale logs each request (and opens a connection for each, so the PUT comes at
    least two TLS handshakes later); Xandikos logs none but keeps the connection open:
    its GET arrives one latency after the call, the PUT three."""
    if server.name != "radicale":
        await anyio.sleep(2 * LATENCY)
        return
    with anyio.fail_after(60):
        while server.log.count(f"GET request for '{path}'") <= reads_before:
            await anyio.sleep(0.05)


async def test_a_task_changed_elsewhere_during_an_update_is_a_conflict_never_overwritten(
    server_env: dict[str, str],
    servers: Servers,
    dav_server: DavServer,
    account: Account,
    slow_dav: FaultProxy,
    tmp_path: Path,
) -> None:
    login = DavAccount(account.email, account.password, servers.dav_login(dav_server, account))
    dav_server.put_object(login, "theirs.ics", todo("theirs", "SUMMARY:Ours to read"))
    path = f"{dav_server.calendar_path(login)}theirs.ics"
    url = urlsplit(server_env["MAILBOX_CALDAV_URL"])
    env = {
        **server_env,
        "MAILBOX_CALDAV_URL": urlunsplit(url._replace(netloc=f"localhost:{slow_dav.port}")),
        "MAILBOX_TOOLS": "tasks",
        "MAILBOX_CALL_TIMEOUT": "120",
    }
    theirs = todo("theirs", "SUMMARY:Changed by the phone", "X-PHONE:1")
    async with mcp_session(env, tmp_path / "err.log") as session:
        found = await by_summary(session, "Ours to read")
        reads_before = dav_server.log.count(f"GET request for '{path}'")
        slow_dav.add_latency(LATENCY)
        answers = []

        async def update() -> None:
            answers.append(
                await session.call_tool("update_task", {"id": found["id"], "summary": "Ours"})
            )

        async with anyio.create_task_group() as group:
            group.start_soon(update)
            await our_read_arrived(dav_server, path, reads_before)
            dav_server.put_object(login, "theirs.ics", theirs)
        slow_dav.pass_through()
    assert "The task was changed elsewhere since it was read" in error_text(answers[0])
    _status, body = dav_server.request(login, "GET", path)
    assert "SUMMARY:Changed by the phone" in body.decode() and "X-PHONE:1" in body.decode()
