"""Failures a restart cannot fix, through a real MCP client against the real servers.

A refused login, a password command that fails and a certificate from a CA we do
not trust are not retried in a loop (DESIGN.md section 8; gunicorn's
WORKER_BOOT_ERROR): each call answers the reason in a sentence with what to do,
Dovecot sees no login until the password changed, and nothing is restarted. A
password fixed where MAILBOX_PASSWORD_COMMAND reads it is picked up by a later call
(the command runs again at most every RERUN_INTERVAL seconds), without a restart.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
import trustme

from supervisor.password import RERUN_INTERVAL
from tests.faults.proxy import FaultProxy
from tests.leak_watch import WATCH
from tests.mcp_client import error_text, mcp_session, structured
from tests.servers.dovecot import Account, DovecotServer

pytestmark = pytest.mark.anyio

WRONG = "Wrong-Password-7"
MAIL_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("get_folders", {}),
    ("search_emails", {"subject": "x"}),
    ("get_folders", {}),
    ("search_emails", {}),
]


def refused_logins(dovecot: DovecotServer, account: Account) -> int:
    return sum(
        1
        for line in dovecot.log.splitlines()
        if "auth failed" in line and f"user=<{account.email}>" in line
    )


def plain_answer(text: str) -> bool:
    """A plain answer: one line, no traceback, no library notation."""
    return "\n" not in text and "Traceback" not in text and "Error(" not in text


class PasswordCommand:
    """A MAILBOX_PASSWORD_COMMAND that prints what ``prints`` holds (or fails, exit
    status 1, while it holds nothing), and counts its runs."""

    def __init__(self, folder: Path, prints: str) -> None:
        self.prints = folder / "prints"
        self.runs = folder / "runs"
        self.prints.write_text(prints)
        script = (
            "import pathlib, sys\n"
            f"open({str(self.runs)!r}, 'a').write('x')\n"
            f"password = pathlib.Path({str(self.prints)!r}).read_text()\n"
            "sys.exit(1) if not password else print(password)\n"
        )
        self.line = f"{sys.executable} -c {_quoted(script)}"

    def now_prints(self, password: str) -> None:
        self.prints.write_text(password)

    def run_count(self) -> int:
        return len(self.runs.read_text()) if self.runs.exists() else 0


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def with_command(server_env: dict[str, str], command: PasswordCommand) -> dict[str, str]:
    env = {k: v for k, v in server_env.items() if k != "MAILBOX_PASSWORD"}
    env["MAILBOX_PASSWORD_COMMAND"] = command.line
    return env


async def worker_status(session: Any, name: str) -> dict[str, Any]:
    status = structured(await session.call_tool("server_status", {}))
    (found,) = [w for w in status["workers"] if w["name"] == name]
    return dict(found)


async def wait_out_the_rerun_interval(last_answer: float) -> None:
    """The password command runs again only RERUN_INTERVAL seconds after its last rerun,
    which came before ``last_answer``."""
    await anyio.sleep(max(0.0, last_answer + RERUN_INTERVAL + 0.1 - time.monotonic()))


async def test_a_refused_login_costs_one_login_until_the_password_command_prints_the_right_one(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    WATCH.secret(WRONG)
    command = PasswordCommand(tmp_path, WRONG)
    async with mcp_session(with_command(server_env, command), tmp_path / "err.log") as session:
        began = time.monotonic()
        answers = [error_text(await session.call_tool(tool, args)) for tool, args in MAIL_CALLS]
        took = time.monotonic() - began
        runs_while_wrong = command.run_count()
        refused_while_wrong = refused_logins(dovecot, account)
        command.now_prints(account.password)  # fixed in the keyring
        await wait_out_the_rerun_interval(began + took)
        folders = structured(await session.call_tool("get_folders", {}))["folders"]
        again = structured(await session.call_tool("search_emails", {}))
        imap = await worker_status(session, "imap")
        runs_for_imap = command.run_count()
        # The calendar worker started with the wrong password too; it gets the new one.
        calendars = structured(await session.call_tool("list_calendars", {}))["calendars"]
        dav = await worker_status(session, "dav")
    for text in answers:
        assert "refused the login" in text and "MAILBOX_PASSWORD" in text, text
        assert plain_answer(text) and WRONG not in text, text
    assert refused_while_wrong == 1  # however often it was called
    # Once at start, once after the first refusal, then at most once per interval.
    assert 2 <= runs_while_wrong <= 2 + int(took / RERUN_INTERVAL), (runs_while_wrong, took)
    assert "INBOX" in [f["name"] for f in folders] and again["emails"] == []
    assert runs_for_imap == runs_while_wrong + 1
    assert refused_logins(dovecot, account) == 1
    assert imap["restarts"] == 0 and imap["recycled"] == 1 and imap["state"] == "ready"
    assert calendars and dav["restarts"] == 0 and dav["recycled"] == 1
    assert command.run_count() <= runs_for_imap + 1  # none, or one if the interval was over


@pytest.mark.tool_families("mail")
async def test_a_fixed_wrong_password_is_refused_once_and_the_answer_says_to_fix_it_and_restart(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    WATCH.secret(WRONG)
    env = {**server_env, "MAILBOX_PASSWORD": WRONG}
    async with mcp_session(env, tmp_path / "err.log") as session:
        answers = [error_text(await session.call_tool(tool, args)) for tool, args in MAIL_CALLS]
        imap = await worker_status(session, "imap")
    for text in answers:
        assert "refused the login" in text and "MAILBOX_PASSWORD" in text, text
        assert "restart" in text and plain_answer(text) and WRONG not in text, text
    assert refused_logins(dovecot, account) == 1
    assert imap["restarts"] == 0 and imap["recycled"] == 0
    # The password fixed and the server restarted: it works.
    async with mcp_session(server_env, tmp_path / "fixed.log") as session:
        folders = structured(await session.call_tool("get_folders", {}))["folders"]
    assert "INBOX" in [f["name"] for f in folders]


async def test_a_password_command_that_fails_leaves_the_workers_stopped_until_it_prints_one(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    command = PasswordCommand(tmp_path, "")  # a locked keyring: the command fails
    async with mcp_session(with_command(server_env, command), tmp_path / "err.log") as session:
        began = time.monotonic()
        answers = [error_text(await session.call_tool(tool, args)) for tool, args in MAIL_CALLS]
        took = time.monotonic() - began
        stopped = await worker_status(session, "imap")
        runs_while_failing = command.run_count()
        command.now_prints(account.password)  # the keyring was unlocked
        await wait_out_the_rerun_interval(began + took)
        folders = structured(await session.call_tool("get_folders", {}))["folders"]
        calendars = structured(await session.call_tool("list_calendars", {}))["calendars"]
        imap = await worker_status(session, "imap")
    for text in answers:
        assert text.startswith("MAILBOX_PASSWORD_COMMAND exited with status 1"), text
        assert "run it by hand" in text and plain_answer(text), text
    assert stopped["state"] == "not configured" and stopped["pid"] is None
    assert stopped["restarts"] == 0
    assert 2 <= runs_while_failing <= 2 + int(took / RERUN_INTERVAL), (runs_while_failing, took)
    assert "INBOX" in [f["name"] for f in folders] and calendars
    assert imap["restarts"] == 0 and imap["recycled"] == 1 and imap["state"] == "ready"
    assert refused_logins(dovecot, account) == 0


async def test_an_untrusted_certificate_is_answered_by_each_call_and_nothing_is_restarted(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer
) -> None:
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    with FaultProxy("127.0.0.1", dovecot.imaps_port) as proxy:
        env = {
            **server_env,
            "MAILBOX_CA_FILE": str(other_ca),
            "MAILBOX_IMAP_PORT": str(proxy.port),
        }
        async with mcp_session(env, tmp_path / "err.log") as session:
            answers = [error_text(await session.call_tool(tool, args)) for tool, args in MAIL_CALLS]
            calendar = error_text(await session.call_tool("list_calendars", {}))
            tried = proxy.connections_accepted
            await anyio.sleep(1.0)  # long enough for a few restarts, were there any
            status = structured(await session.call_tool("server_status", {}))
            untouched = proxy.connections_accepted
    for text in [*answers, calendar]:
        assert "certificate" in text and "could not be verified" in text, text
        assert "MAILBOX_CA_FILE" in text and plain_answer(text), text
    assert all(w["restarts"] == 0 for w in status["workers"]), status["workers"]
    assert untouched == tried  # no connection is tried between calls
