"""What a killed process leaves behind is cleaned up at the next start at the latest:
unfinished downloads, and the sandbox's server folders (which hold its passwords and keys)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.mcp_client import mcp_session, structured

pytestmark = pytest.mark.anyio


def ended_pid() -> int:
    """The pid of a process that has already exited."""
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


@pytest.mark.tool_families("mail")
async def test_an_unfinished_download_of_an_ended_worker_is_removed_at_the_next_start(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    downloads = Path(server_env["MAILBOX_DOWNLOAD_DIR"])
    downloads.mkdir(parents=True)
    abandoned = downloads / f".{ended_pid()}-0123456789abcdef.part"
    in_progress = downloads / f".{os.getpid()}-fedcba9876543210.part"
    mine = downloads / "report.pdf.part"  # a user's own file, not ours
    for path in (abandoned, in_progress, mine):
        path.write_bytes(b"half")
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        structured(await session.call_tool("get_folders", {}))
    assert not abandoned.exists()
    assert in_progress.exists() and mine.exists()


async def test_a_sandbox_removes_the_server_folders_of_sandboxes_that_were_killed(
    tmp_path: Path,
) -> None:
    # Short: Dovecot's sockets live below it, and a socket path has about 100 bytes.
    temp = Path(tempfile.mkdtemp(prefix="mm-"))
    temp.chmod(0o755)  # Dovecot's own users must reach their files below it
    killed, running, unknown = (
        temp / "mailbox-mcp-sandbox-killed",
        temp / "mailbox-mcp-dovecot-running",
        temp / "mailbox-mcp-radicale-unknown",
    )
    try:
        for folder, owner in ((killed, ended_pid()), (running, os.getpid()), (unknown, None)):
            folder.mkdir()
            (folder / "users").write_text("you@sandbox:{PLAIN}secret\n")
            if owner is not None:
                (folder / "owner.pid").write_text(str(owner))
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAILBOX_")}
        env["TMPDIR"] = str(temp)
        async with mcp_session(env, tmp_path / "err.log", ("--sandbox",)) as session:
            structured(await session.call_tool("list_calendars", {}))
            ours = [p.name for p in temp.glob("mailbox-mcp-sandbox-*")]
        assert not killed.exists()
        assert running.exists() and unknown.exists()  # alive, or too recent to judge
        left = list(temp.glob("mailbox-mcp-sandbox-*"))
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    assert ours and not left  # its own, gone at exit
