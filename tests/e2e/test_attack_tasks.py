"""Attacks on the task tools through the real MCP client, as a model misusing them would.

Each test is one behaviour the tasks family promises (issue 21): an id names one object
of its own list and nothing else; a refused call is one sentence of ours and changes
nothing on the server (the raw object is read back to check); completing a task twice, or a repeating one
from two calls at once, never loses or skips what the user meant. Both CalDAV servers.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import task_attacks
from tests.calendar_calls import call
from tests.e2e.test_tasks import create, make_calendar, make_task_list
from tests.mcp_client import text_of
from tests.server_env import Shared, module_calendar_server
from tests.servers.dav import DavAccount, DavServer
from workers.dav.todo_ids import parse_task_id

FAMILIES = ("tasks", "calendar")
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]


def seed(server: DavServer, login: DavAccount) -> None:
    make_task_list(server, login)
    make_calendar(server, login, "events-only", task_attacks.EVENTS_ONLY, "VEVENT")


shared = module_calendar_server(seed, FAMILIES)


async def refused_repeating(shared: Shared, summary: str, recurrence: str) -> str:
    """The refusal of a new task due on 2030-01-05 that repeats by ``recurrence``."""
    args = {"summary": summary, "due": "2030-01-05", "recurrence": recurrence}
    return await task_attacks.refused(shared.session, "create_task", **args)


async def refused_event(shared: Shared, summary: str, **args: str) -> str:
    """The refusal of a new hour-long event on 2030-01-05 with ``args``."""
    hour = {"start": "2030-01-05T10:00", "end": "2030-01-05T11:00"}
    return await task_attacks.refused(
        shared.session, "create_event", summary=summary, **hour, **args
    )


# -- ids that would leave their object --------------------------------------------------


@pytest.mark.parametrize("name", ["#x", "?x", "%2e", "%2E%2e", "sub%2fvictim.ics"])
async def test_a_forged_task_id_naming_the_list_itself_changes_nothing(
    shared: Shared, name: str
) -> None:
    path = task_attacks.new_list(shared, "victims-" + name.encode().hex())
    before = task_attacks.get(shared, f"{path}victim.ics")
    for tool, args in (("update_task", {"summary": "Hacked"}), ("delete_task", {})):
        task = task_attacks.forged("td_", path, path + name, "victim")
        text = await task_attacks.refused(shared.session, tool, id=task, **args)
        assert "task id" in text, text
    assert task_attacks.get(shared, f"{path}victim.ics") == before
    assert task_attacks.get(shared, path)[0] in (200, 207, 405), "the list itself is still there"


@pytest.mark.parametrize("name", ["#x", "?x", "%2e"])
async def test_a_forged_event_id_naming_the_calendar_itself_changes_nothing(
    shared: Shared, name: str
) -> None:
    server, login = task_attacks.login_of(shared)
    calendar = server.calendar_path(login)
    event = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\nUID:ev-victim\r\n"
        "DTSTAMP:20260101T000000Z\r\nDTSTART:20300402T090000Z\r\nDTEND:20300402T100000Z\r\n"
        "SUMMARY:Event victim\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    server.put_object(login, "ev-victim.ics", event)
    before = task_attacks.get(shared, f"{calendar}ev-victim.ics")
    wrong = task_attacks.forged("ev_", calendar, calendar + name, "ev-victim")
    await task_attacks.refused(shared.session, "update_event", id=wrong, summary="Hacked")
    await task_attacks.refused(shared.session, "delete_event", id=wrong)
    assert task_attacks.get(shared, f"{calendar}ev-victim.ics") == before


async def test_a_task_id_of_another_users_list_is_one_sentence_and_reads_nothing(
    shared: Shared,
) -> None:
    other = "/someone-else@example.test/calendar/"
    wrong = task_attacks.forged("td_", other, other + "x.ics", "x")
    await task_attacks.refused(shared.session, "update_task", id=wrong, completed=True)
    await task_attacks.refused(shared.session, "delete_task", id=wrong)


async def test_ids_of_the_other_tools_are_refused_naming_the_right_tool(shared: Shared) -> None:
    for wrong in ("INBOX#1.1", "ct_" + "A" * 20, "td_../../etc", "td_" + "A" * 3000):
        text = await task_attacks.refused(shared.session, "update_task", id=wrong, completed=True)
        assert "not a task id" in text, text


# -- what the caller writes -------------------------------------------------------------


async def test_a_rule_that_ends_before_the_task_starts_is_refused_as_such(shared: Shared) -> None:
    text = await refused_repeating(shared, "Never repeats", "FREQ=DAILY;UNTIL=20200101")
    assert "does not accept repeating tasks" not in text and "UNTIL" in text, text
    assert "Never repeats" not in await task_attacks.summaries(shared.session)


async def test_a_rule_with_no_occurrence_at_all_is_refused(shared: Shared) -> None:
    text = await refused_repeating(
        shared, "February thirtieth", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"
    )
    assert "does not accept repeating tasks" not in text, text
    assert "February thirtieth" not in await task_attacks.summaries(shared.session)


async def test_a_rule_repeating_more_often_than_daily_is_refused_in_words_about_tasks(
    shared: Shared,
) -> None:
    text = await refused_repeating(shared, "Often", "FREQ=SECONDLY")
    assert text.startswith("Tasks can repeat daily at most often"), text


async def test_a_description_with_a_nul_character_is_refused(shared: Shared) -> None:
    text = await task_attacks.refused(
        shared.session, "create_task", summary="Nul inside", description="before\x00after"
    )
    assert "NUL" in text, text
    assert "Nul inside" not in await task_attacks.summaries(shared.session)


@pytest.mark.parametrize("field", ["summary", "categories"])
async def test_other_control_characters_are_refused_before_the_server_sees_them(
    shared: Shared, field: str
) -> None:
    # Xandikos refuses such data with HTTP 412, which read as "changed elsewhere".
    value: Any = "bell\x07" if field == "summary" else ["bell\x07"]
    args = {"summary": "Control chars", field: value}
    text = await task_attacks.refused(shared.session, "create_task", **args)
    assert "control characters" in text, text
    assert not [
        t for t in await task_attacks.tasks(shared.session) if t["summary"].startswith("bell")
    ]


async def test_an_event_description_with_a_nul_character_is_refused(shared: Shared) -> None:
    text = await refused_event(shared, "Nul event", description="before\x00after")
    assert "NUL" in text, text


async def test_a_summary_cannot_inject_icalendar_lines(shared: Shared) -> None:
    text = await task_attacks.refused(
        shared.session, "create_task", summary="X\r\nBEGIN:VALARM", due="2030-01-01"
    )
    assert "line breaks" in text, text


async def test_categories_with_commas_and_semicolons_come_back_as_given(shared: Shared) -> None:
    names = ["a,b", "c;d", "e\\f"]
    written = await call(shared.session, "create_task", summary="Odd categories", categories=names)
    assert (await task_attacks.by_summary(shared.session, "Odd categories"))["categories"] == names
    assert "BEGIN:VALARM" not in task_attacks.raw(shared, written["id"])


async def test_a_new_task_is_not_put_into_an_event_only_calendar(shared: Shared) -> None:
    text = await task_attacks.refused(
        shared.session, "create_task", summary="Wrong list", task_list=task_attacks.EVENTS_ONLY
    )
    assert task_attacks.EVENTS_ONLY in text, text


# -- completing -------------------------------------------------------------------------


async def test_completing_a_completed_task_keeps_when_it_was_completed(shared: Shared) -> None:
    task_attacks.put_task(
        shared,
        "done-before",
        "SUMMARY:Done before",
        "STATUS:COMPLETED",
        "COMPLETED:20250104T120000Z",
        "PERCENT-COMPLETE:100",
    )
    found = await task_attacks.by_summary(shared.session, "Done before", include_completed=True)
    answer = await call(shared.session, "update_task", id=found["id"], completed=True)
    assert answer["status"] == "COMPLETED"
    assert "COMPLETED:20250104T120000Z" in task_attacks.raw(shared, found["id"])


async def test_completing_a_finished_repeating_series_again_records_no_new_occurrence(
    shared: Shared,
) -> None:
    task_attacks.put_task(
        shared,
        "series-done",
        "SUMMARY:Series done elsewhere",
        "DTSTART;VALUE=DATE:20300101",
        "DUE;VALUE=DATE:20300101",
        "RRULE:FREQ=WEEKLY",
        "STATUS:COMPLETED",
        "COMPLETED:20250104T120000Z",
    )
    found = await task_attacks.by_summary(
        shared.session, "Series done elsewhere", include_completed=True
    )
    await call(shared.session, "update_task", id=found["id"], completed=True)
    stored = task_attacks.raw(shared, found["id"])
    assert "DTSTART;VALUE=DATE:20300101" in stored and "COMPLETED:20250104T120000Z" in stored
    listed = await task_attacks.tasks(
        shared.session, include_completed=True, query="series done elsewhere"
    )
    assert len(listed) == 1, listed


async def test_a_repeating_task_completed_from_two_calls_at_once_moves_on_once(
    shared: Shared,
) -> None:
    written = await create(
        shared.session, "Feed the cat", due="2030-02-04", recurrence="FREQ=DAILY;COUNT=10"
    )
    completion = ("update_task", {"id": written["id"], "completed": True})
    await task_attacks.at_once(shared.session, completion, completion)
    series = await task_attacks.by_summary(shared.session, "Feed the cat")
    records = [
        t
        for t in await task_attacks.tasks(shared.session, include_completed=True, query="feed cat")
        if t["status"] == "COMPLETED"
    ]
    assert series["due"] == "2030-02-05" and series["rule"] == "FREQ=DAILY;COUNT=9", series
    assert [r["due"] for r in records] == ["2030-02-04"], records


async def test_a_completion_retried_with_the_same_id_is_refused_and_changes_nothing(
    shared: Shared,
) -> None:
    written = await create(
        shared.session, "Take the pill", due="2030-04-01", recurrence="FREQ=DAILY;COUNT=5"
    )
    moved = await call(shared.session, "update_task", id=written["id"], completed=True)
    after_first = task_attacks.raw(shared, written["id"])
    text = await task_attacks.refused(
        shared.session, "update_task", id=written["id"], completed=True
    )
    assert "already done" in text, text
    assert task_attacks.raw(shared, written["id"]) == after_first
    again = await call(shared.session, "update_task", id=moved["id"], completed=True)
    assert again["due"] == "2030-04-03"


async def test_reopening_a_repeating_series_keeps_its_rule_and_date(shared: Shared) -> None:
    written = await create(
        shared.session, "Water the fern", due="2030-03-04", recurrence="FREQ=WEEKLY;COUNT=4"
    )
    await call(shared.session, "update_task", id=written["id"], completed=True)
    await call(shared.session, "update_task", id=written["id"], completed=False)
    series = await task_attacks.by_summary(shared.session, "Water the fern")
    assert series["due"] == "2030-03-11" and series["rule"] == "FREQ=WEEKLY;COUNT=3"
    assert series["status"] == "NEEDS-ACTION"


# -- parallel writes on one task ----------------------------------------------------------


async def test_an_update_and_a_delete_at_once_leave_no_half_written_task(shared: Shared) -> None:
    written = await create(shared.session, "Contested", due="2030-05-05")
    await task_attacks.at_once(
        shared.session,
        ("update_task", {"id": written["id"], "summary": "Contested, renamed"}),
        ("delete_task", {"id": written["id"]}),
    )
    status, _body = task_attacks.get(shared, parse_task_id(written["id"]).href)
    assert status in (200, 404)
    assert task_attacks.restarts(shared) == 0


async def test_two_deletes_at_once_delete_once_and_the_other_says_it_is_gone(
    shared: Shared,
) -> None:
    written = await create(shared.session, "Delete me twice")
    deletion = ("delete_task", {"id": written["id"]})
    answers = await task_attacks.at_once(shared.session, deletion, deletion)
    done = [a for a in answers if not a.is_error]
    assert len(done) == 1, [text_of(a) for a in answers]
    assert task_attacks.get(shared, parse_task_id(written["id"]).href)[0] == 404


async def test_null_for_a_summary_is_refused_not_ignored(shared: Shared) -> None:
    written = await call(shared.session, "create_task", summary="Keeps its name")
    text = await task_attacks.refused(
        shared.session, "update_task", id=written["id"], summary=None, priority="high"
    )
    assert "summary" in text, text
    assert "PRIORITY" not in task_attacks.raw(shared, written["id"])


async def test_an_event_rule_that_ends_before_the_event_starts_is_refused_as_such(
    shared: Shared,
) -> None:
    text = await refused_event(shared, "Never again", rrule="FREQ=DAILY;UNTIL=20200101")
    assert "UNTIL" in text, text
