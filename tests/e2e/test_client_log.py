"""Warnings reach the MCP client's log (notifications/message) with the next tool answer."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import mcp_types as types
import pytest
from mcp.client.session import ClientSession

from tests.leak_watch import WATCH
from tests.mcp_client import mcp_session, structured

pytestmark = [pytest.mark.anyio, pytest.mark.tool_families("mail")]


@asynccontextmanager
async def logging_session(
    env: dict[str, str], stderr: Path, received: list[types.LoggingMessageNotificationParams]
) -> AsyncIterator[ClientSession]:
    """A session that asks for warnings and keeps the log messages it gets."""

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        WATCH.output("client log message", params.model_dump())
        received.append(params)

    async with mcp_session(env, stderr, logging_callback=on_log, log_level="warning") as session:
        yield session


async def test_an_unknown_setting_is_reported_to_a_client_that_asks_for_warnings(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    server_env["MAILBOX_IMAP_HOTS"] = "imap.example.org"
    received: list[types.LoggingMessageNotificationParams] = []
    async with logging_session(server_env, tmp_path / "err.log", received):
        pass
    assert received == []  # nothing before a tool call: logs ride its answer
    async with logging_session(server_env, tmp_path / "err.log", received) as session:
        structured(await session.call_tool("get_folders", {}))
    (message,) = received
    assert message.level == "warning" and message.logger == "mailbox-mcp-server"
    assert "MAILBOX_IMAP_HOTS" in str(message.data) and "MAILBOX_IMAP_HOST" in str(message.data)


async def test_a_worker_restart_is_reported_with_the_next_answer(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    received: list[types.LoggingMessageNotificationParams] = []
    async with logging_session(server_env, tmp_path / "err.log", received) as session:
        structured(await session.call_tool("get_folders", {}))  # the IMAP worker is up
        status = structured(await session.call_tool("server_status", {}))
        imap_pid = next(w["pid"] for w in status["workers"] if w["name"] == "imap")
        os.kill(imap_pid, signal.SIGKILL)
        structured(await session.call_tool("get_folders", {}))
    events = [m.data["event"] for m in received if isinstance(m.data, dict)]
    assert "worker.exited" in events
    assert all(m.level in ("warning", "error") for m in received)
