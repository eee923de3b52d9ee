"""One process per test session that has imported the supervisor and forks a server for
each ``python -m supervisor`` the tests start (as gunicorn's ``--preload`` does for its
workers).

A server start is mostly imports: the MCP SDK alone costs about 1.9 s of CPU, and the
suite starts over two hundred servers. A fork of a process that has them loaded starts
in milliseconds and runs the same ``supervisor.__main__.main`` on the same stdio pipes,
arguments, environment and folder; its workers are started as always, by the server.

What the tests see is unchanged but for two things, which is why the tests about the
server's own start, exit and process tree still start it with ``python -m supervisor``
(tests/conftest.py: ``EXEC_SERVER_FILES``): the pid the client holds is the launcher's
(tests/preloaded_launch.py), and killing the launcher's process group does not reach
the server; the server is killed instead when the launcher dies before it.
``MAILBOX_TESTS_EXEC_SERVER=1`` starts every server the plain way.
"""

from __future__ import annotations

import array
import gc
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

LAUNCHER = Path(__file__).with_name("preloaded_launch.py")

_PRELOADED = (
    "anyio",
    "structlog",
    "protocol.errors",
    "protocol.logs",
    "supervisor.config",
    "supervisor.client_log",
    "supervisor.app",
    "supervisor.diagnose",
)
"""What ``supervisor.__main__`` imports on its way to serving or diagnosing."""


class ServerStarts:
    """How the tests start ``python -m supervisor`` (``plain``): forked from a preloaded
    process, started on first use, while ``forked`` is on."""

    def __init__(self, plain: tuple[str, ...]) -> None:
        self.plain = plain
        self.forked = os.environ.get("MAILBOX_TESTS_EXEC_SERVER") != "1"
        self._preloaded: PreloadedServer | None = None

    def command(self) -> tuple[str, ...]:
        if not self.forked:
            return self.plain
        if self._preloaded is not None and not self._preloaded.running():
            self.stop()  # it died: a new one serves the tests that follow
        if self._preloaded is None:
            # Under /tmp: a socket's path may not pass 107 bytes, and TMPDIR may be long.
            short = "/tmp" if os.path.isdir("/tmp") else None
            folder = Path(tempfile.mkdtemp(prefix="preloaded-", dir=short))
            self._preloaded = PreloadedServer(folder)
        return self._preloaded.command()

    def preloaded_pid(self) -> int:
        """The preloaded process's pid (started now if it was not running)."""
        self.command()
        assert self._preloaded is not None
        return self._preloaded.pid

    def stop(self) -> None:
        """Stops the preloaded process, if one was started, and removes its socket."""
        if self._preloaded is not None:
            self._preloaded.stop()
            shutil.rmtree(self._preloaded.socket_path.parent, ignore_errors=True)
            self._preloaded = None


class PreloadedServer:
    """The preloaded process, started for a test session; ``command`` starts a server."""

    def __init__(self, folder: Path) -> None:
        self.socket_path = folder / "server.sock"
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.preloaded_server", str(self.socket_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert self._process.stdout is not None
        if self._process.stdout.readline() != b"ready\n":
            self._process.kill()
            raise RuntimeError("the preloaded server process did not start")

    @property
    def pid(self) -> int:
        return self._process.pid

    def running(self) -> bool:
        return self._process.poll() is None

    def command(self) -> tuple[str, ...]:
        """What to run instead of ``python -m supervisor`` (the server's arguments follow)."""
        return (sys.executable, "-I", "-S", str(LAUNCHER), str(self.socket_path))

    def stop(self) -> None:
        """Ends the process; it kills the servers it forked that still run."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _serve(socket_path: str) -> None:
    gc.disable()  # as supervisor.__main__ does while it imports, and for the same reason
    for name in _PRELOADED:
        __import__(name)
    gc.freeze()
    gc.enable()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(64)
    events = selectors.DefaultSelector()
    events.register(listener, selectors.EVENT_READ, "start")
    events.register(sys.stdin, selectors.EVENT_READ, "stop")
    live: dict[int, socket.socket] = {}  # a running server's pid: its launcher
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        for key, _ in events.select():
            if key.data == "stop":
                for pid in live:
                    os.kill(pid, signal.SIGKILL)
                return
            if key.data == "start":
                connection, _ = listener.accept()
                try:
                    request, fds = _receive(connection)
                except (OSError, ValueError):  # a launcher killed mid-request
                    connection.close()
                    continue
                pid = os.fork()
                if pid == 0:
                    _become_server(request, fds)
                for fd in fds:
                    os.close(fd)
                live[pid] = connection
                with suppress(OSError):  # a launcher killed since: its watch below sees it
                    connection.sendall(f"{pid}\n".encode())
                events.register(os.pidfd_open(pid), selectors.EVENT_READ, ("exited", pid))
                events.register(connection, selectors.EVENT_READ, ("launcher", pid))
            elif key.data[0] == "exited":
                pid = key.data[1]
                events.unregister(key.fd)
                os.close(key.fd)
                _, status = os.waitpid(pid, 0)
                connection = live.pop(pid)
                with suppress(KeyError):  # gone from the watch if the launcher died first
                    events.unregister(connection)
                with suppress(OSError):  # the launcher is gone already
                    connection.sendall(f"{status}\n".encode())
                connection.close()
            elif key.data[0] == "launcher":
                # The launcher says nothing after its request: readable means it died
                # (the client killed it), so its server goes too, as it would have.
                pid = key.data[1]
                if pid in live:  # not if its server was reaped in this same wake-up
                    events.unregister(key.fileobj)
                    os.kill(pid, signal.SIGKILL)


def _receive(connection: socket.socket) -> tuple[dict[str, Any], list[int]]:
    fds = array.array("i")
    data, ancillary, _, _ = connection.recvmsg(65536, socket.CMSG_LEN(3 * fds.itemsize))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    try:
        size = int.from_bytes(data[:4], "big")
        while len(data) < 4 + size:
            more = connection.recv(65536)
            if not more:
                raise ConnectionError("the launcher went away mid-request")
            data += more
        return json.loads(data[4 : 4 + size]), list(fds)
    except BaseException:
        for fd in fds:  # the client's pipes: held here, its reader would never see their end
            os.close(fd)
        raise


def _become_server(request: dict[str, Any], fds: list[int]) -> None:
    """In the forked child: take the launcher's stdio, environment and folder, and run
    the server as ``python -m supervisor`` would; exits with its status."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    # Nothing else of this process's is the server's: not the launchers' connections,
    # not the other servers' exit watches.
    os.closerange(3, 1 << 16)
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()  # the C library's local zone, from the new TZ, as a new process reads it
    os.chdir(request["cwd"])
    sys.argv = ["supervisor", *request["args"]]
    from supervisor.__main__ import main

    sys.exit(main(request["args"]))


if __name__ == "__main__":
    _serve(sys.argv[1])
