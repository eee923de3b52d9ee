"""Starting and ending a worker's operating-system process.

A worker is ``python -u -m workers.<name>`` with its stdin and stdout as the
pipe to the supervisor; its stderr is ours, so its logs need no reader (an
unread stderr pipe would deadlock it). Credentials never go into its
environment, where ``/proc/<pid>/environ`` would show them: they travel over
the pipe.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

import anyio
from anyio.abc import Process

# Environment variables a worker must not inherit: credentials go over the pipe.
_SECRET_VARIABLES = ("MAILBOX_PASSWORD", "MAILBOX_PASSWORD_COMMAND")


async def spawn_worker(name: str, log_level: str | None = None) -> Process:
    """Start ``workers.<name>`` with piped stdin and stdout and our stderr."""
    env = {k: v for k, v in os.environ.items() if k not in _SECRET_VARIABLES}
    if log_level:
        env["MAILBOX_LOG_LEVEL"] = log_level
    process = await anyio.open_process(
        [sys.executable, "-u", "-m", f"workers.{name}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=None,  # inherit: the worker's logs go straight to our stderr
        env=env,
    )
    assert process.stdin is not None and process.stdout is not None
    return process


def kill(process: Process) -> None:
    """SIGKILL the worker, leaving the reaping to asyncio's child watcher.

    ``Process.kill`` goes through ``Popen.send_signal``, which first polls: when the worker
    has just died (killed a moment ago by another path, or ended by itself), that poll reaps
    it, and the watcher waiting on the same pid then logs "Unknown child process pid …"
    to stderr. A worker not yet reaped is a zombie at worst, so its pid is still its own.
    """
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)


async def reap(process: Process, grace: float) -> None:
    """Wait up to ``grace`` seconds for the process to end, then kill it."""
    with anyio.move_on_after(grace):
        await process.wait()
        return
    kill(process)
    await process.wait()


async def stop_before_ready(process: Process) -> None:
    """End a worker that never got to Ready: it has nothing to log out of, so it is
    killed at once. A grace period would only let it finish importing and logging in,
    work thrown away, while the client waits for the server to exit."""
    if process.stdin is not None:
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            await process.stdin.aclose()
    kill(process)
    await process.wait()
