"""No password in any tool answer, server log or --diagnose output of the whole run.

Runs last (file name): tests/leak_watch.py has by then checked everything the
suite saw. It also makes its own calls that handle the password, so it is never
checking nothing, even when run alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.leak_watch import WATCH, LeakWatch
from tests.mcp_client import error_text, mcp_session, run_server, structured
from tests.servers.dovecot import Account

pytestmark = pytest.mark.anyio


def test_the_watch_finds_a_planted_password() -> None:
    watch = LeakWatch()
    watch.secret("Planted-Secret-99")
    watch.output("answer", {"text": "login failed for Planted-Secret-99"})
    (leak,) = watch.leaks
    assert leak.startswith("answer: a password appears")


async def test_no_password_appears_in_any_answer_log_or_diagnosis_of_the_run(
    server_env: dict[str, str], tmp_path: Path, account: Account
) -> None:
    async with mcp_session(server_env, tmp_path / "right.log") as session:
        structured(await session.call_tool("get_folders", {}))
        structured(await session.call_tool("server_status", {}))
        structured(await session.call_tool("list_calendars", {}))
    wrong = {
        **server_env,
        "MAILBOX_PASSWORD": "Wrong-Password-For-Leaks-7",
        "MAILBOX_LOG_LEVEL": "debug",
    }
    async with mcp_session(wrong, tmp_path / "wrong.log") as session:
        error_text(await session.call_tool("get_folders", {}))
        error_text(await session.call_tool("send_email", {"to": [account.email], "body": "x"}))
        error_text(await session.call_tool("list_calendars", {}))
    for env in (server_env, wrong):
        run_server(env, "--diagnose", "--json")
    assert WATCH.outputs_checked >= 8 and WATCH.logs_checked >= 2
    assert account.password in WATCH.secrets and "Wrong-Password-For-Leaks-7" in WATCH.secrets
    print(
        f"\nchecked {WATCH.outputs_checked} answers and {WATCH.logs_checked} logs "
        f"({WATCH.bytes_checked / 1e6:.1f} MB) for {len(WATCH.secrets)} passwords"
    )
    assert WATCH.leaks == []
