"""Every task tool, called as a confused or hostile agent would: dates in year 1 and 9999,
offsets, rules with impossible parts, priorities and ids from nowhere, event ids, ids
whose object was forged to lie elsewhere, null for every field. Whatever it is given, a
tool answers with a result or one sentence of ours: never "unexpectedly", a library's
repr or msgspec's notation. Runs against Radicale and Xandikos.

One MCP session, held open in a blocking portal, serves every example (see test_fuzz_mail).
"""

from __future__ import annotations

import base64
from pathlib import Path

import msgspec
import pytest
from hypothesis import strategies as st

from tests.mcp_client import structured
from tests.security.test_fuzz_calendar_tools import CURSORS, DATES, LIMITS, RULES
from tests.security.test_fuzz_mail import bounded_call
from tests.security.test_fuzz_mail_tools import Call, answer_every_call, restart_free_session, tool

pytestmark = pytest.mark.tool_families("tasks", "calendar")

PRIORITIES = st.sampled_from(["high", "medium", "low", "urgent", "", "1", None])
CATEGORIES = st.lists(st.text(max_size=12), max_size=3) | st.none()
LISTS = st.sampled_from(["Calendar", "calendar", "Tasks", "", "/", "../", None]) | st.text(
    max_size=12
)


def elsewhere(task_id: str, href: str) -> str:
    """``task_id`` with its object moved to ``href`` (a forged id)."""
    body = task_id.removeprefix("td_").partition(".")[0]  # a repeating task's occurrence
    parts = list(msgspec.msgpack.decode(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))
    parts[1] = href
    return "td_" + base64.urlsafe_b64encode(msgspec.msgpack.encode(parts)).decode().rstrip("=")


def ids_from(real: list[str], event: str) -> st.SearchStrategy[str]:
    """Ids as list_tasks made them, forged to name other objects, event ids, or nothing."""
    hrefs = st.sampled_from(
        ["../x.ics", "//evil.example/x.ics", "/", "", "x.ics", "a/b.ics", "\r\n.ics"]
    ) | st.text(max_size=12)
    forged = st.tuples(st.sampled_from(real), hrefs).map(lambda p: elsewhere(*p))
    wrong_tool = st.sampled_from([event, "ev_x", "td_", "td_garbage", "INBOX#1.1", "td_AAAA.u1"])
    return st.sampled_from(real) | forged | wrong_tool | st.text(max_size=30)


def calls(real: list[str], event: str) -> st.SearchStrategy[Call]:
    ids = ids_from(real, event)

    fields = {
        "due": DATES | st.none(),
        "start": DATES | st.none(),
        "priority": PRIORITIES,
        "description": st.text(max_size=20) | st.none(),
        "categories": CATEGORIES,
        "recurrence": RULES | st.none(),
        "reminder_minutes": st.integers(-5, 50000) | st.none(),
    }
    return st.one_of(
        tool(
            "list_tasks",
            task_list=LISTS,
            include_completed=st.booleans(),
            due_before=DATES,
            query=st.text(max_size=10),
            limit=LIMITS,
            cursor=CURSORS,
        ),
        tool("create_task", summary=st.text(min_size=1, max_size=10), task_list=LISTS, **fields),
        tool(
            "update_task",
            id=ids,
            completed=st.booleans() | st.none(),
            summary=st.text(min_size=1, max_size=10),
            **fields,
        ).filter(lambda c: "id" in c[1]),
        tool("delete_task", id=ids).filter(lambda c: "id" in c[1]),
    )


SEEDED = {
    "Weekly chore": {"due": "2026-03-02", "recurrence": "FREQ=WEEKLY;COUNT=50"},
    "Single": {"due": "2026-03-04T12:00"},
    "Undated": {},
}


def well_formed(weekly: str, single: str, undated: str) -> list[Call]:
    """A plain call of each tool, so every run reaches each tool's answer and not only its
    refusals (the drawn calls are nearly all refused)."""
    return [
        ("list_tasks", {"include_completed": True}),
        ("list_tasks", {"due_before": "2026-03-10", "query": "chore"}),
        ("create_task", {"summary": "Planned", "due": "2026-03-10", "priority": "low"}),
        ("update_task", {"id": weekly, "completed": True}),
        ("update_task", {"id": single, "due": None, "categories": ["x"]}),
        ("delete_task", {"id": undated}),
    ]


def test_no_task_tool_answers_with_a_crash_or_a_repr_whatever_it_is_given(
    calendar_env: dict[str, str], tmp_path: Path
) -> None:
    calendar_env |= {"MAILBOX_TOOLS": "tasks,calendar"}
    with restart_free_session(calendar_env, tmp_path / "err.log") as (portal, session):
        for summary, args in SEEDED.items():
            portal.call(bounded_call, session, "create_task", {"summary": summary, **args})
        event = structured(
            portal.call(
                bounded_call,
                session,
                "create_event",
                {"summary": "Meeting", "start": "2026-03-03T10:00", "end": "2026-03-03T11:00"},
            )
        )["id"]
        found = structured(portal.call(bounded_call, session, "list_tasks", {}))["tasks"]
        real = [t["id"] for t in found]
        weekly, single, undated = (
            next(t["id"] for t in found if t["summary"] == s) for s in SEEDED
        )

        plain = well_formed(weekly, single, undated)
        answers = answer_every_call(portal, session, calls(real, event), plain)
    assert answers["ok"] >= 5 and answers["refused"] >= 10, answers
