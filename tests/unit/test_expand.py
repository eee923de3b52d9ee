"""Expanding the calendar cases of tests/data/ics, without a server (the e2e tests use both)."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.ics_factory import ten_thousand_events
from workers.dav.expand import MAX_COMPONENTS_PER_OBJECT, Expansion, Prepared, expand, parse

ICS = Path(__file__).resolve().parent.parent / "data" / "ics"
BERLIN = ZoneInfo("Europe/Berlin")

HANG = 60
"""Seconds past which an answer counts as a hang (expanding every second since 1970 would
take hours): a guard against a loop, not a speed goal, which the benchmarks measure.
(The 10,000-event object took 22.6 s once on a two-core machine running the suite beside
two other test runs, past the 20 s this used to allow.)"""


def occurrences(name: str, start: datetime, end: datetime, text: str | None = None) -> Expansion:
    out = Expansion()
    calendar = parse(text if text is not None else (ICS / name).read_text())
    expand(calendar, start, end, BERLIN, href="/x.ics", calendar_name="Test", out=out)
    return out


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def test_a_weekly_series_skips_its_exdate_and_shows_the_moved_instance() -> None:
    found = occurrences("weekly-exdate-moved.ics", at(3, 1), at(5, 1))
    starts = [o.start for o in found.occurrences]
    assert starts == [at(3, 3, 9), at(3, 10, 9), at(3, 25, 14), at(3, 31, 9), at(4, 7, 9)]
    moved = found.occurrences[2].component
    assert str(moved["SUMMARY"]) == "Stand-up (moved)" and str(moved["LOCATION"]) == "Room 2"


def test_a_daily_series_keeps_its_local_time_across_both_dst_changes() -> None:
    found = occurrences("daily-across-dst.ics", at(3, 27), at(10, 28))
    by_day = {o.start.date(): o.start for o in found.occurrences}  # type: ignore[union-attr]
    for day in (date(2026, 3, 28), date(2026, 3, 30), date(2026, 10, 24), date(2026, 10, 26)):
        assert (by_day[day].hour, by_day[day].minute) == (8, 0)
    assert by_day[date(2026, 3, 28)].utcoffset().total_seconds() == 3600  # type: ignore[union-attr]
    assert by_day[date(2026, 3, 30)].utcoffset().total_seconds() == 7200  # type: ignore[union-attr]
    assert by_day[date(2026, 10, 26)].utcoffset().total_seconds() == 3600  # type: ignore[union-attr]


def test_an_event_in_new_york_is_shown_at_berlin_time_in_the_weeks_the_shifts_differ() -> None:
    (call,) = occurrences("new-york-call.ics", at(3, 10), at(3, 11)).occurrences
    # The US moved its clocks on 8 March, Europe only on 29 March: 5 hours apart, not 6.
    assert call.start == at(3, 10, 14) and call.end == at(3, 10, 15)


def test_an_all_day_event_stays_on_its_dates() -> None:
    (offsite,) = occurrences("all-day-multi.ics", at(3, 1), at(4, 1)).occurrences
    assert offsite.all_day and (offsite.start, offsite.end) == (
        date(2026, 3, 10),
        date(2026, 3, 13),
    )


def test_until_in_utc_includes_the_last_occurrence_at_exactly_that_moment() -> None:
    found = occurrences("until-utc.ics", at(3, 1), at(5, 1))
    assert [o.start.day for o in found.occurrences] == [2, 9, 16, 23]  # type: ignore[union-attr]


def test_a_monthly_series_on_the_31st_skips_shorter_months() -> None:
    found = occurrences("monthly-31st.ics", at(1, 1), at(12, 31))
    assert [(o.start.month, o.start.day) for o in found.occurrences] == [  # type: ignore[union-attr]
        (1, 31),
        (3, 31),
        (5, 31),
        (7, 31),
        (8, 31),
    ]


def test_a_windows_time_zone_name_is_understood() -> None:
    (event,) = occurrences("windows-zone.ics", at(3, 30), at(3, 31)).occurrences
    assert event.start == at(3, 30, 9)


def test_a_floating_time_is_the_users_wall_clock_time() -> None:
    (lunch,) = occurrences("floating.ics", at(3, 11), at(3, 12)).occurrences
    assert lunch.start == at(3, 11, 12)


def test_a_rule_repeating_every_second_forever_is_left_out_with_a_note_at_once() -> None:
    started = time.perf_counter()
    found = occurrences("hostile-secondly.ics", at(3, 1), at(3, 8))
    assert found.occurrences == []
    assert "repeats too often" in found.notes[0]
    assert time.perf_counter() - started < HANG


def test_an_event_without_an_end_is_an_instant() -> None:
    (instant,) = occurrences("hostile-missing-dtend.ics", at(3, 12), at(3, 13)).occurrences
    assert instant.start == instant.end == at(3, 12, 9)


def test_an_unknown_tzid_still_gives_an_answer() -> None:
    found = occurrences("hostile-broken-tzid.ics", at(3, 12), at(3, 13))
    assert len(found.occurrences) == 1


def test_ten_thousand_events_in_one_object_give_a_bounded_answer_with_a_note() -> None:
    started = time.perf_counter()
    found = occurrences("", datetime(2026, 3, 1, tzinfo=BERLIN), at(3, 10), ten_thousand_events())
    assert 0 < len(found.occurrences) <= MAX_COMPONENTS_PER_OBJECT
    assert found.notes
    assert time.perf_counter() - started < HANG


@pytest.mark.parametrize(
    "text", ["", "BEGIN:VCALENDAR", "garbage\r\n", "BEGIN:VEVENT\r\nEND:VEVENT"]
)
def test_unreadable_calendar_text_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse(text)


class _PublicQueryOnly:
    """A recurrence query showing only recurring_ical_events' public API."""

    def __init__(self, query: object) -> None:
        self._query = query

    def between(self, start: datetime, end: datetime) -> object:
        return self._query.between(start, end)  # type: ignore[attr-defined]

    def after(self, start: datetime) -> object:
        return self._query.after(start)  # type: ignore[attr-defined]


def _listing(found: Expansion) -> list[tuple[str, object, object, str, str]]:
    return [
        (
            str(o.component.get("UID")),
            o.start,
            o.end,
            o.recurrence_id,
            str(o.component.get("SUMMARY")),
        )
        for o in found.occurrences
    ]


@pytest.mark.parametrize("name", sorted(p.name for p in ICS.glob("*.ics")))
def test_the_fast_expansion_equals_the_public_api_of_recurring_ical_events(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = (datetime(2025, 10, 1, tzinfo=BERLIN), datetime(2026, 12, 1, tzinfo=BERLIN))
    assert hasattr(Prepared(parse((ICS / name).read_text())).query(), "_occurrences_between"), (
        "this recurring-ical-events no longer has the fast path; expansion is slower"
    )
    fast = occurrences(name, *window)
    original = Prepared.query
    monkeypatch.setattr(Prepared, "query", lambda self: _PublicQueryOnly(original(self)))
    public = occurrences(name, *window)
    assert _listing(fast) == _listing(public)
    assert fast.notes == public.notes
