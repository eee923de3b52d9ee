"""Undoing a Content-Transfer-Encoding piece by piece, for attachments read in chunks.

A chunk boundary falls anywhere: inside a base64 quantum or a quoted-printable
line. Each decoder keeps the unfinished tail for the next chunk.
"""

from __future__ import annotations

import binascii
from typing import Protocol

_BASE64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
_NOT_BASE64 = bytes(b for b in range(256) if b not in _BASE64_ALPHABET)


class ChunkDecoder(Protocol):
    damaged: bool

    def feed(self, chunk: bytes) -> bytes: ...

    def finish(self) -> bytes: ...


class Identity:
    damaged = False

    def feed(self, chunk: bytes) -> bytes:
        return chunk

    def finish(self) -> bytes:
        return b""


class Base64Chunks:
    """Stray characters and inner padding (seen in broken mailers) are skipped, not fatal."""

    def __init__(self) -> None:
        self.damaged = False
        self._tail = b""
        self._padded = False

    def feed(self, chunk: bytes) -> bytes:
        compact = b"".join(chunk.split())
        usable = compact.translate(None, _NOT_BASE64)  # at C speed: 30 MB in milliseconds
        if len(usable) != len(compact):
            self.damaged = True
        if self._padded and usable.strip(b"="):
            self.damaged = True  # data after padding: padding inside, not at the end
        if b"=" in usable:
            self._padded = True
            usable = usable.replace(b"=", b"")
        data = self._tail + usable
        whole = len(data) // 4 * 4
        self._tail = data[whole:]
        return binascii.a2b_base64(data[:whole])

    def finish(self) -> bytes:
        tail, self._tail = self._tail, b""
        if len(tail) == 1:
            self.damaged = True
            return b""
        return binascii.a2b_base64(tail + b"=" * (-len(tail) % 4)) if tail else b""


class QuotedPrintableChunks:
    def __init__(self) -> None:
        self.damaged = False
        self._tail = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._tail + chunk
        cut = data.rfind(b"\n") + 1
        self._tail = data[cut:]
        return binascii.a2b_qp(data[:cut])

    def finish(self) -> bytes:
        tail, self._tail = self._tail, b""
        return binascii.a2b_qp(tail)


def decoder_for(encoding: str | None) -> ChunkDecoder:
    kind = (encoding or "7bit").strip().lower()
    if kind == "base64":
        return Base64Chunks()
    if kind == "quoted-printable":
        return QuotedPrintableChunks()
    return Identity()
