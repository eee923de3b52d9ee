"""Reading IMAP BODYSTRUCTURE: which part holds the text, which are attachments.

Working from the structure lets get_email fetch only the text parts, never the
attachment bodies. Part numbers follow RFC 3501 section 6.4.5: the parts of an
attached email (message/rfc822, part 2 say) are 2.1, 2.2, ..., or 2.1 alone when
its body is a single part.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from workers.imap.decode import decode_text, decode_words, to_str

# Deeper nesting than this is an attack or a bug; stop walking instead of recursing.
MAX_DEPTH = 40


@dataclass(frozen=True)
class Part:
    """One leaf of the MIME tree (message/rfc822 counts as a leaf: it is an attachment,
    and its own parts, when asked for, follow it with ``enclosed_in`` set)."""

    number: str
    maintype: str
    subtype: str
    params: dict[str, str]
    encoding: str | None
    size: int
    disposition: str | None
    filename: str | None
    in_alternative: bool
    enclosed_in: str | None = None
    """The number of the attached email this part is inside; None for the message's own."""

    @property
    def content_type(self) -> str:
        return f"{self.maintype}/{self.subtype}"

    @property
    def size_estimated(self) -> bool:
        """Whether ``decoded_size`` is an estimate (the transfer encoding changes the size)."""
        return self.encoding in ("base64", "quoted-printable")

    @property
    def decoded_size(self) -> int:
        """Bytes once the transfer encoding is undone, from the encoded size IMAP gives.

        base64 is estimated as lines of 76 characters and a CRLF (78 bytes) holding
        57 bytes each: within a fraction of a percent for what mail software writes.
        quoted-printable shrinks by an amount only the content knows: the encoded size
        is the upper bound given. Other encodings leave the bytes as they are.
        """
        if self.encoding == "base64":
            return self.size * 57 // 78
        return self.size

    @property
    def is_message(self) -> bool:
        return self.maintype == "message" and self.subtype in ("rfc822", "global")

    @property
    def charset(self) -> str | None:
        return self.params.get("charset")

    @property
    def is_attachment(self) -> bool:
        if self.disposition == "attachment":
            return True
        if self.maintype == "message" or self.maintype in ("application", "audio", "video"):
            return True
        if self.maintype == "text" and self.subtype in ("plain", "html"):
            return self.filename is not None and self.disposition != "inline"
        if self.maintype == "image":
            # Inline images of an HTML mail are decoration; named ones outside are files.
            return self.filename is not None and self.disposition != "inline"
        return self.filename is not None or self.maintype not in ("text", "multipart")


def _pairs(raw: Any) -> dict[str, str]:
    """A BODYSTRUCTURE parameter list (k1, v1, k2, v2, ...) as a lower-cased dict."""
    if not isinstance(raw, tuple | list):
        return {}
    items = list(raw)
    result: dict[str, str] = {}
    for key, value in zip(items[::2], items[1::2], strict=False):
        result[to_str(key).lower()] = to_str(value)
    return result


def _filename(params: dict[str, str], disposition_params: dict[str, str]) -> str | None:
    for source in (disposition_params, params):
        for key in ("filename", "name"):
            value = _rfc2231(source, key)
            if value:
                return decode_words(value) or None
    return None


def _rfc2231(params: dict[str, str], key: str) -> str | None:
    """A parameter value, RFC 2231 extended (``key*``) and continued (``key*0*``) forms included."""
    if key in params:
        return params[key]
    if f"{key}*" in params:
        return _decode_pieces([(params[f"{key}*"], True)])
    pieces: list[tuple[str, bool]] = []
    for index in range(1000):
        plain, encoded = f"{key}*{index}", f"{key}*{index}*"
        if encoded in params:
            pieces.append((params[encoded], True))
        elif plain in params:
            pieces.append((params[plain], False))
        else:
            break
    return _decode_pieces(pieces) if pieces else None


def _decode_pieces(pieces: list[tuple[str, bool]]) -> str:
    """Join RFC 2231 pieces: percent-encoded ones in the charset named by the first."""
    charset = "us-ascii"
    first, first_encoded = pieces[0]
    if first_encoded and first.count("'") >= 2:
        charset, _language, rest = first.split("'", 2)
        pieces = [(rest, True), *pieces[1:]]
    raw = b"".join(
        unquote_to_bytes(text) if encoded else text.encode("utf-8", "replace")
        for text, encoded in pieces
    )
    return decode_text(raw, charset or None)


def walk(
    body: Any,
    prefix: str = "",
    depth: int = 0,
    in_alternative: bool = False,
    *,
    into_messages: bool = False,
    enclosed_in: str | None = None,
) -> Iterator[Part]:
    """Every leaf part of an imapclient BODYSTRUCTURE, with its part number.

    An attached email is one leaf; with ``into_messages`` its own parts follow it,
    numbered as IMAP numbers them, so each can be fetched by that number.
    """
    if depth > MAX_DEPTH or not isinstance(body, tuple | list) or not body:
        return
    split = _multipart(body)
    if split is not None:
        children, subtype = split
        for index, child in enumerate(children, start=1):
            number = f"{prefix}.{index}" if prefix else str(index)
            yield from walk(
                child,
                number,
                depth + 1,
                in_alternative or subtype == "alternative",
                into_messages=into_messages,
                enclosed_in=enclosed_in,
            )
        return
    # A single-part body is part 1 of the message, or of the attached email it is in.
    if not prefix:
        number = "1"
    elif prefix == enclosed_in:
        number = f"{prefix}.1"
    else:
        number = prefix
    part = _leaf(body, number, in_alternative, enclosed_in)
    yield part
    # message/rfc822: (type, subtype, params, id, description, encoding, size, envelope,
    # body, lines, ...); the body's parts are numbered under this part. A server that
    # describes the part as a plain one (no envelope) has no parts to offer.
    if (
        into_messages
        and part.is_message
        and len(body) > 8
        and isinstance(body[7], tuple | list)
        and isinstance(body[8], tuple | list)
    ):
        yield from walk(body[8], number, depth + 1, into_messages=True, enclosed_in=number)


def _multipart(body: Any) -> tuple[list[Any], str] | None:
    """The children and subtype of a multipart body, or None for a single part.

    imapclient nests the top-level children in a list (([children], subtype, ...));
    inside an attached email they stay a flat run of tuples ((child), (child), subtype, ...).
    """
    if isinstance(body[0], list):
        children, rest = list(body[0]), list(body[1:])
    elif isinstance(body[0], tuple):
        count = next((i for i, f in enumerate(body) if not isinstance(f, tuple | list)), len(body))
        children, rest = list(body[:count]), list(body[count:])
    else:
        return None
    subtype = to_str(rest[0]).lower() if rest else "mixed"
    return [child for child in children if isinstance(child, tuple | list)], subtype


def _leaf(body: Any, number: str, in_alternative: bool, enclosed_in: str | None = None) -> Part:
    fields = list(body)
    maintype = to_str(fields[0]).lower() or "application"
    subtype = to_str(fields[1]).lower() if len(fields) > 1 else "octet-stream"
    params = _pairs(fields[2]) if len(fields) > 2 else {}
    encoding = to_str(fields[5]).lower() if len(fields) > 5 and fields[5] else None
    size = fields[6] if len(fields) > 6 and isinstance(fields[6], int) else 0
    # The disposition sits after the type-specific fields: find the first
    # (name, params) pair whose name is a known disposition.
    disposition, disposition_params = None, {}
    for field in fields[7:]:
        if (
            isinstance(field, tuple | list)
            and len(field) == 2
            and isinstance(field[0], bytes | str)
            and to_str(field[0]).lower() in ("attachment", "inline")
        ):
            disposition = to_str(field[0]).lower()
            disposition_params = _pairs(field[1])
            break
    return Part(
        number=number,
        maintype=maintype,
        subtype=subtype,
        params=params,
        encoding=encoding,
        size=size,
        disposition=disposition,
        filename=_filename(params, disposition_params),
        in_alternative=in_alternative,
        enclosed_in=enclosed_in,
    )


def text_parts(parts: list[Part]) -> list[Part]:
    """The parts that make up the readable body, in order.

    In each multipart/alternative the plain-text version is preferred; an
    HTML-only message is read from its HTML.
    """
    readable = [
        p
        for p in parts
        if p.maintype == "text" and p.subtype in ("plain", "html") and not p.is_attachment
    ]
    plain = [p for p in readable if p.subtype == "plain"]
    if plain:
        # A plain part outside any alternative stands on its own; inside one it wins.
        return plain
    return [p for p in readable if p.subtype == "html"][:1] or [
        p for p in parts if p.maintype == "text" and p.subtype != "calendar" and not p.is_attachment
    ][:1]


def calendar_parts(parts: list[Part]) -> list[Part]:
    """Invitations: text/calendar (RFC 6047), inline or attached, and application/ics files."""
    return [p for p in parts if p.content_type in ("text/calendar", "application/ics")]


def attachments(parts: list[Part]) -> list[Part]:
    return [p for p in parts if p.is_attachment]
