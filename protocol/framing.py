"""Length-prefixed msgpack frames over a byte stream.

A frame is a 4-byte big-endian length followed by that many bytes of msgpack.
The length is checked against a limit *before* anything is read, so a corrupt
or hostile peer cannot make us allocate gigabytes.
"""

from __future__ import annotations

import struct
from typing import Generic, TypeVar

import anyio
import msgspec
from anyio.abc import ByteReceiveStream, ByteSendStream

from protocol.errors import ProtocolViolation

MAX_FRAME_BYTES = 64 * 1024 * 1024
_HEADER = struct.Struct(">I")

InT = TypeVar("InT")
OutT = TypeVar("OutT")


class FrameTooLarge(ProtocolViolation):
    """A peer announced a frame larger than the limit."""


def encode_frame(payload: bytes, limit: int = MAX_FRAME_BYTES) -> bytes:
    """Prefix ``payload`` with its length; refuse payloads over ``limit``."""
    if len(payload) > limit:
        raise FrameTooLarge(
            f"A message of {len(payload)} bytes is larger than the {limit}-byte limit "
            "between processes; ask for less at a time (a smaller page or limit)."
        )
    return _HEADER.pack(len(payload)) + payload


READ_CHUNK = 64 * 1024


class FrameReader:
    """Reads frames from a byte stream, a large chunk at a time.

    One read usually brings a whole frame (or several), where reading the
    4-byte header and then the payload would cost two reads and two trips
    through the event loop for every message.
    """

    def __init__(self, stream: ByteReceiveStream, limit: int = MAX_FRAME_BYTES) -> None:
        self._stream = stream
        self._buffer = bytearray()
        self._limit = limit

    async def read_frame(self) -> bytes | None:
        """One frame's payload, or ``None`` on a clean end of stream.

        Raises FrameTooLarge when the announced length exceeds the limit and
        ProtocolViolation when the stream ends inside a frame.
        """
        if not await self._fill(_HEADER.size):
            if self._buffer:
                raise ProtocolViolation("The pipe closed in the middle of a message.")
            return None
        (length,) = _HEADER.unpack_from(self._buffer)
        if length > self._limit:
            raise FrameTooLarge(
                f"The peer announced a {length}-byte message, over the {self._limit}-byte limit."
            )
        end = _HEADER.size + length
        if not await self._fill(end):
            raise ProtocolViolation("The pipe closed in the middle of a message.")
        payload = bytes(self._buffer[_HEADER.size : end])
        del self._buffer[:end]
        return payload

    async def _fill(self, size: int) -> bool:
        """Read until the buffer holds ``size`` bytes; False if the stream ended first."""
        while len(self._buffer) < size:
            try:
                chunk = await self._stream.receive(max(READ_CHUNK, size - len(self._buffer)))
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                return False
            self._buffer += chunk
        return True


class MessageChannel(Generic[InT, OutT]):
    """Typed message I/O over a pair of byte streams.

    Receives messages of type ``InT`` (a tagged union of Structs) and sends
    ``OutT``. Sends are serialised by a lock so concurrent tasks never
    interleave frames.
    """

    def __init__(
        self,
        receive: ByteReceiveStream,
        send: ByteSendStream,
        incoming: type[InT],
        limit: int = MAX_FRAME_BYTES,
    ) -> None:
        self._frames = FrameReader(receive, limit)
        self._send = send
        self._decoder: msgspec.msgpack.Decoder[InT] = msgspec.msgpack.Decoder(incoming)
        self._encoder = msgspec.msgpack.Encoder()
        # Uncontended (the usual case), taking it costs no trip through the event loop.
        self._lock = anyio.Lock(fast_acquire=True)
        self._limit = limit

    async def receive(self) -> InT | None:
        """The next message, or ``None`` when the peer closed the pipe."""
        payload = await self._frames.read_frame()
        if payload is None:
            return None
        try:
            return self._decoder.decode(payload)
        except msgspec.DecodeError as exc:
            raise ProtocolViolation(f"Received a malformed message: {exc}") from exc

    async def send(self, message: OutT) -> None:
        """Encode and write one message as a single frame."""
        frame = encode_frame(self._encoder.encode(message), self._limit)
        async with self._lock:
            await self._send.send(frame)

    async def aclose(self) -> None:
        await self._send.aclose()
