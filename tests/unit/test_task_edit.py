"""Completing and changing VTODOs (workers.dav.todo_edit), task ids, and the sentence for a
server that refuses repeating tasks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
from icalendar import Calendar

from protocol.errors import Conflict, InvalidArgument, NotFound, ProtocolViolation, Refused
from protocol.tasks import CreateTaskArgs, UpdateTaskArgs
from workers.dav import todo_edit
from workers.dav.ids import EventId
from workers.dav.tasks import task_words
from workers.dav.todo_ids import occurrence_of, parse_task_id, task_id

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def stored(*lines: str) -> Calendar:
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", "BEGIN:VTODO", "UID:s@t"]
    text = "\r\n".join([*head, *lines, "END:VTODO", "END:VCALENDAR", ""])
    return Calendar.from_ical(text)


def complete(calendar: Calendar) -> todo_edit.Changed:
    return todo_edit.complete(calendar, todo_edit.task_of(calendar, "s@t"), NOW, BERLIN)


def update(calendar: Calendar, **fields: Any) -> todo_edit.Changed:
    args = msgspec.convert({"id": "td_x", **fields}, UpdateTaskArgs)
    return todo_edit.update(calendar, todo_edit.task_of(calendar, "s@t"), args, BERLIN)


def line(calendar: Calendar, name: str) -> str:
    todo = todo_edit.task_of(calendar, "s@t")
    return todo.get(name).to_ical().decode() if todo.get(name) is not None else ""


def test_completing_a_repeating_task_moves_its_dates_on_and_lowers_its_count() -> None:
    calendar = stored(
        "DTSTART;VALUE=DATE:20260302", "DUE;VALUE=DATE:20260303", "RRULE:FREQ=WEEKLY;COUNT=4"
    )
    changed = complete(calendar)
    assert line(calendar, "DTSTART") == "20260309" and line(calendar, "DUE") == "20260310"
    assert line(calendar, "RRULE") == "FREQ=WEEKLY;COUNT=3"
    assert line(calendar, "STATUS") == "" and changed.record is not None


def test_the_done_occurrence_is_recorded_as_a_completed_task_linked_to_its_series() -> None:
    calendar = stored(
        "DUE;VALUE=DATE:20260302", "DTSTART;VALUE=DATE:20260302", "RRULE:FREQ=DAILY", "X-KEEP:1"
    )
    changed = complete(calendar)
    assert changed.record is not None
    (record,) = changed.record.walk("VTODO")
    assert str(record["UID"]) == changed.record_uid != "s@t"
    assert record["DUE"].to_ical() == b"20260302" and record.get("RRULE") is None
    assert str(record["STATUS"]) == "COMPLETED" and int(record["PERCENT-COMPLETE"]) == 100
    assert record["COMPLETED"].dt == NOW and str(record["X-KEEP"]) == "1"
    assert (
        record["RELATED-TO"].params["RELTYPE"] == "SIBLING" and str(record["RELATED-TO"]) == "s@t"
    )


def test_an_excluded_occurrence_is_skipped_and_still_counts_against_count() -> None:
    calendar = stored(
        "DTSTART;VALUE=DATE:20260302",
        "RRULE:FREQ=DAILY;COUNT=5",
        "EXDATE;VALUE=DATE:20260303",
    )
    complete(calendar)
    assert line(calendar, "DTSTART") == "20260304"
    assert line(calendar, "RRULE") == "FREQ=DAILY;COUNT=3"


def test_a_timed_repeating_task_keeps_its_clock_time_across_the_change_to_summer_time() -> None:
    calendar = stored(
        "DTSTART;TZID=Europe/Berlin:20260328T090000",
        "DUE;TZID=Europe/Berlin:20260328T100000",
        "RRULE:FREQ=DAILY",
    )
    complete(calendar)
    todo = todo_edit.task_of(calendar, "s@t")
    assert todo["DTSTART"].dt.hour == 9 and todo["DTSTART"].dt.day == 29
    assert todo["DUE"].dt.hour == 10 and todo["DUE"].dt.day == 29


def test_completing_the_last_occurrence_completes_the_whole_task() -> None:
    calendar = stored("DTSTART;VALUE=DATE:20260302", "RRULE:FREQ=DAILY;COUNT=1")
    changed = complete(calendar)
    assert line(calendar, "STATUS") == "COMPLETED" and changed.record is None
    assert "last occurrence" in changed.notes[0]


def test_a_rule_whose_next_occurrence_cannot_be_found_is_refused_not_completed() -> None:
    calendar = stored("DTSTART:19700101T000000Z", "RRULE:FREQ=SECONDLY")
    with pytest.raises(Refused, match="cannot be worked out"):
        complete(calendar)
    assert line(calendar, "STATUS") == "" and line(calendar, "DTSTART") == "19700101T000000Z"


def test_a_single_task_completed_gets_status_completed_time_and_percent() -> None:
    calendar = stored("SUMMARY:Once", "PERCENT-COMPLETE:30", "STATUS:IN-PROCESS")
    update(calendar, completed=True)
    assert line(calendar, "STATUS") == "COMPLETED" and line(calendar, "PERCENT-COMPLETE") == "100"
    assert line(calendar, "COMPLETED").endswith("Z")


def test_reopening_removes_the_completed_time_and_percent() -> None:
    calendar = stored("STATUS:COMPLETED", "COMPLETED:20260301T100000Z", "PERCENT-COMPLETE:100")
    update(calendar, completed=False)
    assert line(calendar, "STATUS") == "NEEDS-ACTION"
    assert line(calendar, "COMPLETED") == "" and line(calendar, "PERCENT-COMPLETE") == ""


def test_null_removes_a_field_and_a_field_left_out_stays() -> None:
    calendar = stored("DUE;VALUE=DATE:20260302", "PRIORITY:1", "DESCRIPTION:Keep me")
    update(calendar, due=None, priority="low")
    assert line(calendar, "DUE") == "" and line(calendar, "PRIORITY") == "9"
    assert line(calendar, "DESCRIPTION") == "Keep me"


def test_a_due_date_and_a_start_time_cannot_be_mixed() -> None:
    calendar = stored("DTSTART;VALUE=DATE:20260302")
    with pytest.raises(InvalidArgument, match="both be dates or both date-times"):
        update(calendar, due="2026-03-03T10:00")


def test_a_new_repeating_task_without_dates_is_refused() -> None:
    args = CreateTaskArgs(summary="x", recurrence="FREQ=DAILY")
    with pytest.raises(InvalidArgument, match="needs a due date or a start"):
        todo_edit.new_task(args, BERLIN, "example.org")


def test_a_new_repeating_task_counts_from_its_due_date() -> None:
    args = CreateTaskArgs(summary="x", due="2026-03-02", recurrence="FREQ=WEEKLY")
    calendar, uid = todo_edit.new_task(args, BERLIN, "example.org")
    todo = todo_edit.task_of(calendar, uid)
    assert todo["DTSTART"].dt == date(2026, 3, 2) == todo["DUE"].dt


def test_a_task_id_round_trips_and_names_only_the_object_it_came_from() -> None:
    text = task_id("/u/tasks/", "/u/tasks/a.ics", "a")
    assert text.startswith("td_") and parse_task_id(text) == EventId(
        "/u/tasks/", "/u/tasks/a.ics", "a"
    )


@pytest.mark.parametrize(
    "text",
    ["td_", "td_garbage", "INBOX#1.2", "/u/tasks/a.ics", "td_" + "A" * 40],
)
def test_a_forged_task_id_is_refused_in_one_sentence(text: str) -> None:
    with pytest.raises(InvalidArgument, match="is not a task id; use an id exactly as"):
        parse_task_id(text)


def test_a_task_id_for_another_host_or_the_collection_itself_is_refused() -> None:
    for href in ("//evil.example/x.ics", "/u/tasks/", "/u/other/a.ics"):
        forged = "td_" + str(EventId("/u/tasks/", href, "a"))[3:]
        with pytest.raises(InvalidArgument, match="is not a task id"):
            parse_task_id(forged)


def test_an_event_id_given_for_a_task_names_the_event_tools() -> None:
    event = str(EventId("/u/calendar/", "/u/calendar/e.ics", "e"))
    with pytest.raises(
        InvalidArgument, match=r"That is an event id, not a task id; .*update_event"
    ):
        parse_task_id(event)


def test_a_task_id_given_for_an_event_names_the_task_tools() -> None:
    with pytest.raises(InvalidArgument, match=r"That is a task id, not an event id; .*update_task"):
        EventId.parse(task_id("/u/tasks/", "/u/tasks/a.ics", "a"))


@pytest.mark.parametrize("refusal", [Refused("no"), ProtocolViolation("refused (HTTP 415).")])
def test_a_server_refusing_a_repeating_task_gets_one_sentence_saying_so(refusal: Exception) -> None:
    with pytest.raises(Refused) as caught, task_words(repeating=True):
        raise refusal
    assert str(caught.value).startswith("The server does not accept repeating tasks")


def test_the_calendar_clients_sentences_are_said_of_a_task() -> None:
    with pytest.raises(Conflict, match=r"^The task was changed elsewhere"), task_words():
        raise Conflict("The event was changed elsewhere since it was read.")
    with pytest.raises(NotFound, match=r"^That task is no longer in its list"), task_words():
        raise NotFound("That is no longer on the calendar server.")


def test_a_task_stored_due_before_its_start_can_still_be_renamed_and_completed() -> None:
    calendar = stored("DTSTART;VALUE=DATE:20300510", "DUE;VALUE=DATE:20300501")
    update(calendar, summary="Renamed", completed=True)
    assert line(calendar, "SUMMARY") == "Renamed" and line(calendar, "STATUS") == "COMPLETED"
    with pytest.raises(InvalidArgument, match="due must not be earlier than start"):
        update(calendar, due="2030-04-01")


@pytest.mark.parametrize(
    "lines",
    [
        ("DTSTART;VALUE=DATE:99991230", "RRULE:FREQ=DAILY"),
        ("DTSTART:99991230T230000Z", "DUE:99991231T230000Z", "RRULE:FREQ=HOURLY"),
        ("DTSTART:20260101T000000Z", "RRULE:FOO"),
    ],
    ids=["daily-from-9999-12-30", "hourly-at-the-end-of-9999", "no-frequency"],
)
def test_a_repeating_task_at_the_end_of_time_or_without_a_rule_is_refused_unchanged(
    lines: tuple[str, ...],
) -> None:
    calendar = stored(*lines)
    before = calendar.to_ical()
    with pytest.raises(Refused, match=r"^Nothing was changed: the next occurrence"):
        complete(calendar)
    assert calendar.to_ical() == before


def test_a_repeating_tasks_id_names_the_occurrence_it_is_at() -> None:
    args = CreateTaskArgs(summary="x", due="2026-03-02", recurrence="FREQ=WEEKLY")
    calendar, uid = todo_edit.new_task(args, BERLIN, "example.org")
    todo = todo_edit.task_of(calendar, uid)
    assert occurrence_of(todo) == "20260302"
    found = parse_task_id(task_id("/u/tasks/", f"/u/tasks/{uid}.ics", uid, occurrence_of(todo)))
    assert found.recurrence == "20260302" and found.href == f"/u/tasks/{uid}.ics"


def test_a_task_that_does_not_repeat_names_no_occurrence() -> None:
    args = CreateTaskArgs(summary="x", due="2026-03-02T10:00")
    calendar, uid = todo_edit.new_task(args, BERLIN, "example.org")
    assert occurrence_of(todo_edit.task_of(calendar, uid)) == ""
