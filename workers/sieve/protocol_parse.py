"""ManageSieve (RFC 5804) on the wire: the words of a response line, and the strings we send.

Pure functions, no I/O: the client (workers/sieve/client.py) reads lines and
literals and hands them here. A server's line is a list of tokens: an atom
(``OK``, ``ACTIVE``) is a ``str``, a quoted string or literal is ``bytes``, and a
parenthesised response code is a nested ``list``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from protocol.errors import InvalidArgument

Token: TypeAlias = str | bytes | list["Token"]
Status = Literal["OK", "NO", "BYE"]

MAX_LINE = 64 * 1024  # a line outside literals; Dovecot's own limit is the same
MAX_LITERAL = 16 * 1024 * 1024  # far above any server's script size limit (Dovecot: 1 MiB)
MAX_QUOTED = 1024  # longer strings go as literals, as RFC 5804 suggests
MAX_NAME = 512  # characters in a script name; servers allow far fewer
MAX_SENTENCE = 400  # characters of a server's text we pass on

_STATUSES: dict[str, Status] = {"OK": "OK", "NO": "NO", "BYE": "BYE"}
_LITERAL = re.compile(rb"\{(\d{1,20})(\+?)\}$")
_ATOM_END = b' ()"{\r\n'
# RFC 5804 section 1.6: no controls, no line or paragraph separators in a script name.
_NAME_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class Response:
    """A final answer: ``OK``, ``NO`` or ``BYE``, its response code and its text.

    ``code`` is the code's first word in capitals (``NONEXISTENT``, ``QUOTA/MAXSIZE``,
    ``SASL``), ``code_args`` the strings after it; ``text`` is the server's
    human-readable sentence as it sent it (never shown without ``safe_sentence``).
    """

    status: Status
    code: str | None = None
    code_args: tuple[str, ...] = ()
    text: str = ""


@dataclass
class LineParser:
    """Collects the tokens of one response line, which literals may split in parts.

    Feed each part with ``feed``; it returns the size of a literal that follows
    (read exactly that many bytes and ``add_literal`` them), or None when the line
    is complete and ``tokens`` holds it.
    """

    tokens: list[Token] = field(default_factory=list)
    _open: list[list[Token]] = field(default_factory=list)

    def feed(self, part: bytes) -> int | None:
        """Scan ``part`` (one line without its CRLF). Raises Unreadable."""
        literal = _LITERAL.search(part)
        if literal is not None:
            part = part[: literal.start()]
        position = 0
        while position < len(part):
            byte = part[position : position + 1]
            if byte == b" ":
                position += 1
            elif byte == b"(":
                group: list[Token] = []
                self._innermost().append(group)
                self._open.append(group)
                position += 1
            elif byte == b")":
                if not self._open:
                    raise Unreadable("an unmatched parenthesis")
                self._open.pop()
                position += 1
            elif byte == b'"':
                text, position = _quoted(part, position + 1)
                self._innermost().append(text)
            else:
                end = position
                while end < len(part) and part[end : end + 1] not in _ATOM_END:
                    end += 1
                if end == position:
                    raise Unreadable("an unexpected character")
                self._innermost().append(part[position:end].decode("ascii", "replace"))
                position = end
        if literal is not None:
            size = int(literal.group(1))
            if size > MAX_LITERAL:
                raise Unreadable("a literal larger than we accept")
            return size
        if self._open:
            raise Unreadable("an unclosed parenthesis")
        return None

    def add_literal(self, data: bytes) -> None:
        self._innermost().append(data)

    def _innermost(self) -> list[Token]:
        return self._open[-1] if self._open else self.tokens


def _quoted(line: bytes, position: int) -> tuple[bytes, int]:
    """The quoted string starting at ``position`` (after its quote) and where it ends."""
    out = bytearray()
    while position < len(line):
        byte = line[position]
        if byte == 0x22:  # "
            return bytes(out), position + 1
        if byte == 0x5C:  # backslash: only \" and \\ are defined
            position += 1
            if position >= len(line):
                break
            byte = line[position]
        out.append(byte)
        position += 1
    raise Unreadable("an unterminated quoted string")


class Unreadable(ValueError):
    """A line that is not ManageSieve; its text says what was wrong with it ("an
    unclosed parenthesis"), for the connection's sentence, which names the server."""


def as_response(tokens: list[Token]) -> Response | None:
    """The final answer this line is, or None for a data line (a script name, a
    capability). Raises Unreadable for a line starting with another word."""
    if not tokens or not isinstance(tokens[0], str):
        return None
    status = _STATUSES.get(tokens[0].upper())
    if status is None:
        raise Unreadable("an answer that was neither OK, NO nor BYE")
    code: str | None = None
    code_args: tuple[str, ...] = ()
    rest = tokens[1:]
    if rest and isinstance(rest[0], list):
        words = rest.pop(0)
        assert isinstance(words, list)
        if words and isinstance(words[0], str):
            code = words[0].upper()
            code_args = tuple(_text(word) for word in words[1:] if isinstance(word, bytes))
    text = " ".join(_text(word) for word in rest if isinstance(word, bytes))
    return Response(status, code, code_args, text)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def strings_of(tokens: list[Token]) -> list[str]:
    """The strings of a data line, decoded; atoms (``ACTIVE``) are kept as they are."""
    return [
        _text(token) if isinstance(token, bytes) else token
        for token in tokens
        if not isinstance(token, list)
    ]


def encode_string(value: str | bytes) -> bytes:
    """``value`` as a ManageSieve string: quoted when short and plain, else a
    non-synchronising literal ``{n+}`` (the only kind a client sends, RFC 5804)."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    if len(data) <= MAX_QUOTED and not any(byte in data for byte in b"\r\n\x00"):
        return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    return b"{%d+}\r\n" % len(data) + data


def checked_name(name: str) -> str:
    """A script name fit to send, NFC-normalised (RFC 5804 compares names so).

    Raises InvalidArgument for an empty or too long name, or one with control
    characters (which could otherwise end the command early).
    """
    if not name:
        raise InvalidArgument("A Sieve script name cannot be empty.")
    if _NAME_FORBIDDEN.search(name):
        raise InvalidArgument(
            "A Sieve script name cannot contain control characters or line breaks."
        )
    if len(name) > MAX_NAME:
        raise InvalidArgument(f"A Sieve script name can have at most {MAX_NAME} characters.")
    return unicodedata.normalize("NFC", name)


def safe_sentence(text: str, secrets: tuple[str, ...] = ()) -> str:
    """A server's text fit for a person's eyes: one line, printable, at most
    ``MAX_SENTENCE`` characters, without a trailing full stop, any of ``secrets``
    blanked out (a hostile server could echo the password back)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    text = "; ".join(line.rstrip(".;") for line in lines if line)
    text = "".join(char if char.isprintable() else " " for char in text)
    if len(text) > MAX_SENTENCE:
        text = text[: MAX_SENTENCE - 1].rstrip() + "…"
    return text.rstrip(". ")
