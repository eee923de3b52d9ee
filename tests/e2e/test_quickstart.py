"""The README's quick start, followed literally in a fresh virtual environment.

``pip install`` of the checkout into a new venv, ``mailbox-mcp-server --diagnose``,
then the installed command started by a real MCP client as Claude Desktop starts it.
Everything runs outside the checkout, so what is proved is what the package ships.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from supervisor.tools import available_tools
from tests.ci import unavailable
from tests.leak_watch import WATCH
from tests.mcp_client import REPO, mcp_session, structured

pytestmark = pytest.mark.anyio

INSTALL_TIMEOUT = 600.0  # a cold pip cache downloads every dependency
DIAGNOSE_TIMEOUT = 120.0
MCP_TIMEOUT = 60.0


def venv_command(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


@pytest.fixture(scope="module")
def installed_command(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``mailbox-mcp-server`` installed by ``pip install <checkout>`` into a new venv."""
    venv = tmp_path_factory.mktemp("quickstart") / "venv"
    made = subprocess.run(
        [sys.executable, "-m", "venv", str(venv)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if made.returncode != 0:
        unavailable(f"cannot create a virtual environment here: {made.stderr.strip()}")
    start = time.perf_counter()
    installed = subprocess.run(
        [str(venv_command(venv, "python")), "-m", "pip", "install", "--quiet", str(REPO)],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    print(f"pip install of the checkout took {time.perf_counter() - start:.1f} s")
    command = venv_command(venv, "mailbox-mcp-server")
    assert command.is_file(), f"pip install made no {command.name} command"
    return command


def test_the_installed_command_reports_ready_in_diagnose(
    installed_command: Path, server_env: dict[str, str], tmp_path: Path
) -> None:
    WATCH.secret(server_env["MAILBOX_PASSWORD"])
    done = subprocess.run(
        [str(installed_command), "--diagnose"],
        env=server_env,
        cwd=tmp_path,  # not the checkout: its modules must not be importable from here
        capture_output=True,
        text=True,
        timeout=DIAGNOSE_TIMEOUT,
    )
    WATCH.output("quick-start --diagnose output", done.stdout + done.stderr)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAIL" not in done.stdout, done.stdout


async def test_an_mcp_client_lists_every_tool_and_reads_the_folders(
    installed_command: Path, server_env: dict[str, str], tmp_path: Path
) -> None:
    WATCH.secret(server_env["MAILBOX_PASSWORD"])
    with anyio.fail_after(MCP_TIMEOUT):
        # Started as claude_desktop_config.json starts it: the installed command alone.
        async with mcp_session(
            server_env, tmp_path / "stderr.log", command=(str(installed_command),), cwd=tmp_path
        ) as session:
            listed = await session.list_tools()
            folders = structured(await session.call_tool("get_folders", {}))["folders"]
    assert {tool.name for tool in listed.tools} == set(available_tools(read_only=False))
    assert "INBOX" in {folder["name"] for folder in folders}
