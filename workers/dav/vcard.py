"""vCard text as stored (3.0, 4.0, and 2.1 as old phones wrote it): read it into lines.

A card is kept as the exact text the server gave; each logical line knows where it
starts and ends in that text, so an edit (``workers/dav/vcard_edit.py``) keeps every
line it does not change byte-for-byte: unknown and X- properties, groups
(``item1.EMAIL``), parameters, folding and line breaks. Values are decoded only when
asked for, and a binary value (a PHOTO of several MB) never: it is only "there".
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

_BREAK = re.compile(r"\r\n|\n|\r")
# Values that are files, not text: never unfolded, decoded or copied.
BINARY = frozenset({"PHOTO", "LOGO", "SOUND", "KEY"})
# vCard 2.1 wrote parameters without a name: ``TEL;WORK;VOICE:``.
_BARE_ENCODINGS = {"QUOTED-PRINTABLE": "QUOTED-PRINTABLE", "BASE64": "BASE64", "B": "B"}
# A property's head, up to the first colon outside double quotes (the loop unrolled).
_HEAD = re.compile(r'[^":\r\n]*(?:"[^"]*"[^":\r\n]*)*:')
_QUOTED_PRINTABLE = re.compile("QUOTED-PRINTABLE", re.IGNORECASE)


@dataclass
class Line:
    """One logical line (a property) of a card: where it lies in the text, and its head."""

    text: str = field(repr=False)  # the whole card's text, shared by its lines
    start: int
    end: int  # just past the line break (or the text's end)
    group: str  # "item1" for ``item1.EMAIL``, else ""
    name: str  # upper case
    params: list[tuple[str, str]]  # (NAME in upper case, value as written), in order
    value_start: int  # where the value begins in the first physical line

    @property
    def raw(self) -> str:
        return self.text[self.start : self.end]

    def param(self, name: str) -> list[str]:
        """Every value of parameter ``name`` (comma lists split, quotes removed)."""
        found = []
        for key, value in self.params:
            if key == name:
                found += [v.strip().strip('"') for v in _split(value, ",")]
        return [v for v in found if v] if found else found

    @property
    def types(self) -> list[str]:
        return [t.lower() for t in self.param("TYPE")]

    @property
    def encoding(self) -> str:
        found = self.param("ENCODING")
        return found[0].upper() if found else ""

    def value(self) -> str:
        """The value as written (unfolded, still escaped and encoded). Not for BINARY."""
        raw = self.text[self.value_start : self.end].rstrip("\r\n")
        if "\n" not in raw and "\r" not in raw:
            return raw  # one physical line: the usual case
        raw = _BREAK.sub("\n", raw)
        if self.encoding in ("QUOTED-PRINTABLE", "QP"):
            # 2.1: a soft break is "=" at a line's end, and the next line runs on.
            raw = raw.replace("=\n ", "").replace("=\n\t", "").replace("=\n", "")
        return re.sub(r"\n[ \t]", "", raw).replace("\n", "")

    def decoded(self, warnings: list[str]) -> str:
        """The value as bytes decoded by its ENCODING and CHARSET (not unescaped)."""
        raw = self.value()
        encoding = self.encoding
        if encoding not in ("QUOTED-PRINTABLE", "QP", "B", "BASE64"):
            if "\ufffd" in raw:
                warnings.append(f"{self.name} holds characters that could not be read.")
            return raw
        try:
            if encoding in ("QUOTED-PRINTABLE", "QP"):
                data = quopri.decodestring(raw.encode("utf-8", "replace"))
            else:
                data = base64.b64decode(raw.encode("ascii", "replace"), validate=False)
        except (binascii.Error, ValueError):
            warnings.append(f"{self.name} is wrongly encoded; shown as stored.")
            return raw
        charset = (self.param("CHARSET") or ["utf-8"])[0]
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                warnings.append(f"{self.name} is not in the character set it names.")
                return data.decode("latin-1")


@dataclass
class Card:
    text: str
    lines: list[Line]  # every logical line, BEGIN and END included
    newline: str  # the line break the card uses: new lines are written with it
    # Lines of a card another client nested inside this one (BEGIN:VCARD ... END:VCARD
    # within it): kept as they are, but neither read nor changed as this card's own.
    nested: frozenset[int] = frozenset()
    closed: bool = True  # whether the card ends with its own END:VCARD

    def own(self) -> list[tuple[int, Line]]:
        """(index, line) of the card's own lines, those of nested cards left out."""
        return [(n, line) for n, line in enumerate(self.lines) if n not in self.nested]

    @property
    def version(self) -> str:
        for _n, line in self.own():
            if line.name == "VERSION" and not line.group:
                return line.value().strip() or "3.0"
        return "3.0"

    def named(self, *names: str) -> list[Line]:
        return [line for _n, line in self.own() if line.name in names]

    def end_index(self) -> int:
        """Index of the card's own END:VCARD line (or past the last line)."""
        return len(self.lines) - 1 if self.closed else len(self.lines)


def parse(text: str) -> Card:
    """The first card in ``text``, line by line, up to the END that closes it (a card
    nested inside it is marked, not taken for its end). Raises ValueError when there
    is none."""
    lines = list(_logical_lines(text))
    first = next((n for n, line in enumerate(lines) if line.name == "BEGIN"), None)
    if first is None:
        raise ValueError("no BEGIN:VCARD")
    depth, nested, last, closed = 0, set(), len(lines), False
    for n in range(first, len(lines)):
        name = lines[n].name
        depth += (name == "BEGIN") - (name == "END")
        if depth > 1 or (depth == 1 and name == "END"):
            nested.add(n)
        if depth == 0:
            last, closed = n + 1, True
            break
    found = _BREAK.search(text)
    newline = found.group() if found else "\r\n"
    return Card(text, lines[:last], newline, frozenset(nested), closed)


# A line break that does not fold: what follows starts a new property.
_LOGICAL_END = re.compile(r"\r\n(?![ \t])|\n(?![ \t])|\r(?![\n \t])")


def _spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each logical line, folded lines included, ``end`` past its break:
    found by one regular expression, so a photo of 70,000 folded lines costs no loop."""
    at = 0
    for match in _LOGICAL_END.finditer(text):
        yield at, match.end()
        at = match.end()
    if at < len(text):
        yield at, len(text)


def _logical_lines(text: str) -> Iterator[Line]:
    spans = _spans(text)
    for start, end in spans:
        head = _HEAD.match(text, start, min(end, start + 1000))
        if head is None:
            # No colon on the first line: blank, or a head folded over lines (rare).
            line = _folded_head(text, start, end) if text[start:end].strip() else None
            if line is not None:
                yield line
            continue
        if _QUOTED_PRINTABLE.search(text, start, head.end()):
            # 2.1: quoted-printable runs on after a soft break ("=" at a line's end).
            while _ends_soft(text, start, end):
                following = next(spans, None)
                if following is None:
                    break
                end = following[1]
        yield _from_head(text, start, end, head.group()[:-1], head.end())


def _ends_soft(text: str, start: int, end: int) -> bool:
    stop = end
    while stop > start and text[stop - 1] in "\r\n":
        stop -= 1
    return stop > start and text[stop - 1] == "="


def _folded_head(text: str, start: int, end: int) -> Line | None:
    piece = text[start : min(end, start + 4000)]
    unfolded = re.sub(r"(\r\n|\n|\r)[ \t]", "", piece)
    head = _HEAD.match(unfolded)
    if head is None:
        return None
    # The value's start in the original text: count the head's characters back.
    wanted, at = len(head.group()), start
    seen = 0
    while seen < wanted and at < end:
        folded = re.match(r"(\r\n|\n|\r)[ \t]", text[at : at + 3])
        if folded:
            at += len(folded.group())
            continue
        at += 1
        seen += 1
    return _from_head(text, start, end, head.group()[:-1], at)


def _from_head(text: str, start: int, end: int, head: str, value_start: int) -> Line:
    parts = _split(head, ";")
    group, _dot, name = parts[0].rpartition(".")
    params: list[tuple[str, str]] = []
    for part in parts[1:]:
        key, equals, value = part.partition("=")
        if equals:
            params.append((key.strip().upper(), value))
        elif key.strip().upper() in _BARE_ENCODINGS:
            params.append(("ENCODING", key.strip()))
        elif key.strip():
            params.append(("TYPE", key.strip()))
    return Line(text, start, end, group, name.strip().upper(), params, value_start)


def _split(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside double quotes."""
    if '"' not in text:
        return text.split(separator)
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def split_escaped(value: str, separator: str) -> list[str]:
    """A structured value split at unescaped ``separator`` (``\\;`` stays inside)."""
    if "\\" not in value:
        return value.split(separator)
    parts, current, escaped = [], [], False
    for char in value:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if escaped:
        current.append("\\")
    parts.append("".join(current))
    return parts


_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)


def unescape(value: str) -> str:
    """A text value as a person reads it: ``\\n`` a line break, ``\\,`` a comma."""
    if "\\" not in value:
        return value
    return _UNESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def escape(value: str) -> str:
    """A text value as written in a card: backslash, comma, semicolon and line break
    escaped (as every version allows; in a structured value they must be)."""
    out = value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    return out.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")


def fold(line: str, newline: str) -> str:
    """One content line folded at 75 octets, never inside a character; with its break."""
    if len(line.encode()) <= 75:
        return line + newline
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for char in line:
        width = len(char.encode())
        limit = 75 if not pieces else 74  # a continuation starts with a space
        if size + width > limit:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    pieces.append("".join(current))
    return (newline + " ").join(pieces) + newline
