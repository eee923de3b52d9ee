"""A TCP proxy that injects network faults, for resilience tests.

The proxy runs its own asyncio loop in a daemon thread, so synchronous
fixtures and async tests drive it alike; every switch is thread-safe and
takes effect for the next chunk read. Besides faults it can rewrite bytes on
their way, as a meddling middlebox does (e.g. strip a server's STARTTLS offer).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from dataclasses import dataclass, field
from typing import Literal

Direction = Literal["up", "down"]
_Mode = Literal["pass", "blackhole", "refuse"]
# A queued chunk: when to deliver it, the bytes, and whether to cut the connection after it.
_Item = tuple[float, bytes, bool]
_CHUNK = 65536
_TAIL = 4096  # bytes of each stream kept to find a pattern split across chunks
_QUEUE_DEPTH = 64  # bounded, so a slow receiver still pushes back on the sender
_TIMEOUT = 2.0
_HOLD = 0.2  # seconds bytes that may begin a rewrite pattern wait for the rest, by default


@dataclass(frozen=True)
class _Rewrite:
    old: bytes
    new: bytes
    hold: float


@dataclass(frozen=True)
class _Trigger:
    pattern: bytes
    direction: Direction
    after: bool


@dataclass(eq=False)
class _Link:
    """One proxied connection: the client's socket and ours to the target."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    tails: dict[Direction, bytes] = field(default_factory=lambda: {"up": b"", "down": b""})
    # Bytes read but not yet forwarded: they may be the start of a rewrite pattern.
    held: dict[Direction, bytes] = field(default_factory=lambda: {"up": b"", "down": b""})
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self) -> None:
        """Reset both sockets and stop forwarding."""
        for writer in (self.client, self.upstream):
            _reset(writer)
        for task in self.tasks:
            task.cancel()


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        # Linger 0 turns close() into a RST: the peer sees a reset, as on a real cut.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    """Forward ``host:port`` (``127.0.0.1`` unless told) to a target, with faults
    switchable at any time.

    Use as a context manager, or call ``start()`` and ``close()``.
    """

    def __init__(self, target_host: str, target_port: int, *, host: str = "127.0.0.1") -> None:
        self.target_host = target_host
        self.target_port = target_port
        #: Where the proxy listens: any loopback address, e.g. one a certificate does not name.
        self.host = host
        self.port = 0
        #: Set when a ``cut_when`` trigger has cut a connection; cleared by arming a new one.
        self.fired = threading.Event()
        self._lock = threading.Lock()
        self._mode: _Mode = "pass"
        self._latency = 0.0
        self._trigger: _Trigger | None = None
        self._rewrites: dict[Direction, _Rewrite] = {}
        self._accepted = 0
        self._links: set[_Link] = set()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: Exception | None = None

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        """Start listening on a free port; raises RuntimeError if that fails."""
        if self._thread is not None:
            raise RuntimeError("FaultProxy was already started")
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(_TIMEOUT) or self._error is not None:
            self.close()
            raise RuntimeError("FaultProxy did not start") from self._error

    def close(self) -> None:
        """Stop listening, reset all connections, join the thread; raises RuntimeError if it hangs."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already finished
                loop.call_soon_threadsafe(stop.set)
        thread.join(_TIMEOUT)
        if thread.is_alive():
            raise RuntimeError("FaultProxy thread did not stop")

    @property
    def connections_accepted(self) -> int:
        """Connections accepted so far, including refused ones."""
        with self._lock:
            return self._accepted

    @property
    def open_connections(self) -> int:
        """Connections currently forwarded (or blackholed) to the target."""
        with self._lock:
            return len(self._links)

    def pass_through(self) -> None:
        """Forward normally: no blackhole, no refusal, no latency, no rewriting. An armed
        trigger stays."""
        with self._lock:
            self._mode, self._latency = "pass", 0.0
            self._rewrites.clear()

    def rewrite(self, direction: Direction, old: bytes, new: bytes, *, hold: float = _HOLD) -> None:
        """From now on replace every ``old`` with ``new`` in the ``direction`` stream
        ("up" = client to server) of every connection, one rule per direction (a new
        call replaces it). An ``old`` split across chunks is caught: bytes that may
        begin it wait up to ``hold`` seconds for the rest, then go as they are.
        ``cut_when`` sees the rewritten bytes. Raises ValueError for an empty or too
        long ``old`` or a negative ``hold``.
        """
        if not 0 < len(old) <= _TAIL:
            raise ValueError(f"old must be 1 to {_TAIL} bytes long")
        if hold < 0:
            raise ValueError("hold cannot be negative")
        with self._lock:
            self._rewrites[direction] = _Rewrite(old, new, hold)

    def add_latency(self, seconds: float) -> None:
        """Deliver every chunk, in either direction, ``seconds`` after it arrived (0 = none)."""
        if seconds < 0:
            raise ValueError("latency cannot be negative")
        with self._lock:
            self._latency = seconds

    def blackhole(self) -> None:
        """Accept connections but forward nothing, on new and open ones, EOF included."""
        with self._lock:
            self._mode = "blackhole"

    def refuse(self) -> None:
        """Reset new connections as soon as they are accepted; open ones are untouched."""
        with self._lock:
            self._mode = "refuse"

    def cut_all(self) -> None:
        """Reset every open connection, both sides; raises RuntimeError if not running.

        The mode is kept: new connections follow it.
        """
        loop = self._loop
        if loop is None or not loop.is_running():
            raise RuntimeError("FaultProxy is not running")

        async def cut() -> None:
            self._abort_all()
            await asyncio.sleep(0)  # lets the aborted transports close their sockets

        asyncio.run_coroutine_threadsafe(cut(), loop).result(_TIMEOUT)

    def cut_when(self, pattern: bytes, direction: Direction = "up", after: bool = True) -> None:
        """Arm a one-shot cut: when ``pattern`` appears in the ``direction`` stream
        ("up" = client to server) of any connection, forward the chunk completing it
        (``after=True``) or drop that chunk (``after=False``), then reset that
        connection and set ``fired``. Raises ValueError for an empty or too long pattern.
        """
        if not 0 < len(pattern) <= _TAIL:
            raise ValueError(f"pattern must be 1 to {_TAIL} bytes long")
        with self._lock:
            self.fired.clear()
            self._trigger = _Trigger(pattern, direction, after)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as exc:  # start() reports it; a dead thread must not go unnoticed
            self._error = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = int(server.sockets[0].getsockname()[1])
        self._ready.set()
        await self._stop.wait()
        server.close()
        self._abort_all()
        # asyncio.run then cancels what is left (connections still dialling the target).

    def _abort_all(self) -> None:
        with self._lock:
            links = list(self._links)
        for link in links:
            link.abort()

    async def _serve(self, reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        try:
            await self._forward(reader, client)
        except (OSError, asyncio.CancelledError):
            # OSError: the target is down; the client sees a reset, like a refused connect.
            # Cancelled (shutdown) is swallowed, as Python 3.11's start_server would log it.
            _reset(client)

    async def _forward(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        with self._lock:
            self._accepted += 1
            refused = self._mode == "refuse"
        if refused:
            _reset(client)
            return
        up_reader, upstream = await asyncio.open_connection(self.target_host, self.target_port)
        link = _Link(client, upstream)
        with self._lock:
            self._links.add(link)
        try:
            # A task group, so that a bug in one pump stops the others and gets logged.
            async with asyncio.TaskGroup() as group:
                self._pump(group, link, "up", client_reader, upstream)
                self._pump(group, link, "down", up_reader, client)
        finally:
            with self._lock:
                self._links.discard(link)
            client.close()
            upstream.close()

    def _pump(
        self,
        group: asyncio.TaskGroup,
        link: _Link,
        direction: Direction,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
    ) -> None:
        # Reading and writing are separate tasks so latency delays chunks without
        # spacing them out: each is due its latency after it arrived.
        queue: asyncio.Queue[_Item | None] = asyncio.Queue(_QUEUE_DEPTH)
        link.tasks.append(group.create_task(self._read(link, direction, source, queue)))
        link.tasks.append(group.create_task(self._write(link, queue, sink)))

    def _rewritten(self, link: _Link, direction: Direction, chunk: bytes, flush: bool) -> bytes:
        """``chunk``, after any held bytes, with the direction's rule applied; holds back
        an end that may begin the pattern, unless ``flush``."""
        with self._lock:
            rule = self._rewrites.get(direction)
        data, link.held[direction] = link.held[direction] + chunk, b""
        if rule is None:
            return data
        old, new = rule.old, rule.new
        out, start = bytearray(), 0
        while (found := data.find(old, start)) >= 0:
            out += data[start:found] + new
            start = found + len(old)
        rest = data[start:]
        keep = 0 if flush else _partial_match(rest, old)
        link.held[direction] = rest[len(rest) - keep :]
        return bytes(out + rest[: len(rest) - keep])

    async def _receive(
        self, link: _Link, direction: Direction, source: asyncio.StreamReader
    ) -> tuple[bytes, bool]:
        """The next bytes to forward (rewritten), and False once the source is at EOF."""
        with self._lock:
            rule = self._rewrites.get(direction)
        wait = None
        if link.held[direction]:  # held bytes go at once if the rule was dropped meanwhile
            wait = rule.hold if rule is not None else 0.0
        try:
            chunk = await asyncio.wait_for(source.read(_CHUNK), wait)
        except TimeoutError:  # nothing came to complete the held bytes: they go as they are
            return self._rewritten(link, direction, b"", flush=True), True
        return self._rewritten(link, direction, chunk, flush=not chunk), bool(chunk)

    def _plan(self, link: _Link, direction: Direction, chunk: bytes) -> tuple[bytes, bool, float]:
        """What of ``chunk`` to forward, whether to cut after it, and the delay."""
        with self._lock:
            if self._mode == "blackhole":
                return b"", False, 0.0
            seen = link.tails[direction] + chunk
            link.tails[direction] = seen[-_TAIL:]
            trigger = self._trigger
            # Only a match ending in this chunk counts: any earlier one was already checked.
            if (
                trigger is not None
                and trigger.direction == direction
                and trigger.pattern in seen[-(len(chunk) + len(trigger.pattern) - 1) :]
            ):
                self._trigger = None  # one-shot, even with several connections racing
                return (chunk if trigger.after else b""), True, self._latency
            return chunk, False, self._latency

    async def _read(
        self,
        link: _Link,
        direction: Direction,
        source: asyncio.StreamReader,
        queue: asyncio.Queue[_Item | None],
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                chunk, more = await self._receive(link, direction, source)
                if chunk:
                    data, cut, delay = self._plan(link, direction, chunk)
                    if data or cut:
                        await queue.put((loop.time() + delay, data, cut))
                    if cut:
                        return
                if not more:
                    break
        except OSError:
            link.abort()
            return
        with self._lock:
            blackholed = self._mode == "blackhole"
        if not blackholed:
            await queue.put(None)

    async def _write(
        self, link: _Link, queue: asyncio.Queue[_Item | None], sink: asyncio.StreamWriter
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            while (item := await queue.get()) is not None:
                deliver_at, data, cut = item
                if (delay := deliver_at - loop.time()) > 0:
                    await asyncio.sleep(delay)
                if data:
                    sink.write(data)
                    await sink.drain()
                if cut:
                    self.fired.set()
                    link.abort()
                    return
            if sink.can_write_eof():
                sink.write_eof()
        except OSError:
            link.abort()


def _partial_match(data: bytes, pattern: bytes) -> int:
    """The length of the longest end of ``data`` that is a proper start of ``pattern``."""
    for size in range(min(len(pattern) - 1, len(data)), 0, -1):
        if data.endswith(pattern[:size]):
            return size
    return 0
