"""Benchmark (``tox -e bench``): every reading calendar tool through MCP, beside its floor.

The seeded account's calendar holds 5,000 events on Radicale, a third of them
recurring (seed_calendar.py). Each floor is the same request sent by a bare
caldav DAVClient over a warm session in the same run (a PROPFIND of the home for
the listing, a time-range calendar-query REPORT otherwise); ours adds parsing,
local recurrence expansion, the pipe and MCP. The cache is off.

The event lists are large answers (a week of this calendar is about 600
occurrences, 270 KB of JSON), so they are also timed beside the bare REPORT plus
the minimal SDK server delivering the very same answer ("vs bare + MCP"): the
Python client alone spends a good part of a call validating such an answer
against its outputSchema.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.mcp_client import mcp_session, structured
from tests.perf.bench import REPORT, BenchAccount, beside_bare_work_and_delivery, timed_side_by_side
from workers.dav.client import LIST_CALENDARS_PROPFIND

pytestmark = pytest.mark.anyio

ROUNDS = 10  # each REPORT over 5,000 events costs Radicale a second or more
QUERY = """<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data/></d:prop>
  <c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">
    <c:time-range start="{start:%Y%m%dT%H%M%SZ}" end="{end:%Y%m%dT%H%M%SZ}"/>
  </c:comp-filter></c:comp-filter></c:filter>
</c:calendar-query>"""


@dataclass(frozen=True)
class Case:
    tool: str
    args: dict[str, Any]
    floor: Callable[[], int]  # returns the objects (or calendars) the server sent
    floor_is: str
    check: Callable[[Any], None]
    target: float | None = None


def days(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """From the start of ``first`` to the end of ``last`` in ``zone``, in UTC, as our
    tools read a pair of dates."""
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def events_within(first: str, last: str) -> Callable[[Any], None]:
    def check(answer: Any) -> None:
        assert answer["events"], "no events in the range"
        assert all(e["start"][:10] <= last and e["end"][:10] >= first for e in answer["events"])

    return check


def every_event_mentions(word: str) -> Callable[[Any], None]:
    def check(answer: Any) -> None:
        assert answer["events"] and all(word in e["summary"] for e in answer["events"])

    return check


def calendar_listed(answer: Any) -> None:
    assert [c["name"] for c in answer["calendars"]] == ["Calendar"]


def busy_and_free(answer: Any) -> None:
    assert answer["busy"] and answer["free"]


async def test_calendar_tools_beside_their_floors(
    bench_env: dict[str, str], tmp_path: Path, bench_account: BenchAccount
) -> None:
    zone = ZoneInfo(bench_env["MAILBOX_TIMEZONE"])
    client = bench_account.dav_client()

    def listing() -> int:
        response = client.propfind(bench_account.home_url, LIST_CALENDARS_PROPFIND, depth=1)
        assert response.status == 207 and response.tree is not None
        return len(response.tree)

    def report(first: date, last: date) -> Callable[[], int]:
        body = QUERY.format_map(dict(zip(("start", "end"), days(first, last, zone), strict=True)))

        def run() -> int:
            response = client.report(bench_account.calendar_url, body, depth=1)
            assert response.status == 207 and response.tree is not None
            return len(response.tree)

        return run

    def events(first: str, last: str, floor_is: str, target: float | None = None) -> Case:
        """get_calendar_events from ``first`` to ``last``, beside the REPORT of that range."""
        return Case(
            "get_calendar_events",
            {"start": first, "end": last},
            report(date.fromisoformat(first), date.fromisoformat(last)),
            floor_is,
            events_within(first, last),
            target,
        )

    today = datetime.now(zone).date()
    cases = {
        "list_calendars": Case(
            "list_calendars", {}, listing, "PROPFIND home, depth 1", calendar_listed
        ),
        "get_calendar_events week": events(
            "2026-03-09", "2026-03-15", "REPORT calendar-query, one week", target=1.5
        ),
        "get_calendar_events month": events(
            "2026-03-01", "2026-03-31", "REPORT calendar-query, one month"
        ),
        "search_calendar (today +-1 year)": Case(
            "search_calendar",
            {"query": "budget"},
            report(today - timedelta(days=365), today + timedelta(days=365)),
            "REPORT calendar-query, two years",
            every_event_mentions("budget"),
        ),
        "get_free_busy two weeks": Case(
            "get_free_busy",
            {"start": "2026-03-09", "end": "2026-03-22"},
            report(date(2026, 3, 9), date(2026, 3, 22)),
            "REPORT calendar-query, two weeks",
            busy_and_free,
        ),
    }
    env = {**bench_env, "MAILBOX_CACHE_CALENDAR_TTL": "0", "MAILBOX_CALL_TIMEOUT": "120"}
    async with mcp_session(env, tmp_path / "calendar.log") as session:
        for name, case in cases.items():
            case.check(structured(await session.call_tool(case.tool, case.args)))

            async def our_call(case: Case = case) -> object:
                return await session.call_tool(case.tool, case.args)

            async def floor_call(case: Case = case) -> int:
                return case.floor()

            ours, floor = await timed_side_by_side(our_call, floor_call, ROUNDS)
            REPORT.latency(name, ours, floor, floor=case.floor_is, target=case.target)
            if case.tool != "get_calendar_events":
                continue
            await beside_bare_work_and_delivery(
                name,
                session,
                (case.tool, case.args),
                case.floor,
                floor_is=case.floor_is,
                rounds=ROUNDS,
                target=case.target,
            )
