"""The MCP server as a whole: listing, start-up, crashes, configuration, shutdown."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.mcp_client import REPO, error_text, mcp_session, structured
from tests.stdio_server import seconds_to_exit_once_stdin_closes, started_server

pytestmark = pytest.mark.anyio


WORKERS = 4  # IMAP, SMTP, CalDAV, ManageSieve


def log_events(path: Path, event: str, worker: str | None = None) -> list[dict[str, object]]:
    events = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("event") == event and worker in (None, record.get("worker")):
                events.append(record)
    return events


@asynccontextmanager
async def json_logged_session(
    env: dict[str, str], tmp_path: Path
) -> AsyncIterator[tuple[Any, Path]]:
    """A session whose server logs JSON lines (read by ``log_events``); it and its log."""
    env["MAILBOX_LOG_FORMAT"] = "json"
    log = tmp_path / "stderr.log"
    async with mcp_session(env, log) as session:
        yield session, log


async def every_worker_ready(session: Any, log: Path) -> list[dict[str, object]]:
    """After one call, each worker's ``worker.ready`` line, once all have logged theirs."""
    structured(await session.call_tool("get_folders", {}))
    with anyio.fail_after(10):
        while len(log_events(log, "worker.ready")) < WORKERS:
            await anyio.sleep(0.05)
    return log_events(log, "worker.ready")


@pytest.mark.tool_families("mail")
async def test_tools_list_shows_schemas_and_annotations(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    async with mcp_session(server_env, tmp_path / "stderr.log") as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert {"get_folders", "create_directory"} <= set(tools)
    get_folders, create = tools["get_folders"], tools["create_directory"]
    assert get_folders.input_schema["type"] == "object"
    assert create.input_schema["required"] == ["name"]
    assert create.input_schema["properties"]["name"]["type"] == "string"
    assert get_folders.output_schema is not None
    assert get_folders.output_schema["type"] == "object"
    assert "folders" in get_folders.output_schema["properties"]
    assert get_folders.annotations is not None and get_folders.annotations.read_only_hint is True
    assert create.annotations is not None and create.annotations.read_only_hint is False
    assert create.annotations.destructive_hint is False
    assert all(len(tool.description or "") > 80 for tool in tools.values())


@pytest.mark.tool_families("mail")
async def test_tools_list_is_answered_before_any_worker_is_ready(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    # Every worker waits at boot until the gate exists, which is made only once tools/list
    # has been answered: a server that waited for its workers would never answer it.
    gate = tmp_path / "workers may boot"
    server_env["PYTHONPATH"] = str(REPO / "tests" / "data" / "slow_worker_boot")
    server_env["SLOW_WORKER_BOOT_UNTIL"] = str(gate)
    async with json_logged_session(server_env, tmp_path) as (session, log):
        with anyio.fail_after(30):
            tools = (await session.list_tools()).tools
        assert not log_events(log, "worker.ready")
        gate.touch()
        folders = structured(await session.call_tool("get_folders", {}))
    assert tools and folders["folders"]


@pytest.mark.tool_families("mail")
async def test_a_killed_imap_worker_is_restarted_and_the_next_call_succeeds(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    async with json_logged_session(server_env, tmp_path) as (session, log):
        structured(await session.call_tool("get_folders", {}))
        (ready,) = log_events(log, "worker.ready", "imap")
        os.kill(int(str(ready["pid"])), signal.SIGKILL)
        after_kill = await session.call_tool("get_folders", {})
    second = structured(after_kill)
    assert len(second["folders"]) == 6
    assert not after_kill.content[0].text.startswith("Note:")  # type: ignore[union-attr]
    assert len(log_events(log, "worker.restart")) == 1
    assert len(log_events(log, "worker.ready", "imap")) == 2


async def offered_and_refused(
    env: dict[str, str], tmp_path: Path, tool: str, args: dict[str, Any]
) -> tuple[set[str], str]:
    """The names of the tools a server started with ``env`` lists, and the error it
    answers a call of ``tool`` with."""
    async with mcp_session(env, tmp_path / "stderr.log") as session:
        names = {listed.name for listed in (await session.list_tools()).tools}
        return names, error_text(await session.call_tool(tool, args))


@pytest.mark.tool_families("mail")
async def test_a_configuration_error_is_reported_by_every_tool_call(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    env = server_env | {"MAILBOX_IMAP_PORT": "ninety-nine"}
    tools, message = await offered_and_refused(env, tmp_path, "get_folders", {})
    assert tools
    assert message == (
        "MAILBOX_IMAP_PORT must be a whole number from 1 to 65535, such as 993; "
        "it is 'ninety-nine'."
    )


@pytest.mark.tool_families("mail")
async def test_read_only_mode_hides_writing_tools(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    env = server_env | {"MAILBOX_READ_ONLY": "1"}
    names, refused = await offered_and_refused(env, tmp_path, "create_directory", {"name": "X"})
    assert "get_folders" in names and "create_directory" not in names
    assert "no tool named 'create_directory'" in refused


async def test_mailbox_tools_lists_only_the_chosen_families(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    env = server_env | {"MAILBOX_TOOLS": "mail"}
    names, refused = await offered_and_refused(env, tmp_path, "list_calendars", {})
    assert {"get_folders", "send_email", "server_status"} <= names
    assert not names & {"list_calendars", "get_calendar_events", "create_event"}
    assert "no tool named 'list_calendars'" in refused


async def test_a_family_turned_off_starts_no_worker(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    server_env["MAILBOX_TOOLS"] = "calendar"
    async with mcp_session(server_env, tmp_path / "stderr.log") as session:
        status = structured(await session.call_tool("server_status", {}))
        events = structured(
            await session.call_tool(
                "get_calendar_events", {"start": "2026-01-05", "end": "2026-01-06"}
            )
        )
    assert [worker["name"] for worker in status["workers"]] == ["dav"]
    assert events["events"] == []


@pytest.mark.tool_families("mail")
async def test_a_wrong_password_gives_one_sentence_without_the_password(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    server_env["MAILBOX_PASSWORD"] = "wrong-Secret-4711"
    log = tmp_path / "stderr.log"
    async with mcp_session(server_env, log) as session:
        message = error_text(await session.call_tool("get_folders", {}))
    assert "refused the login" in message and "app password" in message
    assert "wrong-Secret-4711" not in message
    assert "wrong-Secret-4711" not in log.read_text()


async def test_the_password_never_reaches_the_log_or_a_worker_environment(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    server_env["MAILBOX_LOG_LEVEL"] = "debug"
    async with json_logged_session(server_env, tmp_path) as (session, log):
        exposed = [
            Path(f"/proc/{ready['pid']}/{what}").read_bytes()
            for ready in await every_worker_ready(session, log)
            for what in ("environ", "cmdline")
        ]
    password = server_env["MAILBOX_PASSWORD"].encode()
    assert len(exposed) == 2 * WORKERS and not any(password in text for text in exposed)
    assert server_env["MAILBOX_PASSWORD"] not in log.read_text()


async def test_closing_stdin_stops_the_server_and_its_workers(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    async with json_logged_session(server_env, tmp_path) as (session, log):
        ready = await every_worker_ready(session, log)
    pids = [int(str(worker["pid"])) for worker in ready]
    with anyio.fail_after(10):
        for pid in pids:
            while Path(f"/proc/{pid}").exists() and _state(pid) != "Z":
                await anyio.sleep(0.05)
    assert log_events(log, "supervisor.stopped")
    assert len(log_events(log, "runtime.stopped")) == WORKERS


def test_closing_stdin_while_the_workers_start_exits_within_a_second_without_errors(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    # Workers that take 5 s to boot: the server must not wait for them to finish
    # booting, nor give each the whole shutdown timeout.
    server_env["PYTHONPATH"] = str(REPO / "tests" / "data" / "slow_worker_boot")
    server_env["SLOW_WORKER_BOOT_SECONDS"] = "5"
    log = tmp_path / "stderr.log"
    with open(log, "wb") as errlog:
        server = started_server(server_env, errlog)
        took = seconds_to_exit_once_stdin_closes(server)
    # Under a second when idle (5.5 s before); the margin is for a loaded two-core machine.
    assert took < 3.0, f"the server took {took:.1f} s to exit"
    assert "error" not in log.read_text(), log.read_text()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return "gone"
