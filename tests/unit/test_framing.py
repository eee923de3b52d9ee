"""Length-prefixed msgpack frames over a real pipe."""

from __future__ import annotations

import os
import struct

import anyio
import msgspec
import pytest
from anyio.abc import ByteReceiveStream, ObjectReceiveStream

from protocol.errors import ProtocolViolation
from protocol.framing import FrameReader, FrameTooLarge, MessageChannel, encode_frame
from protocol.messages import Ping, Request, Shutdown, ToWorker
from workers.pipe import FdReceiveStream, FdSendStream

pytestmark = pytest.mark.anyio


def pipe_channel(limit: int = 1024) -> tuple[MessageChannel[ToWorker, ToWorker], int]:
    """A channel that reads from a new pipe and writes into it; also the raw write fd."""
    read_fd, write_fd = os.pipe()
    channel: MessageChannel[ToWorker, ToWorker] = MessageChannel(
        FdReceiveStream(read_fd),
        FdSendStream(os.dup(write_fd)),
        ToWorker,
        limit,  # type: ignore[arg-type]
    )
    return channel, write_fd


async def test_messages_survive_the_round_trip() -> None:
    channel, raw = pipe_channel()
    request = Request(7, "get_folders", msgspec.Raw(msgspec.msgpack.encode({"a": 1})), 12.5)
    await channel.send(request)
    await channel.send(Ping(3))
    received = [await channel.receive(), await channel.receive()]
    assert received[0] == request and received[1] == Ping(3)
    os.close(raw)


async def test_a_clean_end_of_stream_reads_as_none() -> None:
    channel, raw = pipe_channel()
    await channel.send(Shutdown())
    await channel.aclose()
    os.close(raw)
    with anyio.fail_after(2):
        assert await channel.receive() == Shutdown()
        assert await channel.receive() is None


async def test_an_oversized_announcement_is_refused_before_reading_the_body() -> None:
    channel, raw = pipe_channel(limit=1024)
    os.write(raw, struct.pack(">I", 1025))  # no body follows: reading it would hang
    with anyio.fail_after(2), pytest.raises(FrameTooLarge):
        await channel.receive()
    os.close(raw)


async def test_a_frame_cut_short_is_a_protocol_violation() -> None:
    channel, raw = pipe_channel()
    os.write(raw, struct.pack(">I", 50) + b"\x81")
    os.close(raw)
    await channel.aclose()
    with anyio.fail_after(2), pytest.raises(ProtocolViolation, match="in the middle of a message"):
        await channel.receive()


async def test_garbage_inside_a_frame_is_a_protocol_violation() -> None:
    channel, raw = pipe_channel()
    os.write(raw, encode_frame(b"\xc1\xc1\xc1"))
    with anyio.fail_after(2), pytest.raises(ProtocolViolation, match="malformed message"):
        await channel.receive()
    os.close(raw)


def test_encoding_refuses_a_payload_over_the_limit() -> None:
    with pytest.raises(FrameTooLarge, match="larger than the 10-byte limit"):
        encode_frame(b"x" * 11, limit=10)


async def test_frames_split_across_reads_and_packed_into_one_read_all_arrive() -> None:
    send, receive = anyio.create_memory_object_stream[bytes](10)
    reader = FrameReader(_BytesFromMemory(receive))
    frames = [encode_frame(b"a" * 10), encode_frame(b""), encode_frame(b"b" * 100_000)]
    wire = b"".join(frames)
    await send.send(wire[:3])  # half a header
    await send.send(wire[3:20])  # the rest of the first frame and part of the second
    await send.send(wire[20:])
    send.close()
    assert [await reader.read_frame() for _ in range(4)] == [b"a" * 10, b"", b"b" * 100_000, None]


async def test_a_stream_ending_inside_a_header_is_a_protocol_violation() -> None:
    send, receive = anyio.create_memory_object_stream[bytes](10)
    reader = FrameReader(_BytesFromMemory(receive))
    await send.send(b"\x00\x00")
    send.close()
    with pytest.raises(ProtocolViolation):
        await reader.read_frame()


class _BytesFromMemory(ByteReceiveStream):
    """A byte stream handing out exactly the chunks written to a memory stream."""

    def __init__(self, receive: ObjectReceiveStream[bytes]) -> None:
        self._receive = receive

    async def receive(self, max_bytes: int = 65536) -> bytes:
        return await self._receive.receive()

    async def aclose(self) -> None:
        await self._receive.aclose()
