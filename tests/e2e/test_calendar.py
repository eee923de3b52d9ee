"""Calendar tools through a real MCP client, each test against Radicale and Xandikos.

The user's zone is Europe/Berlin (MAILBOX_TIMEZONE in the fixture). The cases
are the files of tests/data/ics; expected times were worked out by hand.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import pytest

from tests.calendar_calls import call, create, events
from tests.ics_factory import daily_series, single_event
from tests.mcp_client import error_text, mcp_session, structured
from tests.server_env import Shared, module_calendar_server
from tests.servers.dav import SERVER_TYPES, DavServer, kill
from tests.servers.dovecot import Account
from tests.servers.tls import Certificates

FAMILIES = ("calendar",)
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]

ICS = Path(__file__).resolve().parent.parent / "data" / "ics"
CALL_LIMIT = 60


def load(calendar: Shared, *names: str) -> None:
    """Stores the files of tests/data/ics named ``names`` in the calendar, as another client
    would."""
    login = calendar.dav_login()
    for name in names:
        calendar.dav.put_object(login, name, (ICS / name).read_text())


calendar_server = module_calendar_server(None, FAMILIES)
"""One server per CalDAV server for the module's tests, each of which finds the calendar
empty (``fresh_calendar``)."""


async def test_the_default_calendar_is_listed(fresh_calendar: Shared) -> None:
    (only,) = (await call(fresh_calendar.session, "list_calendars"))["calendars"]
    assert only["name"] == "Calendar" and "VEVENT" in only["components"]
    assert only["read_only"] is False and only["id"].endswith("/calendar/")


async def test_a_weekly_series_shows_its_exception_and_its_moved_instance(
    fresh_calendar: Shared,
) -> None:
    load(fresh_calendar, "weekly-exdate-moved.ics")
    session = fresh_calendar.session
    found = await events(session, "2026-03-01", "2026-04-30")
    assert [(e["start"], e["summary"]) for e in found] == [
        ("2026-03-03T09:00:00+01:00", "Stand-up"),
        ("2026-03-10T09:00:00+01:00", "Stand-up"),
        ("2026-03-25T14:00:00+01:00", "Stand-up (moved)"),
        ("2026-03-31T09:00:00+02:00", "Stand-up"),
        ("2026-04-07T09:00:00+02:00", "Stand-up"),
    ]
    assert all(e["recurring"] for e in found) and found[2]["location"] == "Room 2"


async def test_times_are_converted_across_dst_and_zones_and_all_day_stays_on_its_dates(
    fresh_calendar: Shared,
) -> None:
    load(
        fresh_calendar,
        "daily-across-dst.ics",
        "new-york-call.ics",
        "all-day-multi.ics",
        "windows-zone.ics",
        "floating.ics",
    )
    session = fresh_calendar.session
    march = await events(session, "2026-03-09", "2026-03-31")
    october = await events(session, "2026-10-24", "2026-10-26")
    by_summary: dict[str, list[dict[str, Any]]] = {}
    for e in march + october:
        by_summary.setdefault(e["summary"], []).append(e)
    nyc = by_summary["Call with New York"][0]
    assert (nyc["start"], nyc["end"]) == ("2026-03-10T14:00:00+01:00", "2026-03-10T15:00:00+01:00")
    offsite = by_summary["Offsite"][0]
    assert (offsite["start"], offsite["end"], offsite["all_day"]) == (
        "2026-03-10",
        "2026-03-12",
        True,
    )
    assert by_summary["From Outlook"][0]["start"] == "2026-03-30T09:00:00+02:00"
    assert by_summary["Lunch wherever I am"][0]["start"] == "2026-03-11T12:00:00+01:00"
    checks = {e["start"][:10]: e["start"][11:] for e in by_summary["Morning check"]}
    assert checks["2026-03-28"] == "08:00:00+01:00" and checks["2026-03-30"] == "08:00:00+02:00"
    assert checks["2026-10-24"] == "08:00:00+02:00" and checks["2026-10-26"] == "08:00:00+01:00"
    starts = [e["start"] for e in march]
    assert starts == sorted(starts, key=lambda s: (s[:10], s))


async def test_until_in_utc_and_monthly_on_the_31st(fresh_calendar: Shared) -> None:
    load(fresh_calendar, "until-utc.ics", "monthly-31st.ics")
    session = fresh_calendar.session
    review = await events(session, "2026-03-01", "2026-04-30")
    month_end = await events(session, "2026-01-01", "2026-12-31")
    assert [e["start"][:10] for e in review if e["summary"] == "Weekly review"] == [
        "2026-03-02",
        "2026-03-09",
        "2026-03-16",
        "2026-03-23",
    ]
    assert [e["start"][:10] for e in month_end if e["summary"] == "Month end"] == [
        "2026-01-31",
        "2026-03-31",
        "2026-05-31",
        "2026-07-31",
        "2026-08-31",
    ]


async def test_more_occurrences_than_an_answer_may_hold_give_the_first_two_thousand_with_notes(
    fresh_calendar: Shared,
) -> None:
    load(fresh_calendar, "hostile-missing-dtend.ics", "hostile-broken-tzid.ics")
    # 3,500 occurrences in the week: more than an answer holds (2,000), and one series
    # with more than an object may give (2,000).
    login = fresh_calendar.dav_login()
    for name, first, count in (("minutes", 1, 2500), ("more-minutes", 3, 1500)):
        start = datetime(2026, 3, first, tzinfo=UTC)
        series = single_event(f"{name}@tests", name, start, rrule=f"FREQ=MINUTELY;COUNT={count}")
        fresh_calendar.dav.put_object(login, f"{name}.ics", series)
    session = fresh_calendar.session
    with anyio.fail_after(CALL_LIMIT):
        crowded = await call(session, "get_calendar_events", start="2026-03-01", end="2026-03-08")
        odd = await events(session, "2026-03-12", "2026-03-12")
    assert crowded["total"] == 2000
    notes = crowded["notes"]
    assert any("only the first 2000 are shown" in n for n in notes), notes
    assert any("'minutes'" in n and "the rest were left out" in n for n in notes), notes
    assert {e["summary"] for e in odd} == {"Instant", "On Mars"}


@pytest.fixture(params=SERVER_TYPES, ids=lambda t: t.name)
def fresh_dav_server(
    request: pytest.FixtureRequest, certificates: Certificates
) -> Iterator[DavServer]:
    """A server of its own: a calendar it cannot search keeps it busy long after the test."""
    server: DavServer = request.param(certificates)
    server.start()
    yield server
    kill(server)


async def test_a_calendar_the_server_cannot_search_in_time_gives_one_clear_sentence_in_time(
    server_env: dict[str, str], tmp_path: Path, fresh_dav_server: DavServer, account: Account
) -> None:
    # Every second since 2000: both servers expand it to answer a query for 2026, for ages.
    login = fresh_dav_server.add_user(account.email, account.password)
    fresh_dav_server.put_object(login, "secondly.ics", (ICS / "hostile-secondly.ics").read_text())
    deadline = 5
    env = {**server_env, "MAILBOX_CALDAV_URL": login.url, "MAILBOX_CALL_TIMEOUT": str(deadline)}
    async with mcp_session(env, tmp_path / "err.log") as session:
        started = time.perf_counter()
        with anyio.fail_after(CALL_LIMIT):
            answer = await session.call_tool(
                "get_calendar_events", {"start": "2026-03-01", "end": "2026-03-08"}
            )
        seconds = time.perf_counter() - started
    assert seconds < deadline + 10
    if answer.is_error:  # as both servers do today
        assert "did not answer in time" in error_text(answer)
    else:  # a server that can: the worker does not expand it either, and says so
        found = structured(answer)
        assert "Every second forever" not in {e["summary"] for e in found["events"]}
        assert any("repeats too often" in n for n in found["notes"])


async def test_search_finds_words_in_summary_location_and_attendees_case_insensitively(
    fresh_calendar: Shared,
) -> None:
    load(fresh_calendar, "weekly-exdate-moved.ics", "new-york-call.ics")
    session = fresh_calendar.session
    by_title = await call(
        session, "search_calendar", query="NEW york", start="2026-01-01", end="2026-12-31"
    )
    by_place = await call(
        session, "search_calendar", query="room 2", start="2026-01-01", end="2026-12-31"
    )
    created = await create(
        session,
        "Budget",
        "2026-03-12T10:00",
        "2026-03-12T11:00",
        attendees=["ben.ott@example.org"],
    )
    by_person = await call(
        session, "search_calendar", query="ben.ott", start="2026-03-01", end="2026-03-31"
    )
    assert [e["summary"] for e in by_title["events"]] == ["Call with New York"]
    assert [e["summary"] for e in by_place["events"]] == ["Stand-up (moved)"]
    assert [e["id"] for e in by_person["events"]] == [created["id"]]


async def test_search_looks_through_every_occurrence_not_only_the_first_two_thousand(
    fresh_calendar: Shared,
) -> None:
    login = fresh_calendar.dav_login()
    first = datetime(2026, 1, 1, 8, tzinfo=UTC)
    for n in range(3):  # 2,190 occurrences in the two years, before the one that matches
        fresh_calendar.dav.put_object(
            login, f"daily-{n}.ics", daily_series(f"daily-{n}@tests", f"Routine {n}", first, 730)
        )
    dentist = datetime(2027, 12, 20, 9, tzinfo=UTC)
    fresh_calendar.dav.put_object(
        login, "dentist.ics", single_event("dentist@tests", "Dentist", dentist)
    )
    session = fresh_calendar.session
    found = await call(
        session, "search_calendar", query="dentist", start="2026-01-01", end="2027-12-31"
    )
    assert [e["summary"] for e in found["events"]] == ["Dentist"]
    assert found["notes"] == []


async def test_free_busy_merges_busy_time_and_finds_the_free_slots(fresh_calendar: Shared) -> None:
    # Wednesday 11 March 2026: cancelled 15-16 (ignored), floating lunch 12-13,
    # New York call Tuesday. Transparent offsite 10-12 March never blocks.
    load(
        fresh_calendar,
        "cancelled.ics",
        "floating.ics",
        "all-day-multi.ics",
        "new-york-call.ics",
    )
    session = fresh_calendar.session
    await create(session, "Review", "2026-03-11T09:30", "2026-03-11T10:30")
    await create(session, "Sync", "2026-03-11T10:00", "2026-03-11T11:00")
    answer = await call(
        session, "get_free_busy", start="2026-03-10", end="2026-03-11", duration_minutes=60
    )
    assert [(b["start"], b["end"], b["tentative"]) for b in answer["busy"]] == [
        ("2026-03-10T14:00:00+01:00", "2026-03-10T15:00:00+01:00", False),
        ("2026-03-11T09:30:00+01:00", "2026-03-11T11:00:00+01:00", False),
        ("2026-03-11T12:00:00+01:00", "2026-03-11T13:00:00+01:00", False),
    ]
    assert [(f["start"], f["end"]) for f in answer["free"]] == [
        ("2026-03-10T09:00:00+01:00", "2026-03-10T14:00:00+01:00"),
        ("2026-03-10T15:00:00+01:00", "2026-03-10T17:00:00+01:00"),
        ("2026-03-11T11:00:00+01:00", "2026-03-11T12:00:00+01:00"),
        ("2026-03-11T13:00:00+01:00", "2026-03-11T17:00:00+01:00"),
    ]


async def test_free_busy_from_today_offers_no_time_that_has_passed(fresh_calendar: Shared) -> None:
    # The server's zone is Europe/Berlin.
    today = datetime.now(UTC).astimezone(ZoneInfo("Europe/Berlin")).date().isoformat()
    asked = datetime.now(UTC)
    answer = await call(
        fresh_calendar.session,
        "get_free_busy",
        start=today,
        end=today,
        working_hours="00:00-24:00",
        working_days=[1, 2, 3, 4, 5, 6, 7],
        duration_minutes=5,
    )
    starts = [datetime.fromisoformat(f["start"]) for f in answer["free"]]
    assert all(start >= asked for start in starts), (asked, answer["free"])
    assert all(start.minute % 5 == 0 and start.second == 0 for start in starts)
    assert answer["notes"] == [
        "Free slots start from now: earlier free time in the range has passed."
    ]


async def test_a_tentative_event_is_marked_in_busy_time(fresh_calendar: Shared) -> None:
    load(fresh_calendar, "windows-zone.ics")
    session = fresh_calendar.session
    answer = await call(session, "get_free_busy", start="2026-03-30", end="2026-03-30")
    assert [(b["start"], b["tentative"]) for b in answer["busy"]] == [
        ("2026-03-30T09:00:00+02:00", True)
    ]


async def test_a_created_recurring_event_with_a_reminder_is_listed(fresh_calendar: Shared) -> None:
    session = fresh_calendar.session
    created = await create(
        session,
        "Gym",
        "2026-03-02T18:00",
        "2026-03-02T19:00",
        rrule="FREQ=WEEKLY;COUNT=3",
        reminders_minutes=[30],
        location="Studio",
    )
    found = await events(session, "2026-03-01", "2026-03-31")
    assert [e["start"] for e in found] == [
        "2026-03-02T18:00:00+01:00",
        "2026-03-09T18:00:00+01:00",
        "2026-03-16T18:00:00+01:00",
    ]
    assert all(e["uid"] == created["uid"] and e["location"] == "Studio" for e in found)


async def test_moving_thursdays_occurrence_just_this_once_leaves_the_others(
    fresh_calendar: Shared,
) -> None:
    session = fresh_calendar.session
    await create(
        session,
        "Stand-up",
        "2026-03-05T10:00",
        "2026-03-05T10:15",
        rrule="FREQ=WEEKLY;BYDAY=TH;COUNT=3",
    )
    before = await events(session, "2026-03-01", "2026-03-31")
    await call(
        session,
        "update_event",
        id=before[1]["id"],
        start="2026-03-12T10:30",
        end="2026-03-12T10:45",
    )
    after = await events(session, "2026-03-01", "2026-03-31")
    await call(session, "update_event", id=after[0]["id"], scope="series", summary="Daily sync")
    renamed = await events(session, "2026-03-01", "2026-03-31")
    assert [e["start"] for e in after] == [
        "2026-03-05T10:00:00+01:00",
        "2026-03-12T10:30:00+01:00",
        "2026-03-19T10:00:00+01:00",
    ]
    assert [e["summary"] for e in renamed] == ["Daily sync", "Stand-up", "Daily sync"]


async def test_deleting_one_occurrence_then_the_series(fresh_calendar: Shared) -> None:
    session = fresh_calendar.session
    await create(
        session, "Class", "2026-03-02T08:00", "2026-03-02T09:00", rrule="FREQ=DAILY;COUNT=3"
    )
    first = await events(session, "2026-03-01", "2026-03-10")
    one = await call(session, "delete_event", id=first[1]["id"])
    second = await events(session, "2026-03-01", "2026-03-10")
    series = await call(session, "delete_event", id=second[0]["id"], scope="series")
    third = await events(session, "2026-03-01", "2026-03-10")
    assert one["deleted"] == "occurrence" and series["deleted"] == "series"
    assert [e["start"][:10] for e in second] == ["2026-03-02", "2026-03-04"]
    assert third == []


async def test_an_all_day_event_is_created_on_its_dates(fresh_calendar: Shared) -> None:
    session = fresh_calendar.session
    await create(session, "Holiday", "2026-08-03", "2026-08-07", all_day=True)
    (holiday,) = await events(session, "2026-08-01", "2026-08-31")
    assert (holiday["start"], holiday["end"], holiday["all_day"]) == (
        "2026-08-03",
        "2026-08-07",
        True,
    )


async def test_a_change_by_another_client_is_seen_on_the_next_call(fresh_calendar: Shared) -> None:
    session = fresh_calendar.session
    empty = await events(session, "2026-03-01", "2026-03-31")
    load(fresh_calendar, "new-york-call.ics")
    after = await events(session, "2026-03-01", "2026-03-31")
    assert empty == [] and [e["summary"] for e in after] == ["Call with New York"]


async def test_bad_calendar_arguments_get_clear_errors(fresh_calendar: Shared) -> None:
    session = fresh_calendar.session
    backwards = await session.call_tool(
        "get_calendar_events", {"start": "2026-03-02", "end": "2026-03-01"}
    )
    unknown = await session.call_tool(
        "get_calendar_events",
        {"start": "2026-03-01", "end": "2026-03-02", "calendars": ["Nope"]},
    )
    bad_id = await session.call_tool("delete_event", {"id": "ev_garbage"})
    bad_rule = await session.call_tool(
        "create_event",
        {
            "summary": "x",
            "start": "2026-03-01T10:00",
            "end": "2026-03-01T11:00",
            "rrule": "NONSENSE",
        },
    )
    nothing = await events(session, "2026-03-01", "2026-03-02")
    assert "end must be later than start" in error_text(backwards)
    assert "no calendar 'Nope'" in error_text(unknown) and "'Calendar'" in error_text(unknown)
    assert "is not an event id" in error_text(bad_id)
    assert "recurrence rule" in error_text(bad_rule) and nothing == []
