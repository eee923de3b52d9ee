"""anyio byte streams over the worker's own stdin and stdout file descriptors."""

from __future__ import annotations

import os

import anyio
from anyio.abc import ByteReceiveStream, ByteSendStream


class FdReceiveStream(ByteReceiveStream):
    """Non-blocking reads from a pipe file descriptor."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        os.set_blocking(fd, False)

    async def receive(self, max_bytes: int = 65536) -> bytes:
        while True:
            try:
                data = os.read(self._fd, max_bytes)
            except BlockingIOError:
                await anyio.wait_readable(self._fd)
                continue
            if not data:
                raise anyio.EndOfStream
            return data

    async def aclose(self) -> None:
        os.close(self._fd)


class FdSendStream(ByteSendStream):
    """Non-blocking writes to a pipe file descriptor."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        os.set_blocking(fd, False)

    async def send(self, item: bytes) -> None:
        view = memoryview(item)
        while view:
            try:
                written = os.write(self._fd, view)
            except BlockingIOError:
                await anyio.wait_writable(self._fd)
                continue
            except BrokenPipeError as exc:
                raise anyio.BrokenResourceError from exc
            view = view[written:]

    async def aclose(self) -> None:
        os.close(self._fd)


def claim_stdio() -> tuple[FdReceiveStream, FdSendStream]:
    """Take fds 0 and 1 for the pipe and point fd 1 at stderr.

    After this, a stray ``print`` from any library lands in the log instead of
    corrupting a frame.
    """
    pipe_in = os.dup(0)
    pipe_out = os.dup(1)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    return FdReceiveStream(pipe_in), FdSendStream(pipe_out)
