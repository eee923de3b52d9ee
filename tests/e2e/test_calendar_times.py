"""Times, rules and ids a model gives the calendar tools, through a real MCP client, each
test against Radicale and Xandikos. The user's zone is Europe/Berlin (MAILBOX_TIMEZONE)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.calendar_calls import call, create, events
from tests.mcp_client import error_text, mcp_session
from tests.server_env import Shared, module_calendar_server

FAMILIES = ("calendar",)
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]

calendar_server = module_calendar_server(None, FAMILIES)
"""One server per CalDAV server for the module's tests, each of which finds the calendar
empty (``fresh_calendar``); the one whose system clock is elsewhere starts its own."""


def id_parts(event_id: str) -> list[Any]:
    body = event_id.removeprefix("ev_").partition(".")[0]  # the series, not the occurrence key
    return list(msgspec.msgpack.decode(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


def with_recurrence(event_id: str, recurrence: str) -> str:
    parts = id_parts(event_id)
    parts[3:] = [recurrence]
    raw = msgspec.msgpack.encode(parts)
    return "ev_" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def stored(shared: Shared, event_id: str) -> str:
    calendar, href = id_parts(event_id)[:2]
    path = href if href.startswith("/") else calendar.rstrip("/") + "/" + href
    status, body = shared.dav.request(shared.dav_login(), "GET", path)
    assert status == 200, status
    return body.decode().replace("\r\n ", "")


async def test_a_time_with_an_offset_is_stored_as_that_instant_and_read_back_in_the_users_zone(
    fresh_calendar: Shared,
) -> None:
    session = fresh_calendar.session
    created = await create(
        session, "Call with Boston", "2026-12-16T09:00-05:00", "2026-12-16T10:00-05:00"
    )
    new_york = await create(
        session,
        "In New York",
        "2026-12-17T15:00+01:00",
        "2026-12-17T16:00+01:00",
        timezone="America/New_York",
    )
    found = await events(session, "2026-12-16", "2026-12-17")
    assert [(e["summary"], e["start"], e["end"]) for e in found] == [
        ("Call with Boston", "2026-12-16T15:00:00+01:00", "2026-12-16T16:00:00+01:00"),
        ("In New York", "2026-12-17T15:00:00+01:00", "2026-12-17T16:00:00+01:00"),
    ]
    assert "UTC-05:00" not in stored(fresh_calendar, created["id"])
    assert "DTSTART;TZID=America/New_York:20261217T090000" in stored(fresh_calendar, new_york["id"])


@pytest.mark.tool_families("mail", "calendar")
async def test_a_time_without_an_offset_is_read_in_mailbox_timezone_not_the_systems_zone(
    calendar_env: dict[str, str], tmp_path: Path
) -> None:
    # The system's clock is 13 hours ahead of Berlin: read there, 10:30 would come before
    # 10:00+01:00, and the range, the search and the event would be refused as backwards.
    calendar_env["TZ"] = "Pacific/Kiritimati"
    async with mcp_session(calendar_env, tmp_path / "err.log") as session:
        await create(session, "Half an hour", "2026-03-10T10:00+01:00", "2026-03-10T10:30")
        found = await events(session, "2026-03-10T10:00+01:00", "2026-03-10T10:30")
        mail = await session.call_tool(
            "search_emails", {"since": "2026-03-10T10:00+01:00", "before": "2026-03-10T10:30"}
        )
    assert [(e["start"], e["end"]) for e in found] == [
        ("2026-03-10T10:00:00+01:00", "2026-03-10T10:30:00+01:00")
    ]
    assert not mail.is_error, error_text(mail)


async def test_a_time_the_clocks_skip_is_refused_and_one_they_repeat_is_the_first_and_said_so(
    fresh_calendar: Shared,
) -> None:
    session = fresh_calendar.session
    skipped = await session.call_tool(
        "create_event",
        {"summary": "Gap", "start": "2026-03-29T02:30", "end": "2026-03-29T03:30"},
    )
    twice = await create(session, "Twice", "2026-10-25T02:30", "2026-10-25T02:45")
    found = await events(session, "2026-03-29", "2026-10-25")
    assert skipped.is_error
    assert "2026-03-29T02:30 does not exist in Europe/Berlin" in error_text(skipped)
    assert "01:59 and 03:00" in error_text(skipped)
    assert [(e["summary"], e["start"], e["end"]) for e in found] == [
        ("Twice", "2026-10-25T02:30:00+02:00", "2026-10-25T02:45:00+02:00")
    ]
    assert any("happens twice" in n and "first" in n for n in twice["notes"]), twice["notes"]


async def test_impossible_rules_and_addresses_are_refused_and_a_date_until_keeps_its_day(
    fresh_calendar: Shared,
) -> None:
    base = {"summary": "x", "start": "2026-12-07T09:00", "end": "2026-12-07T10:00"}
    session = fresh_calendar.session
    refused = {
        rule: await session.call_tool("create_event", {**base, "rrule": rule})
        for rule in (
            "FREQ=DAILY;COUNT=-3",
            "FREQ=DAILY;COUNT=3;UNTIL=20261209",
            "FREQ=DAILY;INTERVAL=0",
            "FREQ=MONTHLY;BYMONTHDAY=32",
            "FREQ=DAILY;COLOUR=RED",
        )
    }
    not_an_address = await session.call_tool(
        "create_event", {**base, "attendees": ["not an email"]}
    )
    nothing = await events(session, "2026-12-01", "2026-12-31")
    await call(
        session,
        "create_event",
        **{**base, "summary": "Until"},
        rrule="FREQ=DAILY;UNTIL=20261209",
    )
    meeting = await call(
        session,
        "create_event",
        **{
            **base,
            "summary": "Meeting",
            "start": "2026-12-20T09:00",
            "end": "2026-12-20T10:00",
        },
        attendees=["Anna Berg <anna@example.org>"],
    )
    until = await events(session, "2026-12-01", "2026-12-15")
    for rule, answer in refused.items():
        assert answer.is_error, rule
    assert "COUNT must be a whole number of at least 1" in error_text(
        refused["FREQ=DAILY;COUNT=-3"]
    )
    assert "COUNT or UNTIL, not both" in error_text(refused["FREQ=DAILY;COUNT=3;UNTIL=20261209"])
    assert not_an_address.is_error and "not one email address" in error_text(not_an_address)
    assert nothing == []
    assert [e["start"][:10] for e in until] == ["2026-12-07", "2026-12-08", "2026-12-09"]
    text = stored(fresh_calendar, meeting["id"])
    assert f"ORGANIZER:mailto:{fresh_calendar.account.email}" in text
    assert "mailto:anna@example.org" in text and "Anna Berg" in text


async def test_year_9999_and_made_up_occurrence_ids_get_one_clear_sentence(
    fresh_calendar: Shared,
) -> None:
    session = fresh_calendar.session
    answers = [
        await session.call_tool(tool, args)
        for tool, args in (
            ("get_calendar_events", {"start": "9999-12-29", "end": "9999-12-31"}),
            ("get_free_busy", {"start": "9999-12-29", "end": "9999-12-31"}),
            ("search_calendar", {"query": "x", "start": "9999-12-01", "end": "9999-12-31"}),
            (
                "create_event",
                {"summary": "End", "start": "9999-12-30", "end": "9999-12-31", "all_day": True},
            ),
            (
                "create_event",
                {"summary": "End", "start": "9999-12-31T10:00", "end": "9999-12-31T11:00"},
            ),
        )
    ]
    created = await create(
        session, "Weekly", "2026-03-02T09:00", "2026-03-02T10:00", rrule="FREQ=WEEKLY;COUNT=3"
    )
    first = (await events(session, "2026-03-01", "2026-03-03"))[0]
    made_up = [
        await session.call_tool(tool, {"id": with_recurrence(first["id"], recurrence), **more})
        for recurrence in (
            "tomorrow",
            "20261399",
            "20260302T250000",
            "2026030",
            "99991231T235959Z",
        )
        for tool, more in (("delete_event", {}), ("update_event", {"summary": "y"}))
    ]
    still = await events(session, "2026-03-01", "2026-03-31")
    for answer in answers + made_up:
        assert answer.is_error
        assert "unexpectedly" not in error_text(answer), error_text(answer)
    assert "between" in error_text(answers[0]) and "9999-12-30" in error_text(answers[0])
    assert all("is not an event id" in error_text(a) for a in made_up)
    assert [e["uid"] for e in still] == [created["uid"]] * 3
