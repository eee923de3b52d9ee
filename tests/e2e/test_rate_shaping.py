"""Bursts are shaped, not refused: a call waits its turn while it can still finish in
time, and a wrong call is refused before it costs a turn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.mcp_client import error_text, mcp_session, structured, text_of

pytestmark = [pytest.mark.anyio, pytest.mark.tool_families("mail")]


async def worker_metrics(session: Any, name: str) -> dict[str, Any]:
    status = structured(await session.call_tool("server_status", {}))
    (found,) = [w for w in status["workers"] if w["name"] == name]
    return dict(found["metrics"])


async def test_a_burst_past_the_rate_limit_waits_its_turn_instead_of_being_refused(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    # 120 a minute, 24 at once: the 40th call waits about 8 s, within its deadline.
    server_env["MAILBOX_RATE_LIMIT_IMAP"] = "120"
    answers: list[Any] = []
    async with mcp_session(server_env, tmp_path / "err.log") as session:

        async def search(n: int) -> None:
            answers.append(await session.call_tool("search_emails", {"subject": f"n{n}"}))

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for n in range(40):
                    tg.start_soon(search, n)
        metrics = await worker_metrics(session, "imap")
    refused = [text_of(a) for a in answers if a.is_error]
    assert refused == []
    assert metrics["rate_delayed"] > 0 and metrics["rate_refused"] == 0


async def test_send_email_without_recipients_is_refused_before_it_counts_against_the_limit(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    # 6 a minute, 1 at once: each counted call would make the next wait 10 s.
    server_env["MAILBOX_RATE_LIMIT_SMTP"] = "6"
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        texts = [
            error_text(await session.call_tool("send_email", {"subject": "x", "body": "x"}))
            for _ in range(5)
        ]
        metrics = await worker_metrics(session, "smtp")
    for text in texts:
        assert text.startswith("Nothing was sent: say who the message is for"), text
    assert metrics["rate_delayed"] == 0 and metrics["rate_refused"] == 0


async def test_the_sent_copy_of_a_message_that_went_out_is_never_held_back_by_the_rate_limit(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    # 12 a minute, 2 at once, and calls that may wait 3 s at most: the searches use up the
    # turns, so an ordinary IMAP call after them would be refused.
    server_env |= {"MAILBOX_RATE_LIMIT_IMAP": "12", "MAILBOX_CALL_TIMEOUT": "6"}
    me = server_env["MAILBOX_EMAIL"]
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        for query in "abc":
            await session.call_tool("search_emails", {"query": query})
        sent = structured(
            await session.call_tool("send_email", {"to": [me], "subject": "RL", "body": "x"})
        )
    assert sent["saved_to_sent"] is True, sent["notes"]
