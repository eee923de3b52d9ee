"""What the attack tests of the task tools share (tests/e2e/test_attack_tasks.py and
test_attack_task_data.py): reading the raw object back, forging ids, and judging a
refusal as one plain sentence of ours."""

from __future__ import annotations

import base64
import http.client
import re
from typing import Any

import anyio
import mcp_types as types
import msgspec
import pytest

from tests.calendar_calls import call
from tests.e2e.test_tasks import make_calendar, put, todo
from tests.mcp_client import error_text, text_of
from tests.server_env import Shared
from tests.servers.dav import DavAccount, DavServer, RadicaleServer
from workers.dav.todo_ids import parse_task_id

EVENTS_ONLY = "Events only"


def login_of(shared: Shared) -> tuple[DavServer, DavAccount]:
    return shared.dav, shared.dav_login()


def get(shared: Shared, path: str) -> tuple[int, str]:
    server, login = login_of(shared)
    status, body = server.request(login, "GET", path)
    return status, body.decode("utf-8", "replace").replace("\r\n ", "").replace("\r\n", "\n")


def raw(shared: Shared, task_id: str) -> str:
    status, body = get(shared, parse_task_id(task_id).href)
    assert status == 200, status
    return body


def put_task(shared: Shared, uid: str, *lines: str) -> None:
    """A todo ``uid`` with ``lines`` written straight into the list "Tasks", past the tools."""
    server, login = login_of(shared)
    put(server, login, f"{server.home_path(login)}tasks/", f"{uid}.ics", todo(uid, *lines))


def new_list(shared: Shared, name: str) -> str:
    """A task list of its own (path), with one task 'victim' in it."""
    server, login = login_of(shared)
    path = make_calendar(server, login, name, name)
    put(server, login, path, "victim.ics", todo("victim", "SUMMARY:Victim"))
    return path


def forged(prefix: str, calendar: str, href: str, uid: str | None) -> str:
    """An id as workers.dav.ids writes one, naming whatever the attacker likes."""
    raw_id = msgspec.msgpack.encode([calendar, href.removeprefix(calendar), uid, ""])
    return prefix + base64.urlsafe_b64encode(raw_id).decode().rstrip("=")


def plain_sentence(text: str) -> None:
    """One sentence of ours: no library repr, no server bytes, no 'unexpectedly'."""
    assert "unexpectedly" not in text and "\n" not in text, text
    assert not re.search(r"Traceback|Error\(|<[a-z]+:|HTTP/1|BEGIN:V", text), text
    assert len(text) < 400, text


async def refused(session: Any, tool: str, **args: Any) -> str:
    text = error_text(await session.call_tool(tool, args))
    plain_sentence(text)
    return text


async def at_once(session: Any, *calls: tuple[str, dict[str, Any]]) -> list[types.CallToolResult]:
    """The answers to ``calls`` made all at once; each refusal must be one plain sentence."""
    answers: list[types.CallToolResult] = []

    async def run(tool: str, args: dict[str, Any]) -> None:
        answers.append(await session.call_tool(tool, args))

    async with anyio.create_task_group() as group:
        for tool, args in calls:
            group.start_soon(run, tool, args)
    for answer in answers:
        if answer.is_error:
            plain_sentence(text_of(answer))
    return answers


async def tasks(session: Any, **args: Any) -> list[dict[str, Any]]:
    return list((await call(session, "list_tasks", limit=500, **args))["tasks"])


async def summaries(session: Any) -> set[str]:
    return {t["summary"] for t in await tasks(session)}


async def by_summary(session: Any, summary: str, **args: Any) -> dict[str, Any]:
    args.setdefault("query", summary)  # past the thousand tasks of the list "Crowd"
    (found,) = [t for t in await tasks(session, **args) if t["summary"] == summary]
    return found


def restarts(shared: Shared) -> int:
    """How often a worker was started after the first time (a crash, or a hang)."""
    return (shared.folder / "err.log").read_text().count("worker.ready") - 1


def put_bytes(server: DavServer, login: DavAccount, path: str, body: bytes) -> int:
    connection = http.client.HTTPSConnection(
        "localhost", server.port, context=server.certificates.client_context(), timeout=60
    )
    token = base64.b64encode(f"{login.username}:{login.password}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Content-Type": "text/calendar"}
    try:
        connection.request("PUT", path, body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def radicale_only(shared: Shared) -> None:
    if not isinstance(shared.dav, RadicaleServer):
        pytest.skip("Xandikos cannot make a list read-only (every user has DAV:all)")
