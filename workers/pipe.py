"""anyio byte streams over the worker's own stdin and stdout file descriptors."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

import anyio
from anyio.abc import ByteReceiveStream, ByteSendStream

T = TypeVar("T")


class _FdStream:
    """A pipe file descriptor, switched to non-blocking so a full or empty pipe waits
    in the event loop instead of stopping it."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        os.set_blocking(fd, False)

    async def aclose(self) -> None:
        os.close(self._fd)

    async def _once_ready(self, call: Callable[[], T], wait: Callable[[int], Awaitable[None]]) -> T:
        """``call()``, waiting with ``wait(fd)`` and trying again while it would block."""
        while True:
            try:
                return call()
            except BlockingIOError:
                await wait(self._fd)


class FdReceiveStream(_FdStream, ByteReceiveStream):
    """Non-blocking reads from a pipe file descriptor."""

    async def receive(self, max_bytes: int = 65536) -> bytes:
        data = await self._once_ready(partial(os.read, self._fd, max_bytes), anyio.wait_readable)
        if not data:
            raise anyio.EndOfStream
        return data


class FdSendStream(_FdStream, ByteSendStream):
    """Non-blocking writes to a pipe file descriptor."""

    async def send(self, item: bytes) -> None:
        view = memoryview(item)
        while view:
            try:
                written = await self._once_ready(
                    partial(os.write, self._fd, view), anyio.wait_writable
                )
            except BrokenPipeError as exc:
                raise anyio.BrokenResourceError from exc
            view = view[written:]


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
