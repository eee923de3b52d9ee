"""Ports and processes of the local servers: free ports, waiting, stopping."""

from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0, host: str = "127.0.0.1") -> None:
    """Block until something accepts connections on ``port``; raise if it never does."""
    limit = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > limit:
                raise RuntimeError(f"nothing listens on {host}:{port} after {timeout} s") from None
            time.sleep(0.05)


def terminate(process: subprocess.Popen[bytes] | None, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; a process already gone is fine."""
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_gone(pids: list[int], timeout: float = 2.0) -> bool:
    """Block until none of ``pids`` runs any more (a zombie counts as gone); False if
    some still run after ``timeout``. Linux only: elsewhere it returns at once."""
    limit = time.monotonic() + timeout
    while any(_running(pid) for pid in pids):
        if time.monotonic() > limit:
            return False
        time.sleep(0.01)
    return True


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rpartition(b")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state != b"Z"


_PR_SET_PDEATHSIG = 1


def stop_with_parent() -> None:
    """``preexec_fn`` for a server process: on Linux it gets SIGTERM when the process
    that started it dies, even by SIGKILL, so no server outlives its sandbox or test run."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ServerProcess:
    """A local server run as a child process, with all its files under ``root``."""

    root: Path
    _process: subprocess.Popen[bytes] | None

    def stop(self) -> None:
        terminate(self._process)
        self._process = None

    def cleanup(self) -> None:
        """Stop it and delete its files."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
