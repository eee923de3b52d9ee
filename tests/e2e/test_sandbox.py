"""``--sandbox``: local demo servers behind the real MCP server, as a newcomer starts it.

No fixture servers here: the sandbox starts its own Dovecot, SMTP relay and
Radicale, which is the point. Dovecot must be installed, as for the whole suite.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import IO

import pytest

from supervisor.sandbox.leftovers import OWNER_FILE, PREFIX
from supervisor.tools import available_tools
from tests.ci import unavailable
from tests.mcp_client import REPO, error_text, mcp_session, run_server, structured, text_of
from tests.stdio_server import seconds_to_exit_once_stdin_closes, started_server

pytestmark = pytest.mark.anyio


def user_env() -> dict[str, str]:
    """A newcomer's environment: none of our settings, so nothing real can leak in."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MAILBOX_")}


# The server started as usual, on a machine where Dovecot is not installed.
WITHOUT_DOVECOT = (
    sys.executable,
    "-c",
    "import sys, supervisor.sandbox.dovecot as d; d.DOVECOT = '/nowhere/dovecot'; "
    "from supervisor.__main__ import main; sys.exit(main())",
)


def this_week() -> dict[str, str]:
    monday = date.today() - timedelta(days=date.today().weekday())
    return {"start": monday.isoformat(), "end": (monday + timedelta(days=7)).isoformat()}


async def test_the_sandbox_serves_demo_mail_and_calendar_over_mcp(tmp_path: Path) -> None:
    monday = date.today() - timedelta(days=date.today().weekday())
    async with mcp_session(user_env(), tmp_path / "err.log", ("--sandbox",)) as session:
        listed = await session.list_tools()
        folders = structured(await session.call_tool("get_folders", {}))
        inbox = structured(await session.call_tool("search_emails", {"folder": "INBOX"}))
        week = structured(
            await session.call_tool(
                "get_calendar_events",
                {"start": monday.isoformat(), "end": (monday + timedelta(days=7)).isoformat()},
            )
        )
    assert {t.name for t in listed.tools} == set(available_tools(read_only=False))
    assert {"INBOX", "Sent", "Archive", "Projects/Garden"} <= {
        f["name"] for f in folders["folders"]
    }
    subjects = {e["subject"] for e in inbox["emails"]}
    assert "Welcome to the mailbox-mcp-server sandbox" in subjects
    assert "Team meeting" in {e["summary"] for e in week["events"]}


async def test_mail_sent_in_the_sandbox_arrives_in_its_own_inbox_with_no_warning_on_stderr(
    tmp_path: Path,
) -> None:
    async with mcp_session(user_env(), tmp_path / "err.log", ("--sandbox",)) as session:
        welcome = structured(await session.call_tool("search_emails", {"subject": "Welcome"}))
        me = welcome["emails"][0]["to"][0]
        sent = await session.call_tool(
            "send_email", {"to": [me], "subject": "Hello sandbox", "body": "It works."}
        )
        assert not sent.is_error, text_of(sent)
        found = structured(await session.call_tool("search_emails", {"subject": "Hello sandbox"}))
    assert [e["subject"] for e in found["emails"]] == ["Hello sandbox"]
    # aiosmtpd warns at every login that the login_data it sets itself is deprecated.
    stderr = (tmp_path / "err.log").read_text()
    assert "deprecated" not in stderr, stderr


async def test_without_dovecot_the_sandbox_mail_tools_say_it_is_needed_and_how_to_install_it(
    tmp_path: Path,
) -> None:
    async with mcp_session(
        user_env(), tmp_path / "err.log", ("--sandbox",), command=WITHOUT_DOVECOT
    ) as session:
        search = error_text(await session.call_tool("search_emails", {"folder": "INBOX"}))
        send = error_text(
            await session.call_tool(
                "send_email", {"to": ["ben@example.org"], "subject": "Hi", "body": "Hello."}
            )
        )
        week = structured(await session.call_tool("get_calendar_events", this_week()))
    for answer in (search, send):
        assert answer.startswith("The sandbox's mail server needs Dovecot, which is not installed")
        assert "apt-get install dovecot-imapd dovecot-lmtpd" in answer
        assert "MAILBOX_" not in answer and "Errno" not in answer and "port" not in answer
    assert "Team meeting" in {e["summary"] for e in week["events"]}


async def test_the_sandbox_honours_read_only_mode_and_the_time_zone(tmp_path: Path) -> None:
    env = {**user_env(), "MAILBOX_READ_ONLY": "1", "MAILBOX_TIMEZONE": "Asia/Kolkata"}
    async with mcp_session(env, tmp_path / "err.log", ("--sandbox",)) as session:
        listed = await session.list_tools()
        week = structured(await session.call_tool("get_calendar_events", this_week()))
    assert {t.name for t in listed.tools} == set(available_tools(read_only=True))
    timed = [e["start"] for e in week["events"] if not e["all_day"]]
    assert timed and all(start.endswith("+05:30") for start in timed), timed


async def test_the_sandbox_honours_the_chosen_tool_families(tmp_path: Path) -> None:
    env = {**user_env(), "MAILBOX_TOOLS": "calendar"}
    async with mcp_session(env, tmp_path / "err.log", ("--sandbox",)) as session:
        listed = await session.list_tools()
        status = structured(await session.call_tool("server_status", {}))
    assert {t.name for t in listed.tools} == set(available_tools(False, ("calendar",)))
    assert [worker["name"] for worker in status["workers"]] == ["dav"]


def test_in_a_terminal_the_sandbox_prints_a_claude_desktop_snippet_with_the_installed_command() -> (
    None
):
    # A pseudo-terminal as stdin: what a person typing the command has.
    primary, secondary = os.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "supervisor", "--sandbox"],
            stdin=secondary,
            capture_output=True,
            text=True,
            cwd=REPO,
            env=user_env(),
            timeout=120,
        )
    finally:
        os.close(primary)
        os.close(secondary)
    assert done.returncode == 0, done.stderr
    assert "The sandbox works: a mailbox with" in done.stdout
    snippet = json.loads(done.stdout[done.stdout.index("{") :])
    entry = snippet["mcpServers"]["mailbox-sandbox"]
    # As the README's Claude Desktop example: the installed command, by its full path.
    command = Path(sys.executable).parent / "mailbox-mcp-server"
    assert entry == {"command": str(command), "args": ["--sandbox"]}


def test_diagnose_with_sandbox_checks_the_sandbox_and_serves_nothing() -> None:
    # No input: an MCP server would read it, find it empty and stop.
    done = run_server(user_env(), "--diagnose", "--sandbox")
    assert done.returncode == 0, done.stdout + done.stderr
    first, *_, verdict = done.stdout.splitlines()
    assert re.match(r"ok +config +0 ms  user\S+@example\.test on IMAP localhost:\d+, ", first)
    assert verdict.startswith("Ready: all 26 checks passed in ")  # IMAP, SMTP, DAV, Sieve


def test_diagnose_with_sandbox_without_dovecot_names_what_to_install() -> None:
    done = run_server(user_env(), "--diagnose", "--sandbox", "--json", command=WITHOUT_DOVECOT)
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    status = {check["name"]: check["status"] for check in report["checks"]}
    assert status["imap worker"] == status["smtp worker"] == "failed"
    assert status["caldav calendars"] == "ok"
    assert report["first_failure"]["detail"].startswith(
        "The sandbox's mail server needs Dovecot, which is not installed here: "
    )
    assert "apt-get install dovecot-imapd dovecot-lmtpd" in report["verdict"]


def test_the_mcp_inspector_lists_tools_and_reads_folders_in_the_sandbox(tmp_path: Path) -> None:
    """A second, independent MCP client: the MCP Inspector's CLI from the npm registry."""
    if shutil.which("npx") is None:
        unavailable("Node (npx) is not installed")

    def inspector(*method: str) -> dict[str, object]:
        command = ["npx", "-y", "@modelcontextprotocol/inspector", "--cli"]
        server = [sys.executable, "-m", "supervisor", "--sandbox"]
        done = subprocess.run(
            [*command, *server, *method],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**user_env(), "PYTHONPATH": str(REPO)},
            timeout=300,
        )
        if done.returncode != 0 and "npm error" in done.stderr and "ERR" in done.stderr:
            unavailable(f"the npm registry could not be reached: {done.stderr[-300:]}")
        assert done.returncode == 0, done.stderr[-2000:]
        answer: dict[str, object] = json.loads(done.stdout)
        return answer

    listed = inspector("--method", "tools/list")
    called = inspector("--method", "tools/call", "--tool-name", "get_folders")
    names = {tool["name"] for tool in listed["tools"]}  # type: ignore[attr-defined]
    assert names == set(available_tools(read_only=False))
    text = called["content"][0]["text"]  # type: ignore[index]
    assert "INBOX [inbox]" in text and "Projects/Garden" in text


def started_sandbox_process(
    stderr: IO[bytes] | int = subprocess.DEVNULL,
) -> tuple[subprocess.Popen[bytes], list[int]]:
    """A sandbox serving MCP on pipes, after its first answer; and its server processes."""
    process = started_server(user_env(), stderr, "--sandbox")  # answers once the servers run
    return process, children_of(process.pid)


def children_of(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            parent = int((proc / "stat").read_text().rpartition(")")[2].split()[1])
            command = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if parent == pid and (b"dovecot" in command or b"radicale" in command):
            found.append(int(proc.name))
    return found


def gone(pids: list[int], within: float = 15.0) -> bool:
    limit = time.monotonic() + within
    while time.monotonic() < limit:
        if not any(Path(f"/proc/{pid}").exists() for pid in pids):
            return True
        time.sleep(0.1)
    return False


def server_folders(pids: list[int]) -> list[Path]:
    """The temporary folders the servers were started with (their --config / -c file's)."""
    folders = []
    for pid in pids:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        config = next(w for w in words if w.endswith(b".conf"))
        folders.append(Path(config.decode()).parent)
    return folders


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL])
def test_stopping_the_sandbox_stops_its_servers(stop: signal.Signals) -> None:
    process, servers = started_sandbox_process()
    assert len(servers) == 2  # Dovecot's master and Radicale
    folders = server_folders(servers)
    process.send_signal(stop)
    process.wait(timeout=30)
    assert gone(servers)
    if stop == signal.SIGTERM:  # SIGKILL leaves no chance to delete files
        assert not any(folder.exists() for folder in folders)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def sandbox_folders_of(pid: int) -> list[Path]:
    """The sandbox's own temporary folders that process ``pid`` made."""
    found = []
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        owner = folder / OWNER_FILE
        if owner.exists() and owner.read_text().strip() == str(pid):
            found.append(folder)
    return found


def test_when_the_client_goes_away_the_sandbox_exits_within_a_second_quietly_and_cleans_up(
    tmp_path: Path,
) -> None:
    # Closed right after the first answer: its workers are still starting, the slow case.
    with open(tmp_path / "err.log", "wb") as errlog:
        process, servers = started_sandbox_process(stderr=errlog)
        folders = sandbox_folders_of(process.pid)
        assert len(folders) == 3  # Dovecot's, Radicale's and the sandbox's own
        took = seconds_to_exit_once_stdin_closes(process)
    # About a second when the machine is idle (6.5 s before); the margin is for a loaded
    # two-core machine running test files side by side. The benchmark times it exactly.
    assert took < 3.0, f"the sandbox took {took:.1f} s to exit"
    assert process.returncode == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in servers)
    assert not any(folder.exists() for folder in folders)
    lines = (tmp_path / "err.log").read_text().splitlines()
    closed = next(n for n, line in enumerate(lines) if "supervisor.stdin_closed" in line)
    assert [line for line in lines[closed:] if "[info " not in line] == [], lines[closed:]
