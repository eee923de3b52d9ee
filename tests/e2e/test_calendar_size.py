"""Calendar answers stay small (issue 17, item 10), each test against Radicale and Xandikos.

A weekday stand-up over three months is 65 occurrences; before paging, the text of
get_calendar_events over that range was 20 KB. Sizes are printed (pytest -s).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.ics_factory import STAMP, calendar
from tests.mcp_client import error_text, structured, text_of
from tests.server_env import Shared, module_calendar_server
from tests.servers.dav import DavAccount, DavServer

FAMILIES = ("calendar",)
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]

# Every weekday 09:00-09:15 in Berlin (07:00Z in summer time), from April to June 2026:
# 65 weekdays, one of them excluded and one moved to the afternoon.
STAND_UP = calendar(
    [
        "UID:stand-up@tests",
        STAMP,
        "DTSTART:20260401T070000Z",
        "DTEND:20260401T071500Z",
        "RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20260630T235959Z",
        "EXDATE:20260501T070000Z",
        "SUMMARY:Stand-up",
        "LOCATION:Room 4",
    ],
    [
        "UID:stand-up@tests",
        STAMP,
        "RECURRENCE-ID:20260415T070000Z",
        "DTSTART:20260415T130000Z",
        "DTEND:20260415T131500Z",
        "SUMMARY:Stand-up (moved)",
    ],
)
RANGE = {"start": "2026-04-01", "end": "2026-06-30"}
OCCURRENCES = 64


def with_the_stand_up(dav: DavServer, login: DavAccount) -> None:
    dav.put_object(login, "stand-up@tests.ics", STAND_UP)


stand_up = module_calendar_server(with_the_stand_up, FAMILIES)
"""One server on an account whose calendar holds STAND_UP, on each CalDAV server; the
tests only read it."""


def sizes(answer: Any) -> tuple[int, int]:
    text = len(text_of(answer).encode())
    return text, len(json.dumps(structured(answer), ensure_ascii=False).encode())


async def test_a_three_month_weekday_series_answers_in_under_4_kb_of_text(stand_up: Shared) -> None:
    session = stand_up.session
    calls = {
        "get_calendar_events": RANGE,
        "search_calendar": {"query": "stand-up"},
        "get_free_busy": RANGE,
    }
    answers = {tool: await session.call_tool(tool, args) for tool, args in calls.items()}
    for tool, answer in answers.items():
        text, json_bytes = sizes(answer)
        print(f"\n{stand_up.calendar} {tool}: text {text} bytes, structured {json_bytes} bytes")
    for tool, answer in answers.items():
        assert sizes(answer)[0] < 4096, (tool, text_of(answer)[:400])


async def test_the_text_sums_up_a_series_in_one_line_and_lists_the_moved_occurrence(
    stand_up: Shared,
) -> None:
    session = stand_up.session
    answer = await session.call_tool(
        "get_calendar_events", {"start": "2026-04-01", "end": "2026-05-10", "limit": 40}
    )
    text, found = text_of(answer), structured(answer)
    assert len(found["events"]) == 27 and found["total"] == 27
    assert (
        "- 09:00 to 09:15 (+02:00) on weekdays, 26 times from 2026-04-01 to 2026-05-08, "
        "not on 2026-04-15, 2026-05-01 | Stand-up @ Room 4 | Calendar | id of the first"
    ) in text
    assert "- 2026-04-15 15:00 to 15:15 (+02:00) | Stand-up (moved) | Calendar | id" in text
    assert text.count("Stand-up") == 2 and found["next_cursor"] is None


async def test_pages_of_a_series_follow_one_another_to_every_occurrence_once(
    stand_up: Shared,
) -> None:
    session = stand_up.session
    pages = []
    args: dict[str, Any] = {**RANGE, "limit": 20}
    while True:
        page = structured(await session.call_tool("get_calendar_events", args))
        pages.append(page)
        if not page["next_cursor"]:
            break
        args = {**args, "cursor": page["next_cursor"]}
    assert [len(p["events"]) for p in pages] == [20, 20, 20, 4]
    assert {p["total"] for p in pages} == {OCCURRENCES}
    starts = [e["start"] for p in pages for e in p["events"]]
    ids = [e["id"] for p in pages for e in p["events"]]
    assert starts == sorted(starts) and len(set(ids)) == len(ids) == OCCURRENCES
    assert "2026-05-01T09:00:00+02:00" not in starts
    assert "2026-04-15T15:00:00+02:00" in starts
    # An occurrence's id is the series' id, a dot and a short key.
    assert len({i.partition(".")[0] for i in ids}) == 1
    assert all(0 < len(i.partition(".")[2]) <= 8 for i in ids)
    print(f"\n{stand_up.calendar} occurrence id: {len(ids[0])} characters")


async def test_free_busy_pages_through_one_timeline_of_busy_and_free_time(stand_up: Shared) -> None:
    session = stand_up.session
    busy: list[str] = []
    free: list[str] = []
    args: dict[str, Any] = {**RANGE, "limit": 30}
    whole = structured(await session.call_tool("get_free_busy", {**RANGE, "limit": 1000}))
    while True:
        page = structured(await session.call_tool("get_free_busy", args))
        assert len(page["busy"]) + len(page["free"]) <= 30
        busy += [b["start"] for b in page["busy"]]
        free += [f["start"] for f in page["free"]]
        if not page["next_cursor"]:
            break
        args = {**args, "cursor": page["next_cursor"]}
    assert whole["next_cursor"] is None and whole["total"] == len(busy) + len(free)
    assert busy == [b["start"] for b in whole["busy"]] and len(busy) == OCCURRENCES


async def test_a_cursor_from_another_range_or_tool_is_refused_in_a_sentence(
    stand_up: Shared,
) -> None:
    session = stand_up.session
    first = structured(await session.call_tool("get_calendar_events", RANGE))
    cursor = first["next_cursor"]
    other_range = await session.call_tool(
        "get_calendar_events", {"start": "2026-04-02", "end": "2026-06-30", "cursor": cursor}
    )
    other_tool = await session.call_tool(
        "search_calendar", {**RANGE, "query": "stand", "cursor": cursor}
    )
    made_up = await session.call_tool("get_calendar_events", {**RANGE, "cursor": "abc"})
    assert "another range" in error_text(other_range)
    assert "another range" in error_text(other_tool)
    assert "not one get_calendar_events gave out" in error_text(made_up)
