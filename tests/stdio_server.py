"""The MCP server as a bare process on pipes, for the tests about its start and exit that
an MCP client session would hide (how long it takes to quit, what it leaves running)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import IO

from tests.mcp_client import REPO

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}


def started_server(
    env: dict[str, str], stderr: IO[bytes] | int, *args: str
) -> subprocess.Popen[bytes]:
    """``python -m supervisor *args`` on pipes, once it has answered ``initialize``."""
    process = subprocess.Popen(
        [sys.executable, "-m", "supervisor", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        cwd=REPO,
        env=env,
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps(INITIALIZE).encode() + b"\n")
        process.stdin.flush()
        assert b'"result"' in process.stdout.readline()
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process


def seconds_to_exit_once_stdin_closes(process: subprocess.Popen[bytes], limit: float = 30) -> float:
    """Close the server's stdin, as a client that goes away does; how long it took to exit."""
    assert process.stdin is not None
    began = time.monotonic()
    process.stdin.close()
    process.wait(timeout=limit)
    return time.monotonic() - began
