"""The README's quick starts, followed literally.

First the two commands the README opens with, run in a fresh copy of the
checkout as a newcomer runs them: ``python3 -m supervisor.quickstart sandbox``
(whose Claude Desktop entry is then started by a real MCP client) and
``python3 -m supervisor.quickstart test``. Then ``pip install`` of the checkout
into a new venv, ``mailbox-mcp-server --diagnose``, and the installed command
started as Claude Desktop starts it. Everything runs outside the checkout, so
what is proved is what the package ships.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from supervisor.tools import available_tools
from tests.ci import unavailable
from tests.leak_watch import WATCH
from tests.mcp_client import REPO, mcp_session, run_server, structured

pytestmark = pytest.mark.anyio

INSTALL_TIMEOUT = 600.0  # a cold pip cache downloads every dependency
DIAGNOSE_TIMEOUT = 120.0
MCP_TIMEOUT = 60.0
QUICKSTART_TIMEOUT = 900.0  # a venv, the package, tox and its own venv, on a cold cache


def readme_commands() -> dict[str, list[str]]:
    """The commands in the README's first shell block, before its first section: by
    what they start (``sandbox``, ``test``)."""
    readme = (REPO / "README.md").read_text()
    opening = readme[: readme.index("\n## ")]
    block = re.search(r"```sh\n(.*?)```", opening, flags=re.DOTALL)
    assert block is not None, "the README does not open with the quick-start commands"
    commands = {}
    for line in block.group(1).splitlines():
        words = line.split("#")[0].split()
        commands[words[3]] = words
    return commands


def newcomer_env() -> dict[str, str]:
    """This machine's environment as a person's shell has it: none of our settings, and
    not inside the virtual environment the tests run in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILBOX_")}
    env.pop("VIRTUAL_ENV", None)
    if sys.prefix != sys.base_prefix:
        inside = Path(sys.prefix)
        path = env.get("PATH", "").split(os.pathsep)
        env["PATH"] = os.pathsep.join(p for p in path if not Path(p).is_relative_to(inside))
    return env


def installing_env() -> dict[str, str]:
    """``newcomer_env`` for the quick-start commands, which install with pip: without
    pip's byte-compiling of every file it installs (about a quarter of an install's
    CPU, thousands of files of which a start imports a few hundred, compiled then)."""
    return {**newcomer_env(), "PIP_COMPILE": "0"}


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout's files as a fresh clone has them: no .venv, .tox or caches."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        unavailable("the quick-start commands are tested in a git checkout, with git")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    clone = tmp_path_factory.mktemp("quickstart") / "mailbox-mcp-server"
    for name in listed.stdout.decode().split("\0"):
        source = REPO / name
        if name and source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    return clone


def steps_of(output: str) -> list[str]:
    return [line.removeprefix("==> ") for line in output.splitlines() if line.startswith("==> ")]


async def test_the_readmes_sandbox_command_sets_up_and_prints_a_claude_desktop_entry_that_works(
    fresh_clone: Path, tmp_path: Path
) -> None:
    command = readme_commands()["sandbox"]
    assert command == ["python3", "-m", "supervisor.quickstart", "sandbox"]
    primary, secondary = os.openpty()  # a terminal, as a person has
    try:
        done = subprocess.run(
            command,
            stdin=secondary,
            capture_output=True,
            text=True,
            cwd=fresh_clone,
            env=installing_env(),
            timeout=QUICKSTART_TIMEOUT,
        )
    finally:
        os.close(primary)
        os.close(secondary)
    assert done.returncode == 0, done.stdout + done.stderr
    venv = fresh_clone / ".venv"
    assert steps_of(done.stdout) == [
        f"Creating a virtual environment in {venv}",
        "Installing the package with its sandbox extra into .venv (a minute or two the first time)",
        "Dovecot is installed",
        f"Starting the sandbox: {venv / 'bin' / 'mailbox-mcp-server'} --sandbox",
    ]
    assert "The sandbox works: a mailbox with 13 demo messages" in done.stdout
    snippet = json.loads(done.stdout[done.stdout.index("{") :])
    entry = snippet["mcpServers"]["mailbox-sandbox"]
    assert entry == {"command": str(venv / "bin" / "mailbox-mcp-server"), "args": ["--sandbox"]}
    with anyio.fail_after(MCP_TIMEOUT):
        # As Claude Desktop starts it: that command, from anywhere.
        async with mcp_session(
            newcomer_env(),
            tmp_path / "stderr.log",
            command=(entry["command"], *entry["args"]),
            cwd=tmp_path,
        ) as session:
            folders = structured(await session.call_tool("get_folders", {}))["folders"]
    assert "Projects/Garden" in {folder["name"] for folder in folders}


def test_the_readmes_test_command_installs_tox_and_runs_the_tests_it_is_given(
    fresh_clone: Path,
) -> None:
    command = readme_commands()["test"]
    assert command == ["python3", "-m", "supervisor.quickstart", "test"]
    # The whole suite would run the suite inside itself: one small file stands for it.
    done = subprocess.run(
        [*command, "-e", "py3", "--", "tests/unit/test_readme.py"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=fresh_clone,
        env=installing_env(),
        timeout=QUICKSTART_TIMEOUT,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    steps = steps_of(done.stdout)
    assert any(step.startswith("Installing ") and "tox" in step for step in steps), steps
    assert "Dovecot is installed" in steps
    assert steps[-1] == "Running tox -e py3 -- tests/unit/test_readme.py"
    assert re.search(r"^=+ 3 passed in ", done.stdout, flags=re.MULTILINE), done.stdout[-3000:]


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
        # --no-compile: as installing_env says.
        [
            str(venv_command(venv, "python")),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-compile",
            str(REPO),
        ],
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
    # From tmp_path, not the checkout: its modules must not be importable from there.
    command = (str(installed_command),)
    done = run_server(
        server_env, "--diagnose", command=command, cwd=tmp_path, timeout=DIAGNOSE_TIMEOUT
    )
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
