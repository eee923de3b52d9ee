"""Reading IMAP BODYSTRUCTURE: which part holds the text, which are attachments.

Working from the structure lets get_email fetch only the text parts, never the
attachment bodies. Part numbers follow RFC 3501 section 6.4.5.
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
    """One leaf of the MIME tree (message/rfc822 counts as a leaf: it is an attachment)."""

    number: str
    maintype: str
    subtype: str
    params: dict[str, str]
    encoding: str | None
    size: int
    disposition: str | None
    filename: str | None
    in_alternative: bool

    @property
    def content_type(self) -> str:
        return f"{self.maintype}/{self.subtype}"

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
    body: Any, prefix: str = "", depth: int = 0, in_alternative: bool = False
) -> Iterator[Part]:
    """Every leaf part of an imapclient BODYSTRUCTURE, with its part number."""
    if depth > MAX_DEPTH or not isinstance(body, tuple | list) or not body:
        return
    if isinstance(body[0], list):  # imapclient's multipart: ([children], subtype, params, ...)
        children = [child for child in body[0] if isinstance(child, tuple | list)]
        subtype = to_str(body[1]).lower() if len(body) > 1 else "mixed"
        for index, child in enumerate(children, start=1):
            number = f"{prefix}.{index}" if prefix else str(index)
            yield from walk(child, number, depth + 1, in_alternative or subtype == "alternative")
        return
    yield _leaf(body, prefix or "1", in_alternative)


def _leaf(body: Any, number: str, in_alternative: bool) -> Part:
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
