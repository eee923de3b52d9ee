"""Every calendar tool, called as a confused or hostile agent would: dates in year 1 and
9999, offsets, clock times the clocks skip or repeat, zones that are not zones, rules with
impossible parts, ids with a made-up occurrence. Whatever it is given, a tool answers with
a result or one sentence of ours: never "unexpectedly", a library's repr or msgspec's
notation. Runs against Radicale and Xandikos.

One MCP session, held open in a blocking portal, serves every example (see test_fuzz_mail).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest
from hypothesis import strategies as st

from tests.mcp_client import structured
from tests.security.test_fuzz_mail import bounded_call
from tests.security.test_fuzz_mail_tools import Call, answer_every_call, restart_free_session, tool

pytestmark = pytest.mark.tool_families("calendar")


OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
DATES = (
    st.sampled_from(
        [
            "0001-01-01",
            "0001-01-01T00:00",
            "9999-12-31",
            "9999-12-30",
            "9999-12-31T23:59:59+00:00",
            "9999-12-31T23:00-05:00",
            "0001-01-01T00:30+14:00",
            "2026-02-30",
            "2026-13-01",
            "today",
            "2026-03-29T02:30",
            "2026-10-25T02:30",
            "2026-12-16T09:00-05:00",
            "2026-12-16T09:00Z",
            "2026-12-16T09:00:00.123456",
            "2026-12-16 09:00",
            "20261216T090000Z",
        ]
    )
    | st.dates().map(lambda d: d.isoformat())
    | st.datetimes(datetime(2026, 3, 1), datetime(2026, 3, 31)).map(
        lambda d: d.isoformat(timespec="minutes")
    )
    | st.datetimes().map(lambda d: d.isoformat(timespec="minutes"))
    | st.datetimes(timezones=OFFSETS | st.just(UTC)).map(lambda d: d.isoformat())
)
ZONES = st.sampled_from(
    [
        "Europe/Berlin",
        "America/New_York",
        "UTC",
        "Pacific/Kiritimati",
        "Nope/Nowhere",
        "",
        "+05:00",
        "../etc/passwd",
        "EST5EDT",
        "Etc/GMT+12",
    ]
) | st.text(max_size=20)
RULE_PARTS = st.sampled_from(
    [
        "FREQ=DAILY",
        "FREQ=WEEKLY",
        "FREQ=MONTHLY",
        "FREQ=YEARLY",
        "FREQ=HOURLY",
        "FREQ=FORTNIGHTLY",
        "COUNT=-3",
        "COUNT=0",
        "COUNT=3",
        "COUNT=99999999999999999999",
        "UNTIL=20261209",
        "UNTIL=20261209T120000Z",
        "UNTIL=99991231",
        "UNTIL=00010101",
        "UNTIL=2026",
        "INTERVAL=0",
        "INTERVAL=2",
        "BYDAY=MO,WE",
        "BYDAY=5FR",
        "BYDAY=-1SU",
        "BYDAY=XX",
        "BYMONTHDAY=31",
        "BYMONTHDAY=0",
        "BYMONTHDAY=-40",
        "BYMONTH=2",
        "BYMONTH=13",
        "BYSETPOS=-1",
        "BYHOUR=25",
        "WKST=SU",
        "WKST=XX",
        "X-FOO=1",
        "",
        "=",
    ]
)
RULES = st.lists(RULE_PARTS, min_size=1, max_size=4).map(";".join) | st.text(max_size=30)
RECURRENCES = st.sampled_from(
    [
        "",
        "tomorrow",
        "20261399",
        "20260302T250000",
        "2026030",
        "20260302",
        "20260302T080000Z",
        "99991231T235959Z",
        "00010101",
        "20260309T090000",
    ]
) | st.text(max_size=16)
ADDRESSES = st.sampled_from(
    [
        "not an email",
        "anna@example.org",
        "Anna Berg <anna@example.org>",
        "a@b",
        "<>",
        "x@y@z",
        "jürgen@exämple.de",
        "Berg, Anna <anna@example.org>",
    ]
) | st.text(max_size=30)


LIMITS = st.integers(-2, 2000)
CURSORS = st.text(max_size=40) | st.sampled_from(["0", "AAAA", "eyJvIjo1fQ", "-1", "ev_x"])


def with_recurrence(event_id: str, recurrence: str) -> str:
    body = event_id.removeprefix("ev_").partition(".")[0]  # the series, not the occurrence key
    parts = list(msgspec.msgpack.decode(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))
    parts[3:] = [recurrence]
    return "ev_" + base64.urlsafe_b64encode(msgspec.msgpack.encode(parts)).decode().rstrip("=")


def ids_from(real: list[str]) -> st.SearchStrategy[str]:
    """Ids as get_calendar_events made them, with the occurrence made up, or from nowhere."""
    changed = st.tuples(st.sampled_from(real), RECURRENCES).map(lambda p: with_recurrence(*p))
    wrong_tool = st.sampled_from(["INBOX#1.1", "ev_", "ev_garbage", "ev_AAAA", "/calendar/x.ics"])
    return st.sampled_from(real) | changed | wrong_tool | st.text(max_size=30)


def calls(real: list[str]) -> st.SearchStrategy[Call]:
    ids = ids_from(real)

    event_fields = {
        "start": DATES,
        "end": DATES,
        "all_day": st.booleans(),
        "timezone": ZONES,
        "rrule": RULES,
        "attendees": st.lists(ADDRESSES, max_size=2),
        "reminders_minutes": st.lists(st.integers(-5, 50000), max_size=2),
    }
    return st.one_of(
        tool("get_calendar_events", start=DATES, end=DATES, limit=LIMITS, cursor=CURSORS),
        tool(
            "search_calendar",
            query=st.text(min_size=1, max_size=10),
            start=DATES,
            end=DATES,
            limit=LIMITS,
            cursor=CURSORS,
        ),
        tool(
            "get_free_busy",
            start=DATES,
            end=DATES,
            limit=LIMITS,
            cursor=CURSORS,
            duration_minutes=st.integers(-1, 2000),
            working_hours=st.sampled_from(["09:00-17:00", "17:00-09:00", "24:00-24:00", "9-5"]),
            working_days=st.lists(st.integers(-1, 8), max_size=3),
        ),
        tool("create_event", summary=st.text(min_size=1, max_size=10), **event_fields),
        tool(
            "update_event",
            id=ids,
            scope=st.sampled_from(["occurrence", "series", "all"]),
            summary=st.text(min_size=1, max_size=10),
            **event_fields,
        ).filter(lambda c: "id" in c[1]),
        tool("delete_event", id=ids, scope=st.sampled_from(["occurrence", "series"])).filter(
            lambda c: "id" in c[1]
        ),
    )


SEEDED = {
    "Weekly": ("2026-03-02T09:00", "FREQ=WEEKLY;COUNT=5"),
    "Single": ("2026-03-04T12:00", None),
}


def well_formed(weekly: str, single: str) -> list[Call]:
    """A plain call of each tool, so every run reaches each tool's answer and not only
    its refusals (the drawn calls are nearly all refused). ``weekly`` is the id of an
    occurrence of a series, ``single`` of an event in another object."""
    march = {"start": "2026-03-01", "end": "2026-03-31"}
    return [
        ("get_calendar_events", march),
        ("search_calendar", {"query": "Weekly", **march}),
        ("get_free_busy", {"start": "2026-03-02", "end": "2026-03-06"}),
        (
            "create_event",
            {"summary": "Planned", "start": "2026-03-10T10:00", "end": "2026-03-10T11:00"},
        ),
        ("update_event", {"id": weekly, "summary": "Renamed"}),
        ("delete_event", {"id": single}),
    ]


def test_no_calendar_tool_answers_with_a_crash_or_a_repr_whatever_it_is_given(
    calendar_env: dict[str, str], tmp_path: Path
) -> None:
    with restart_free_session(calendar_env, tmp_path / "err.log") as (portal, session):
        for summary, (start, rule) in SEEDED.items():
            args = {"summary": summary, "start": start, "end": start[:11] + "23:00"}
            portal.call(
                bounded_call, session, "create_event", args | ({"rrule": rule} if rule else {})
            )
        found = structured(
            portal.call(
                bounded_call,
                session,
                "get_calendar_events",
                {"start": "2026-03-01", "end": "2026-03-31"},
            )
        )["events"]
        real = [e["id"] for e in found]
        weekly, single = (next(e["id"] for e in found if e["summary"] == s) for s in SEEDED)

        plain = well_formed(weekly, single)
        answers = answer_every_call(portal, session, calls(real), plain)
    assert answers["ok"] >= 5 and answers["refused"] >= 10, answers
