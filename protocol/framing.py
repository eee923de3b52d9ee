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
from anyio.streams.buffered import BufferedByteReceiveStream

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


async def read_frame(
    stream: BufferedByteReceiveStream, limit: int = MAX_FRAME_BYTES
) -> bytes | None:
    """Read one frame's payload, or ``None`` on a clean end of stream.

    Raises FrameTooLarge when the announced length exceeds ``limit`` and
    ProtocolViolation when the stream ends inside a frame.
    """
    try:
        header = await stream.receive_exactly(_HEADER.size)
    except (anyio.EndOfStream, anyio.IncompleteRead, anyio.ClosedResourceError):
        return None
    (length,) = _HEADER.unpack(header)
    if length > limit:
        raise FrameTooLarge(
            f"The peer announced a {length}-byte message, over the {limit}-byte limit."
        )
    try:
        return await stream.receive_exactly(length)
    except (anyio.EndOfStream, anyio.IncompleteRead) as exc:
        raise ProtocolViolation("The pipe closed in the middle of a message.") from exc


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
        self._receive = BufferedByteReceiveStream(receive)
        self._send = send
        self._decoder: msgspec.msgpack.Decoder[InT] = msgspec.msgpack.Decoder(incoming)
        self._encoder = msgspec.msgpack.Encoder()
        self._lock = anyio.Lock()
        self._limit = limit

    async def receive(self) -> InT | None:
        """The next message, or ``None`` when the peer closed the pipe."""
        payload = await read_frame(self._receive, self._limit)
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
