"""How list_tasks orders tasks and names priorities, and how it reads a VTODO's dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from icalendar import Todo

from workers.dav import todo_fields as tf

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (1, "high"),
        (2, "high"),
        (4, "high"),
        (5, "medium"),
        (6, "low"),
        (9, "low"),
        (0, None),
        (None, None),
        (10, None),
        (-1, None),
        ("A", None),
    ],
)
def test_priorities_one_to_four_are_high_five_medium_six_to_nine_low(
    value: object, name: str | None
) -> None:
    assert tf.priority_name(value) == name


def test_each_priority_name_is_written_as_a_value_it_is_read_back_as() -> None:
    for name, value in tf.PRIORITY_VALUES.items():
        assert tf.priority_name(value) == name


def _ordered(items: list[tuple[str, date | datetime | None, bool]]) -> list[str]:
    keyed = []
    for summary, due, done in items:
        at = tf.instant_of(due, BERLIN) if due is not None else None
        keyed.append((tf.sort_key(at, tf.is_overdue(due, done, NOW), summary), summary))
    return [summary for _key, summary in sorted(keyed)]


def test_overdue_tasks_come_first_then_by_due_date_and_undated_last() -> None:
    assert _ordered(
        [
            ("undated", None, False),
            ("next year", date(2027, 1, 1), False),
            ("tomorrow", date(2026, 3, 11), False),
            ("overdue a week", date(2026, 3, 3), False),
            ("this afternoon", datetime(2026, 3, 10, 15, 0, tzinfo=BERLIN), False),
            ("overdue this morning", datetime(2026, 3, 10, 9, 0, tzinfo=UTC), False),
            ("also undated", None, False),
        ]
    ) == [
        "overdue a week",
        "overdue this morning",
        "this afternoon",
        "tomorrow",
        "next year",
        "also undated",
        "undated",
    ]


def test_a_task_due_today_as_a_date_is_not_overdue_but_yesterday_is() -> None:
    assert not tf.is_overdue(date(2026, 3, 10), False, NOW)
    assert tf.is_overdue(date(2026, 3, 9), False, NOW)


def test_a_done_task_is_never_overdue() -> None:
    assert not tf.is_overdue(date(2020, 1, 1), True, NOW)


def test_a_floating_due_time_is_read_on_the_users_clock() -> None:
    assert tf.is_overdue(datetime(2026, 3, 10, 11, 59), False, NOW)
    assert not tf.is_overdue(datetime(2026, 3, 10, 12, 1), False, NOW)


def test_due_is_shown_as_a_date_or_a_time_in_the_users_zone() -> None:
    assert tf.shown(date(2026, 3, 10), BERLIN) == "2026-03-10"
    moment = datetime(2026, 7, 1, 6, 30, tzinfo=UTC)
    assert tf.shown(moment, BERLIN) == "2026-07-01T08:30:00+02:00"


def test_a_due_time_at_the_very_end_of_year_9999_is_shown_in_utc_rather_than_failing() -> None:
    assert tf.shown(datetime(9999, 12, 31, 23, 30, tzinfo=UTC), BERLIN).startswith("9999-12-31")


def test_due_comes_from_start_and_duration_when_a_task_has_no_due() -> None:
    todo = Todo.from_ical(
        "BEGIN:VTODO\r\nUID:x\r\nDTSTART:20260301T090000Z\r\nDURATION:PT2H\r\nEND:VTODO\r\n"
    )
    assert tf.due_value(todo) == datetime(2026, 3, 1, 11, 0, tzinfo=UTC)


def test_a_completed_time_without_a_status_counts_as_done() -> None:
    todo = Todo.from_ical("BEGIN:VTODO\r\nUID:x\r\nCOMPLETED:20260301T090000Z\r\nEND:VTODO\r\n")
    assert tf.is_done(todo)
    reopened = Todo.from_ical("BEGIN:VTODO\r\nUID:x\r\nSTATUS:NEEDS-ACTION\r\nEND:VTODO\r\n")
    assert not tf.is_done(reopened)
