"""One ManageSieve connection on the wire: a command out, its lines and final answer in.

Every wait for the server runs under ``anyio.fail_after``. One exchange at a
time (a lock); after a timeout, a lost connection, a ``BYE`` or an answer we
could not read, the connection is ``broken`` and must be closed, never reused:
the next answer on the wire could belong to the abandoned command.
"""

from __future__ import annotations

import ssl

import anyio
from anyio.abc import ByteStream
from anyio.streams.buffered import BufferedByteReceiveStream
from anyio.streams.tls import TLSStream

from protocol.errors import MailError, ProtocolViolation, Unavailable
from workers.sieve import client_errors as errors
from workers.sieve.protocol_parse import (
    MAX_LINE,
    LineParser,
    Response,
    Token,
    Unreadable,
    as_response,
)

CLOSE_TIMEOUT = 5.0
# One answer, all its lines and literals: a script list or a script is far smaller.
MAX_ANSWER = 32 * 1024 * 1024
NETWORK_ERRORS = (
    OSError,
    anyio.EndOfStream,
    anyio.IncompleteRead,
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
)

Lines = list[list[Token]]


class SieveConnection:
    """A byte stream to ``where`` (host:port), read line by line and literal by literal.

    ``secrets`` are blanked out of anything the server says that reaches an error.
    """

    def __init__(self, stream: ByteStream, where: str, read_timeout: float) -> None:
        self.where = where
        self.read_timeout = read_timeout
        self.secrets: tuple[str, ...] = ()
        self._stream = stream
        self._reader = BufferedByteReceiveStream(stream)
        self._lock = anyio.Lock()
        self._broken = False
        self._closed = False
        self._budget = MAX_ANSWER

    @property
    def broken(self) -> bool:
        """True when the connection cannot be trusted any more and must be closed."""
        return self._broken or self._closed

    @property
    def closed(self) -> bool:
        return self._closed

    async def call(
        self, command: bytes | None, *, writing: bool = False, timeout: float = 0
    ) -> tuple[Lines, Response]:
        """Send ``command`` (None: only read, as for the greeting) and read to its OK or NO.

        Returns the data lines and the final answer. A BYE, a timeout, a lost
        connection or an unreadable answer raise a MailError and leave the
        connection broken; ``writing`` says a lost answer may hide a change made.
        """
        seconds = timeout or self.read_timeout
        if self.broken:
            raise Unavailable(
                f"The session with the Sieve server {self.where} has ended; try again."
            )
        async with self._lock:
            finished = sent = False
            try:
                with anyio.fail_after(seconds):
                    if command is not None:
                        sent = writing
                        await self._stream.send(command)
                    lines, answer = await self._read_answer()
                finished = True
            except TimeoutError:
                raise errors.timed_out(self.where, seconds, may_have_happened=sent) from None
            except NETWORK_ERRORS:
                raise errors.lost(self.where, may_have_happened=sent) from None
            except anyio.DelimiterNotFound:
                raise self.unreadable("a line longer than we accept") from None
            except Unreadable as exc:
                raise self.unreadable(str(exc)) from None
            finally:
                if not finished:
                    self._broken = True
        if answer.status == "BYE":
            self._broken = True
            raise errors.said_bye(answer, self.where, self.secrets)
        return lines, answer

    async def start_tls(self, hostname: str, context: ssl.SSLContext, timeout: float) -> None:
        """The TLS handshake, after the server's OK to STARTTLS; raises Unavailable,
        ServerTimeout or ProtocolViolation (and leaves the connection broken)."""
        if self._reader.buffer:
            # Bytes sent before the handshake would be read as if they came through TLS.
            self._broken = True
            raise ProtocolViolation(
                f"The Sieve server {self.where} sent data before TLS began, so the "
                "connection was closed and the password not sent."
            )
        try:
            with anyio.fail_after(timeout):
                self._stream = await TLSStream.wrap(
                    self._stream, hostname=hostname, ssl_context=context, standard_compatible=False
                )
        except TimeoutError:
            self._broken = True
            raise errors.timed_out(self.where, timeout, may_have_happened=False) from None
        except NETWORK_ERRORS as exc:
            self._broken = True
            raise errors.tls_failure(exc, self.where) from None
        self._reader = BufferedByteReceiveStream(self._stream)

    def unreadable(self, what: str) -> ProtocolViolation:
        """An answer we could not make sense of: the connection is broken from here on."""
        self._broken = True
        return ProtocolViolation(
            f"The Sieve server {self.where} sent an answer we could not read ({what})."
        )

    def mark_broken(self) -> None:
        self._broken = True

    async def aclose(self) -> None:
        """LOGOUT if the connection is healthy, then close; shielded, bounded, never raises."""
        if self._closed:
            return
        healthy = not self._broken
        self._closed = True
        with anyio.CancelScope(shield=True):
            with anyio.move_on_after(CLOSE_TIMEOUT):
                if healthy:
                    try:
                        await self._stream.send(b"LOGOUT\r\n")
                        await self._read_answer()  # its OK; the server closes after it
                    except (MailError, Unreadable, *NETWORK_ERRORS, anyio.DelimiterNotFound):
                        pass
            await anyio.aclose_forcefully(self._stream)

    async def _read_answer(self) -> tuple[Lines, Response]:
        lines: Lines = []
        self._budget = MAX_ANSWER  # bytes this answer may still take, across its lines
        while True:
            tokens = await self._read_line()
            answer = as_response(tokens)
            if answer is not None:
                return lines, answer
            lines.append(tokens)

    async def _read_line(self) -> list[Token]:
        parser = LineParser()
        while True:
            part = await self._reader.receive_until(b"\r\n", MAX_LINE)
            size = parser.feed(part)
            self._budget -= len(part) + (size or 0)
            if self._budget < 0:
                raise self.unreadable("an answer larger than we accept")
            if size is None:
                return parser.tokens
            parser.add_literal(await self._reader.receive_exactly(size))
