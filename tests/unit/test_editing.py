"""Event editing on iCalendar objects: overrides, EXDATEs, moves, alarms (no server)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from protocol.calendar import CreateEventArgs, UpdateEventArgs
from protocol.errors import InvalidArgument
from workers.dav.editing import exclude, new_calendar, update
from workers.dav.expand import Expansion, expand, parse

ICS = Path(__file__).resolve().parent.parent / "data" / "ics"
BERLIN = ZoneInfo("Europe/Berlin")


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def starts(calendar: object, start: datetime, end: datetime) -> list[object]:
    out = Expansion()
    expand(
        parse(calendar.to_ical().decode()),
        start,
        end,
        BERLIN,
        href="/x",
        calendar_name="T",
        out=out,
    )  # type: ignore[attr-defined]
    return [o.start for o in out.occurrences]


def change(calendar: Any, uid: str, recurrence: str, **changes: Any) -> None:
    """update_event's ``changes`` to the occurrence ``recurrence`` of ``uid`` (to the
    whole event with ""), for a user in Berlin."""
    update(calendar, uid, recurrence, UpdateEventArgs(id="x", **changes), BERLIN)


def created(domain: str = "x", **fields: object) -> tuple[Any, str]:
    """A new event's calendar and UID, as create_event makes them for a user in Berlin
    (the summary "Plan" unless given)."""
    args = msgspec.convert({"summary": "Plan", **fields}, CreateEventArgs)
    return new_calendar(args, BERLIN, domain)


def test_a_new_timed_event_carries_zone_alarm_rule_and_attendees() -> None:
    calendar, uid = created(
        start="2026-03-10T09:00",
        end="2026-03-10T10:00",
        rrule="FREQ=WEEKLY;COUNT=3",
        reminders_minutes=[15],
        attendees=["ben@example.org"],
        domain="example.org",
    )
    text = calendar.to_ical().decode()
    assert uid.endswith("@example.org")
    assert "DTSTART;TZID=Europe/Berlin:20260310T090000" in text
    assert "BEGIN:VTIMEZONE" in text and "TRIGGER:-PT15M" in text
    assert "ATTENDEE;RSVP=TRUE:mailto:ben@example.org" in text
    assert starts(calendar, at(3, 1), at(4, 1)) == [at(3, 10, 9), at(3, 17, 9), at(3, 24, 9)]


def test_an_all_day_event_end_date_is_inclusive_for_the_user() -> None:
    calendar, _uid = created(start="2026-03-10", end="2026-03-12", all_day=True)
    text = calendar.to_ical().decode()
    assert "DTSTART;VALUE=DATE:20260310" in text and "DTEND;VALUE=DATE:20260313" in text


def test_sub_daily_recurrence_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="daily at most"):
        created(start="2026-03-10T09:00", end="2026-03-10T10:00", rrule="FREQ=MINUTELY")


def test_moving_one_occurrence_adds_an_override_and_leaves_the_series() -> None:
    calendar = parse((ICS / "until-utc.ics").read_text())
    change(
        calendar,
        "until@tests",
        "20260309T100000",
        scope="occurrence",
        start="2026-03-09T10:30",
        end="2026-03-09T11:30",
    )
    assert starts(calendar, at(3, 1), at(4, 1)) == [
        at(3, 2, 10),
        at(3, 9, 10, 30),
        at(3, 16, 10),
        at(3, 23, 10),
    ]


def test_changing_the_series_summary_changes_every_occurrence() -> None:
    calendar = parse((ICS / "until-utc.ics").read_text())
    change(calendar, "until@tests", "20260309T100000", scope="series", summary="Renamed")
    out = Expansion()
    expand(calendar, at(3, 1), at(4, 1), BERLIN, href="/x", calendar_name="T", out=out)
    assert {str(o.component["SUMMARY"]) for o in out.occurrences} == {"Renamed"}


def test_deleting_one_occurrence_adds_an_exdate_and_drops_its_override() -> None:
    calendar = parse((ICS / "weekly-exdate-moved.ics").read_text())
    exclude(calendar, "standup@tests", "20260324T090000")
    exclude(calendar, "standup@tests", "20260310T090000")
    assert starts(calendar, at(3, 1), at(5, 1)) == [at(3, 3, 9), at(3, 31, 9), at(4, 7, 9)]


def test_moving_a_single_event_keeps_its_length() -> None:
    calendar = parse((ICS / "new-york-call.ics").read_text())
    change(calendar, "nyc@tests", "", start="2026-03-11T15:00+01:00")
    (moved,) = starts(calendar, at(3, 11), at(3, 12))
    assert moved == at(3, 11, 15)
    event = calendar.walk("VEVENT")[0]
    assert event["DTEND"].dt - event["DTSTART"].dt == timedelta(hours=1)
    assert int(event["SEQUENCE"]) == 1


def test_an_event_can_become_all_day() -> None:
    calendar = parse((ICS / "new-york-call.ics").read_text())
    change(calendar, "nyc@tests", "", all_day=True, start="2026-03-12", end="2026-03-12")
    event = calendar.walk("VEVENT")[0]
    assert event["DTSTART"].dt == date(2026, 3, 12) and event["DTEND"].dt == date(2026, 3, 13)


def test_a_later_series_start_given_through_an_occurrence_moves_until_along() -> None:
    calendar = parse((ICS / "until-utc.ics").read_text())
    change(calendar, "until@tests", "20260316T100000", scope="series", start="2026-03-17T14:00")
    assert starts(calendar, at(3, 1), at(4, 30)) == [
        at(3, 3, 14),
        at(3, 10, 14),
        at(3, 17, 14),
        at(3, 24, 14),
    ]


def test_an_all_day_series_moved_through_an_occurrence_keeps_its_first_week() -> None:
    calendar, uid = created(
        summary="Bins",
        start="2026-03-02",
        end="2026-03-02",
        all_day=True,
        rrule="FREQ=WEEKLY;UNTIL=20260316",
    )
    change(calendar, uid, "20260309", scope="series", start="2026-03-10")
    assert starts(calendar, at(3, 1), at(4, 30)) == [
        date(2026, 3, 3),
        date(2026, 3, 10),
        date(2026, 3, 17),
    ]
