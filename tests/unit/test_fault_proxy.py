"""FaultProxy: each fault, seen from a real client talking to a real echo server."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator

import anyio
import pytest

from tests.faults.proxy import FaultProxy
from tests.servers.in_thread import served_in_a_thread
from tests.servers.ports import free_port

SILENCE = 0.5  # how long a read waits before we call the line silent


class EchoServer(socketserver.ThreadingTCPServer):
    """A TCP echo server on 127.0.0.1:0 that records every byte it received."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)
        self.port: int = self.server_address[1]
        self.changed = threading.Condition()
        self._received = bytearray()

    def record(self, data: bytes) -> None:
        with self.changed:
            self._received += data
            self.changed.notify_all()

    @property
    def received(self) -> bytes:
        with self.changed:
            return bytes(self._received)

    def wait_received(self, size: int) -> bytes:
        """What was received once ``size`` bytes arrived, or after one second."""
        with self.changed:
            self.changed.wait_for(lambda: len(self._received) >= size, timeout=1.0)
            return bytes(self._received)


class _EchoHandler(socketserver.BaseRequestHandler):
    server: EchoServer

    def handle(self) -> None:
        try:
            while data := self.request.recv(65536):
                self.server.record(data)
                self.request.sendall(data)
        except OSError:
            pass  # the proxy reset us: that is what these tests do


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    yield from served_in_a_thread(EchoServer(), poll_interval=0.01)


@pytest.fixture
def proxy(echo: EchoServer) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", echo.port) as proxy:
        yield proxy


@pytest.fixture
def connect(proxy: FaultProxy) -> Iterator[Callable[[], socket.socket]]:
    """Opens client connections to the proxy and closes them after the test."""
    opened: list[socket.socket] = []

    def open_connection() -> socket.socket:
        sock = socket.create_connection((proxy.host, proxy.port), timeout=SILENCE)
        opened.append(sock)
        return sock

    yield open_connection
    for sock in opened:
        sock.close()


def round_trip(sock: socket.socket, data: bytes) -> bytes:
    sock.sendall(data)
    received = b""
    while len(received) < len(data) and (chunk := sock.recv(65536)):
        received += chunk
    return received


def working_connection(connect: Callable[[], socket.socket]) -> socket.socket:
    """A connection through the proxy that has echoed ``before``: one open before a fault."""
    sock = connect()
    assert round_trip(sock, b"before") == b"before"
    return sock


def read_until_reset(sock: socket.socket) -> bytes:
    """The bytes that arrived before a reset; fails on a clean close or on silence."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        return received
    pytest.fail(f"the connection closed cleanly after {received!r} instead of being reset")


def wait_until(condition: Callable[[], bool], timeout: float = 1.0) -> None:
    limit = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < limit, "condition not met in time"
        time.sleep(0.005)


def test_bytes_pass_through_unchanged(connect: Callable[[], socket.socket]) -> None:
    payload = bytes(range(256)) * 1000
    assert round_trip(connect(), payload) == payload


def test_latency_delays_a_round_trip_by_at_least_twice_the_latency(
    proxy: FaultProxy, connect: Callable[[], socket.socket]
) -> None:
    sock = connect()
    proxy.add_latency(0.1)
    start = time.monotonic()
    assert round_trip(sock, b"ping") == b"ping"
    assert time.monotonic() - start >= 0.2


def test_blackhole_silences_an_open_connection_and_the_target_gets_nothing(
    proxy: FaultProxy, echo: EchoServer, connect: Callable[[], socket.socket]
) -> None:
    sock = working_connection(connect)
    proxy.blackhole()
    sock.sendall(b"during")
    with pytest.raises(TimeoutError):
        sock.recv(1)
    assert echo.received == b"before"


def test_a_connection_made_during_a_blackhole_is_accepted_but_hears_nothing(
    proxy: FaultProxy, echo: EchoServer, connect: Callable[[], socket.socket]
) -> None:
    proxy.blackhole()
    sock = connect()
    sock.sendall(b"hello")
    with pytest.raises(TimeoutError):
        sock.recv(1)
    assert echo.received == b""
    assert proxy.connections_accepted == 1


def test_refuse_makes_a_new_connection_fail_at_once(
    proxy: FaultProxy, connect: Callable[[], socket.socket]
) -> None:
    proxy.refuse()
    start = time.monotonic()
    with pytest.raises(ConnectionError):
        connect().recv(1)
    assert time.monotonic() - start < SILENCE / 2


def test_refuse_leaves_open_connections_working(
    proxy: FaultProxy, connect: Callable[[], socket.socket]
) -> None:
    sock = working_connection(connect)
    proxy.refuse()
    assert round_trip(sock, b"after") == b"after"


def test_pass_through_ends_a_fault(proxy: FaultProxy, connect: Callable[[], socket.socket]) -> None:
    proxy.refuse()
    proxy.pass_through()
    assert round_trip(connect(), b"back") == b"back"


def test_cut_all_resets_an_open_connection(
    proxy: FaultProxy, connect: Callable[[], socket.socket]
) -> None:
    sock = working_connection(connect)
    proxy.cut_all()
    assert read_until_reset(sock) == b""
    wait_until(lambda: proxy.open_connections == 0)


def test_a_connection_made_after_cut_all_works(
    proxy: FaultProxy, connect: Callable[[], socket.socket]
) -> None:
    round_trip(connect(), b"first")
    proxy.cut_all()
    assert round_trip(connect(), b"second") == b"second"


def test_cut_when_fires_on_a_pattern_split_across_two_sends(
    proxy: FaultProxy, echo: EchoServer, connect: Callable[[], socket.socket]
) -> None:
    proxy.cut_when(b"PATTERN")
    sock = connect()
    assert round_trip(sock, b"abc PAT") == b"abc PAT"
    assert not proxy.fired.is_set()
    sock.sendall(b"TERN xyz")
    assert read_until_reset(sock) == b""
    assert proxy.fired.is_set()
    assert echo.wait_received(15) == b"abc PATTERN xyz"


def test_cut_when_before_drops_the_chunk_completing_the_pattern(
    proxy: FaultProxy, echo: EchoServer, connect: Callable[[], socket.socket]
) -> None:
    proxy.cut_when(b"PATTERN", after=False)
    sock = connect()
    assert round_trip(sock, b"abc PAT") == b"abc PAT"
    sock.sendall(b"TERN xyz")
    assert read_until_reset(sock) == b""
    assert echo.received == b"abc PAT"


def test_cut_when_down_delivers_the_reply_then_resets(
    proxy: FaultProxy, connect: Callable[[], socket.socket]
) -> None:
    proxy.cut_when(b"OK", direction="down")
    sock = connect()
    sock.sendall(b"say OK")
    assert read_until_reset(sock) == b"say OK"
    assert proxy.fired.is_set()


def test_cut_when_fires_only_once(proxy: FaultProxy, connect: Callable[[], socket.socket]) -> None:
    proxy.cut_when(b"BYE")
    first = connect()
    first.sendall(b"BYE")
    read_until_reset(first)
    assert round_trip(connect(), b"BYE again") == b"BYE again"


def test_counters_follow_accepted_and_open_connections(
    proxy: FaultProxy, connect: Callable[[], socket.socket]
) -> None:
    first, second = connect(), connect()
    round_trip(first, b"1")
    round_trip(second, b"2")
    assert (proxy.connections_accepted, proxy.open_connections) == (2, 2)
    first.close()
    wait_until(lambda: proxy.open_connections == 1)
    assert proxy.connections_accepted == 2


def test_rewrite_changes_only_the_stream_it_was_given(
    proxy: FaultProxy, echo: EchoServer, connect: Callable[[], socket.socket]
) -> None:
    proxy.rewrite("down", b"SECRET", b"PUBLIC")
    sock = connect()
    assert round_trip(sock, b"a SECRET and a SECRET") == b"a PUBLIC and a PUBLIC"
    assert echo.received == b"a SECRET and a SECRET"


def test_rewrite_up_changes_what_the_target_receives(
    proxy: FaultProxy, echo: EchoServer, connect: Callable[[], socket.socket]
) -> None:
    proxy.rewrite("up", b"250-STARTTLS", b"250-XSTARTTL")
    assert round_trip(connect(), b"250-STARTTLS\r\n") == b"250-XSTARTTL\r\n"
    assert echo.received == b"250-XSTARTTL\r\n"


def test_rewrite_catches_a_pattern_split_across_two_sends(
    proxy: FaultProxy, echo: EchoServer, connect: Callable[[], socket.socket]
) -> None:
    proxy.rewrite("up", b"SECRET", b"PUBLIC", hold=10.0)  # ample time for the second send
    sock = connect()
    sock.sendall(b"abc SEC")
    assert echo.wait_received(4) == b"abc "  # "SEC" waits for what follows
    sock.sendall(b"RET xyz")
    assert echo.wait_received(14) == b"abc PUBLIC xyz"


def test_held_bytes_go_as_they_are_when_nothing_completes_the_pattern(
    proxy: FaultProxy, connect: Callable[[], socket.socket]
) -> None:
    proxy.rewrite("up", b"SECRET", b"PUBLIC")
    assert round_trip(connect(), b"abc SEC") == b"abc SEC"


def test_rewrite_may_change_the_length(
    proxy: FaultProxy, connect: Callable[[], socket.socket]
) -> None:
    proxy.rewrite("down", b"long word", b"x")
    sock = connect()
    sock.sendall(b"a long word here")
    assert echo_of(sock, b"a x here") == b"a x here"


def test_pass_through_ends_rewriting(
    proxy: FaultProxy, connect: Callable[[], socket.socket]
) -> None:
    proxy.rewrite("down", b"old", b"new")
    proxy.pass_through()
    assert round_trip(connect(), b"old") == b"old"


def test_rewrite_refuses_an_empty_pattern(proxy: FaultProxy) -> None:
    with pytest.raises(ValueError, match="1 to"):
        proxy.rewrite("up", b"", b"x")


def test_the_proxy_listens_on_the_loopback_address_it_was_given(echo: EchoServer) -> None:
    with FaultProxy("127.0.0.1", echo.port, host="127.0.0.2") as proxy:
        sock = socket.create_connection(("127.0.0.2", proxy.port), timeout=SILENCE)
        with sock:
            assert round_trip(sock, b"elsewhere") == b"elsewhere"
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", proxy.port), timeout=SILENCE).close()


def echo_of(sock: socket.socket, expected: bytes) -> bytes:
    """What comes back until ``expected``'s length arrived (or the line goes silent)."""
    received = b""
    while len(received) < len(expected) and (chunk := sock.recv(65536)):
        received += chunk
    return received


def test_a_client_is_reset_when_the_target_is_down() -> None:
    with FaultProxy("127.0.0.1", free_port()) as proxy:
        try:
            sock = socket.create_connection((proxy.host, proxy.port), timeout=SILENCE)
        except ConnectionResetError:
            return  # the reset came before connect() returned (a busy machine): the same fault
        with sock:
            assert read_until_reset(sock) == b""


def test_close_leaves_no_thread_behind(echo: EchoServer) -> None:
    before = set(threading.enumerate())
    proxy = FaultProxy("127.0.0.1", echo.port)
    proxy.start()
    started = set(threading.enumerate()) - before
    proxy.close()
    assert started, "the proxy should run in a thread of its own"
    assert not [thread for thread in started if thread.is_alive()]


def test_close_resets_open_connections_and_stops_listening(echo: EchoServer) -> None:
    with FaultProxy("127.0.0.1", echo.port) as proxy:
        sock = socket.create_connection((proxy.host, proxy.port), timeout=SILENCE)
        assert round_trip(sock, b"hi") == b"hi"
    with sock:
        assert read_until_reset(sock) == b""
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((proxy.host, proxy.port), timeout=SILENCE).close()


@pytest.mark.anyio
async def test_an_async_client_talks_through_the_proxy(proxy: FaultProxy) -> None:
    with anyio.fail_after(2):
        async with await anyio.connect_tcp(proxy.host, proxy.port) as stream:
            await stream.send(b"async")
            assert await stream.receive() == b"async"
