"""The tests' preloaded server (tests/preloaded_server.py) stands in for ``python -m
supervisor``: the same output and exit status, and no server outliving its launcher."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.mcp_client import REPO, SERVER, run_server
from tests.preloaded_server import ServerStarts

FORKED = ServerStarts(SERVER)
FORKED.forked = True  # even under MAILBOX_TESTS_EXEC_SERVER=1: the fork is what is tested


@pytest.fixture(scope="module", autouse=True)
def _forked_starts() -> object:
    yield
    FORKED.stop()


def untimed(output: str) -> str:
    """``--diagnose`` output without the milliseconds each check took (nor the spaces
    that align them) and the seconds all took."""
    output = re.sub(r" +\d+ ms\b", " N ms", output)
    return re.sub(r"\bin \d+\.\d s\b", "in N s", output)


def children_of(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(c) for c in (task / "children").read_text().split())
    return found


@pytest.mark.parametrize(
    "args", [("--version",), ("--json",), ("--no-such-option",), ("--diagnose",)]
)
def test_a_forked_server_prints_and_exits_as_python_m_supervisor_does(
    server_env: dict[str, str], args: tuple[str, ...]
) -> None:
    forked = run_server(server_env, *args, command=FORKED.command())
    plain = run_server(server_env, *args, command=SERVER)
    assert forked.returncode == plain.returncode
    assert untimed(forked.stdout).splitlines() == untimed(plain.stdout).splitlines()
    assert forked.stderr.splitlines()[-1:] == plain.stderr.splitlines()[-1:]


def test_a_server_whose_launcher_is_killed_is_killed_too(server_env: dict[str, str]) -> None:
    # As the MCP client's process-group kill does when a server will not exit.
    launcher = subprocess.Popen(
        FORKED.command(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
        env=server_env,
    )
    preloaded = FORKED.preloaded_pid()
    deadline = time.monotonic() + 30
    while not children_of(preloaded) and time.monotonic() < deadline:
        time.sleep(0.05)
    (server,) = children_of(preloaded)
    os.kill(launcher.pid, signal.SIGKILL)
    launcher.wait()
    while Path(f"/proc/{server}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{server}").exists()
