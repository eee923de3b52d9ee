"""Stands in for ``python -m supervisor`` in the tests: hands this process's stdin,
stdout and stderr, arguments, environment and folder to the preloaded server process
(tests/preloaded_server.py), which forks a server that has already imported the
supervisor; then waits for that server and exits as it did.

Run as ``python -I -S tests/preloaded_launch.py SOCKET [server arguments]``: it imports
nothing but the standard library, so it starts in a few milliseconds. The server's
stdio are this process's own, so an MCP client on its pipes talks to the server itself.
"""

import array
import contextlib
import functools
import json
import os
import signal
import socket
import sys

_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _forward(pid: int, received: int, _frame: object) -> None:
    with contextlib.suppress(ProcessLookupError):  # the server has just exited
        os.kill(pid, received)


def main(socket_path: str, args: list[str]) -> None:
    request = json.dumps({"args": args, "env": dict(os.environ), "cwd": os.getcwd()}).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(socket_path)
        frame = len(request).to_bytes(4, "big") + request
        fds = array.array("i", (0, 1, 2)).tobytes()
        sent = connection.sendmsg([frame], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
        connection.sendall(frame[sent:])
        answers = connection.makefile("r")
        pid = int(answers.readline())
        for number in _FORWARDED:
            signal.signal(number, functools.partial(_forward, pid))
        # The server holds the pipes now; this process must not keep its stdout open, or
        # the client would not see end-of-file when the server exits.
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        line = answers.readline()
    if not line:  # the preloaded server process went away
        sys.exit(1)
    code = os.waitstatus_to_exitcode(int(line))
    if code < 0:  # killed by a signal: die of the same one, as the server did
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
