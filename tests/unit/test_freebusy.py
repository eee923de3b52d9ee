"""Free/busy arithmetic against hand-computed answers, across a DST change."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from workers.dav.freebusy import Period, busy_periods, free_slots, working_windows

BERLIN = ZoneInfo("Europe/Berlin")


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def test_overlapping_and_touching_meetings_merge_into_one_busy_period() -> None:
    busy = busy_periods(
        [
            Period(at(10, 9), at(10, 10)),
            Period(at(10, 9, 30), at(10, 11)),
            Period(at(10, 11), at(10, 12)),
        ],
        at(10, 0),
        at(11, 0),
    )
    assert [(p.start, p.end, p.tentative) for p in busy] == [(at(10, 9), at(10, 12), False)]


def test_tentative_time_is_marked_and_only_where_not_already_busy() -> None:
    busy = busy_periods(
        [Period(at(10, 9), at(10, 10)), Period(at(10, 9, 30), at(10, 11), tentative=True)],
        at(10, 0),
        at(11, 0),
    )
    assert [(p.start, p.end, p.tentative) for p in busy] == [
        (at(10, 9), at(10, 10), False),
        (at(10, 10), at(10, 11), True),
    ]


def test_busy_time_is_clipped_to_the_asked_range() -> None:
    busy = busy_periods([Period(at(9, 22), at(10, 2))], at(10, 0), at(11, 0))
    assert [(p.start, p.end) for p in busy] == [(at(10, 0), at(10, 2))]


def test_free_slots_are_the_working_hours_minus_busy_time_of_at_least_the_duration() -> None:
    # Tuesday 10 March 2026: busy 9-10 and 10:45-12; a 30-minute minimum.
    windows = working_windows(at(10, 0), at(11, 0), "09:00-17:00", [1, 2, 3, 4, 5], BERLIN)
    busy = busy_periods(
        [Period(at(10, 9), at(10, 10)), Period(at(10, 10, 45), at(10, 12))], at(10, 0), at(11, 0)
    )
    slots = free_slots(windows, busy, 30)
    assert slots == [(at(10, 10), at(10, 10, 45)), (at(10, 12), at(10, 17))]
    assert free_slots(windows, busy, 60) == [(at(10, 12), at(10, 17))]


def test_weekends_are_skipped_unless_they_are_working_days() -> None:
    # Friday 13 to Monday 16 March 2026.
    weekdays = working_windows(at(13, 0), at(17, 0), "09:00-17:00", [1, 2, 3, 4, 5], BERLIN)
    assert [w[0].day for w in weekdays] == [13, 16]
    every = working_windows(at(13, 0), at(17, 0), "09:00-17:00", [1, 2, 3, 4, 5, 6, 7], BERLIN)
    assert [w[0].day for w in every] == [13, 14, 15, 16]


def test_working_hours_keep_their_local_time_across_the_spring_dst_change() -> None:
    # Clocks go forward on Sunday 29 March 2026 in Berlin.
    windows = working_windows(at(27, 0), at(31, 0), "09:00-17:00", [1, 2, 3, 4, 5], BERLIN)
    assert [(w[0].hour, w[1].hour) for w in windows] == [(9, 17), (9, 17)]
    assert [w[0].utcoffset().total_seconds() / 3600 for w in windows] == [1.0, 2.0]  # type: ignore[union-attr]


def test_a_window_ending_at_24_00_runs_to_midnight() -> None:
    (window,) = working_windows(at(10, 0), at(11, 0), "20:00-24:00", [2], BERLIN)
    assert window == (at(10, 20), at(11, 0))


def test_free_time_that_has_already_passed_is_not_offered() -> None:
    # Tuesday 10 March 2026 at 11:02:30: the morning is gone, and a slot starts on a
    # round five minutes, not at the second it was asked.
    windows = working_windows(at(10, 0), at(11, 0), "09:00-17:00", [1, 2, 3, 4, 5], BERLIN)
    busy = busy_periods([Period(at(10, 13), at(10, 14))], at(10, 0), at(11, 0))
    now = datetime(2026, 3, 10, 11, 2, 30, tzinfo=BERLIN)
    slots = free_slots(windows, busy, 30, now=now)
    assert slots == [(at(10, 11, 5), at(10, 13)), (at(10, 14), at(10, 17))]
    assert free_slots(windows, busy, 30, now=at(10, 16, 40)) == []
    assert free_slots(windows, busy, 30, now=at(9, 8)) == free_slots(windows, busy, 30)


def test_a_range_that_has_wholly_passed_is_answered_whole() -> None:
    windows = working_windows(at(10, 0), at(11, 0), "09:00-17:00", [1, 2, 3, 4, 5], BERLIN)
    busy = busy_periods([Period(at(10, 13), at(10, 14))], at(10, 0), at(11, 0))
    assert free_slots(windows, busy, 30, now=at(12, 9)) == free_slots(windows, busy, 30)
