"""Changing and deleting repeating series through a real MCP client, on Radicale and Xandikos.

The user's zone is Europe/Berlin (MAILBOX_TIMEZONE in the fixture); 16 November 2026
is a Monday, and November and December are on +01:00.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.calendar_calls import call, create
from tests.mcp_client import error_text, mcp_session, text_of
from tests.server_env import Shared, module_calendar_server
from workers.dav.ids import EventId

FAMILIES = ("calendar",)
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]

calendar_server = module_calendar_server(None, FAMILIES)
"""One server per CalDAV server for the module's tests, each of which finds the calendar
empty (``fresh_calendar``); the one that turns series deletes off starts its own."""

NOVEMBER = {"start": "2026-11-01", "end": "2026-12-31"}


async def starts(session: Any) -> list[str]:
    found = (await call(session, "get_calendar_events", **NOVEMBER))["events"]
    return [e["start"] for e in found]


async def listed(session: Any) -> list[dict[str, Any]]:
    return list((await call(session, "get_calendar_events", **NOVEMBER))["events"])


async def change(session: Any, event: dict[str, Any], **changes: Any) -> Any:
    """update_event on ``event`` (as get_calendar_events listed it), which must succeed."""
    return await call(session, "update_event", id=event["id"], **changes)


async def weekly(session: Any, count: int = 4) -> dict[str, Any]:
    """Mondays 10:00-11:00 from 16 November."""
    created: dict[str, Any] = await create(
        session,
        "Stand-up",
        "2026-11-16T10:00",
        "2026-11-16T11:00",
        rrule=f"FREQ=WEEKLY;COUNT={count}",
    )
    return created


async def weekly_occurrences(session: Any) -> list[dict[str, Any]]:
    """The four occurrences of a new ``weekly`` series, as get_calendar_events lists them."""
    await weekly(session)
    return await listed(session)


def forged(event_id: str, recurrence: str) -> str:
    return str(msgspec.structs.replace(EventId.parse(event_id), recurrence=recurrence))


async def test_a_series_time_change_through_a_later_occurrence_keeps_the_first_date_and_count(
    fresh_calendar: Shared,
) -> None:
    session = fresh_calendar.session
    before = await weekly_occurrences(session)
    await change(
        session, before[2], scope="series", start="2026-11-30T14:00", end="2026-11-30T15:00"
    )
    later = await listed(session)
    # The date moves by a day: so does every occurrence, and the weekday with it.
    await change(session, later[3], scope="series", start="2026-12-08T09:00")
    tuesdays = await listed(session)
    assert [(e["start"], e["end"]) for e in later] == [
        ("2026-11-16T14:00:00+01:00", "2026-11-16T15:00:00+01:00"),
        ("2026-11-23T14:00:00+01:00", "2026-11-23T15:00:00+01:00"),
        ("2026-11-30T14:00:00+01:00", "2026-11-30T15:00:00+01:00"),
        ("2026-12-07T14:00:00+01:00", "2026-12-07T15:00:00+01:00"),
    ]
    assert [(e["start"], e["end"]) for e in tuesdays] == [
        ("2026-11-17T09:00:00+01:00", "2026-11-17T10:00:00+01:00"),
        ("2026-11-24T09:00:00+01:00", "2026-11-24T10:00:00+01:00"),
        ("2026-12-01T09:00:00+01:00", "2026-12-01T10:00:00+01:00"),
        ("2026-12-08T09:00:00+01:00", "2026-12-08T10:00:00+01:00"),
    ]


async def test_a_series_time_change_keeps_a_deleted_occurrence_deleted_and_a_moved_one_single(
    fresh_calendar: Shared,
) -> None:
    session = fresh_calendar.session
    before = await weekly_occurrences(session)
    await call(session, "delete_event", id=before[1]["id"])
    await change(session, before[3], start="2026-12-08T10:00", end="2026-12-08T11:00")
    await change(session, before[2], summary="Stand-up with demo")
    await change(
        session, before[0], scope="series", start="2026-11-16T09:00", end="2026-11-16T10:00"
    )
    after = await listed(session)
    assert [(e["start"], e["summary"]) for e in after] == [
        ("2026-11-16T09:00:00+01:00", "Stand-up"),
        ("2026-11-30T09:00:00+01:00", "Stand-up with demo"),
        ("2026-12-08T10:00:00+01:00", "Stand-up"),
    ]


async def test_an_occurrence_id_from_before_a_series_change_is_answered_as_gone_and_changes_nothing(
    fresh_calendar: Shared,
) -> None:
    session = fresh_calendar.session
    old = await weekly_occurrences(session)
    await change(session, old[0], scope="series", start="2026-11-16T14:00")
    moved = await starts(session)
    update = await session.call_tool(
        "update_event", {"id": old[1]["id"], "start": "2026-11-23T16:00"}
    )
    delete = await session.call_tool("delete_event", {"id": old[2]["id"]})
    series = await session.call_tool(
        "update_event", {"id": old[3]["id"], "scope": "series", "start": "2026-12-07T08:00"}
    )
    after = await starts(session)
    assert "no longer exists" in error_text(update)
    assert "no longer exists" in error_text(delete)
    assert "no longer exists" in error_text(series)
    assert (
        after
        == moved
        == [
            "2026-11-16T14:00:00+01:00",
            "2026-11-23T14:00:00+01:00",
            "2026-11-30T14:00:00+01:00",
            "2026-12-07T14:00:00+01:00",
        ]
    )


async def test_forged_occurrence_ids_are_answered_as_gone_and_change_nothing(
    fresh_calendar: Shared,
) -> None:
    session = fresh_calendar.session
    series = await weekly(session, count=2)
    single = await create(session, "Dentist", "2026-11-18T08:00", "2026-11-18T09:00")
    before = await listed(session)
    answers = [
        await session.call_tool(
            "update_event",
            {"id": forged(single["id"], "20261125T080000"), "summary": "Phantom"},
        ),
        await session.call_tool("delete_event", {"id": forged(single["id"], "20261118T080000")}),
        await session.call_tool(
            "update_event",
            {"id": forged(series["id"], "20261117T100000"), "summary": "Phantom"},
        ),
        await session.call_tool("delete_event", {"id": forged(series["id"], "20261124T100000")}),
        await session.call_tool(  # a Monday, but after the series' last one
            "delete_event", {"id": forged(series["id"], "20261130T100000")}
        ),
    ]
    after = await listed(session)
    assert all("no longer exists" in error_text(a) for a in answers)
    assert [(e["start"], e["summary"]) for e in after] == [
        (e["start"], e["summary"]) for e in before
    ]
    assert len(after) == 3


async def test_a_rule_change_that_drops_occurrences_is_a_series_delete_when_those_are_off(
    calendar_env: dict[str, str], tmp_path: Path
) -> None:
    calendar_env["MAILBOX_ALLOW_SERIES_DELETE"] = "0"
    async with mcp_session(calendar_env, tmp_path / "err.log") as session:
        created = await weekly(session)
        before = await listed(session)
        refusals = [
            await session.call_tool(
                "update_event",
                {"id": before[1]["id"], "scope": "series", "rrule": "FREQ=DAILY;COUNT=1"},
            ),
            await session.call_tool(
                "update_event", {"id": before[0]["id"], "scope": "series", "rrule": ""}
            ),
            await session.call_tool(
                "update_event", {"id": created["id"], "rrule": "FREQ=WEEKLY;COUNT=2"}
            ),
            await session.call_tool(
                "update_event",
                {"id": created["id"], "scope": "series", "rrule": "FREQ=MONTHLY;COUNT=4"},
            ),
        ]
        unchanged = await starts(session)
        longer = await session.call_tool(
            "update_event", {"id": created["id"], "scope": "series", "rrule": "FREQ=WEEKLY;COUNT=5"}
        )
        after = await starts(session)
    for refusal in refusals:
        text = error_text(refusal)
        assert text.startswith("Nothing was changed") and "MAILBOX_ALLOW_SERIES_DELETE=0" in text
    assert unchanged == [e["start"] for e in before]
    assert not longer.is_error and len(after) == 5


async def test_changing_only_the_time_zone_keeps_the_wall_clock_times_there_and_says_so(
    fresh_calendar: Shared,
) -> None:
    session = fresh_calendar.session
    single = await create(session, "Call", "2026-11-18T10:00", "2026-11-18T11:00")
    await weekly(session, count=3)
    series = [e for e in await listed(session) if e["summary"] == "Stand-up"]
    await call(session, "delete_event", id=series[1]["id"])
    one = await session.call_tool(
        "update_event", {"id": single["id"], "timezone": "America/New_York"}
    )
    whole = await session.call_tool(
        "update_event",
        {"id": series[0]["id"], "scope": "series", "timezone": "America/New_York"},
    )
    after = await listed(session)
    assert "America/New_York" in text_of(one) and "10:00" in text_of(one)
    assert "America/New_York" in text_of(whole)
    assert [(e["summary"], e["start"], e["end"]) for e in after] == [
        ("Stand-up", "2026-11-16T16:00:00+01:00", "2026-11-16T17:00:00+01:00"),
        ("Call", "2026-11-18T16:00:00+01:00", "2026-11-18T17:00:00+01:00"),
        ("Stand-up", "2026-11-30T16:00:00+01:00", "2026-11-30T17:00:00+01:00"),
    ]


async def test_plain_dates_without_all_day_are_answered_with_a_hint_to_set_all_day(
    fresh_calendar: Shared,
) -> None:
    session = fresh_calendar.session
    created = await session.call_tool(
        "create_event", {"summary": "Trip", "start": "2026-11-20", "end": "2026-11-20"}
    )
    single = await create(session, "Call", "2026-11-18T10:00", "2026-11-18T11:00")
    updated = await session.call_tool(
        "update_event", {"id": single["id"], "start": "2026-11-20", "end": "2026-11-20"}
    )
    after = await listed(session)
    assert "all_day" in error_text(created) and "all_day" in error_text(updated)
    assert [e["start"] for e in after] == ["2026-11-18T10:00:00+01:00"]
