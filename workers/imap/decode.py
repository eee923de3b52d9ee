"""Decoding what strangers wrote: encoded words, charsets, transfer encodings.

Every function here degrades instead of raising: a broken header or charset
gives replacement characters, never an exception that loses the whole message.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri
from datetime import datetime
from email.errors import HeaderParseError, InvalidHeaderDefect
from email.header import decode_header, make_header
from email.headerregistry import HeaderRegistry
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

# Labels mail software writes that Python does not know, and what they mean in practice.
_CHARSET_ALIASES = {
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "x-unknown": "windows-1252",
    "unknown-8bit": "windows-1252",
    "x-user-defined": "windows-1252",
    "ansi_x3.4-1968": "ascii",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
}


def charset_codec(label: str | None) -> str:
    """A codec name Python knows for ``label``; windows-1252 for junk, utf-8 for none."""
    if not label:
        return "utf-8"
    name = label.strip().strip('"').lower()
    name = _CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "windows-1252"


def decode_text(data: bytes, charset: str | None) -> str:
    """Bytes to text in ``charset``; mislabelled UTF-8 and unknown labels handled gracefully."""
    codec = charset_codec(charset)
    if codec in ("ascii", "us-ascii") or charset is None:
        # Often really UTF-8 (or Latin-1) in practice: try the strict, likely reading first.
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("windows-1252", errors="replace")
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            # Text labelled UTF-8 that is not is nearly always Latin-1 / windows-1252.
            fallback = "windows-1252" if codec == "utf-8" else codec
            return data.decode(fallback, errors="replace")


def parse_header_block(raw: bytes) -> Message:
    """A header block as a Message; 8-bit bytes read as UTF-8 (RFC 6532) or windows-1252.

    compat32 is lenient where email.policy.default recurses on hostile input.
    Raises ValueError when the block cannot be parsed at all.
    """
    try:
        return HeaderParser(policy=compat32).parsestr(decode_text(raw, None))
    except (RecursionError, IndexError, TypeError, LookupError) as exc:
        raise ValueError(f"unreadable headers ({type(exc).__name__})") from None


def _undo_surrogates(text: str) -> str:
    """Header text the email package read from raw 8-bit bytes (RFC 6532 UTF-8, or a
    legacy charset) carries them as surrogate escapes; decode those bytes properly."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    return decode_text(text.encode("utf-8", "surrogateescape"), None)


def transfer_decode(data: bytes, encoding: str | None) -> tuple[bytes, bool]:
    """Undo a Content-Transfer-Encoding; returns the bytes and whether it was clean."""
    kind = (encoding or "7bit").strip().lower()
    if kind == "base64":
        cleaned = b"".join(data.split())
        try:
            return base64.b64decode(cleaned + b"=" * (-len(cleaned) % 4), validate=True), True
        except (binascii.Error, ValueError):
            return _salvage_base64(cleaned), False
    if kind == "quoted-printable":
        try:
            return quopri.decodestring(data), True
        except (ValueError, binascii.Error):
            return data, False
    return data, True


def _salvage_base64(data: bytes) -> bytes:
    """Decode what can be decoded of damaged base64: stray bytes and inner padding dropped."""
    usable = data.translate(None, _NOT_BASE64)
    usable = usable[: len(usable) // 4 * 4]
    out = bytearray()
    for start in range(0, len(usable), 4096):
        try:
            out += binascii.a2b_base64(usable[start : start + 4096])
        except binascii.Error:
            break
    return bytes(out)


_BASE64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_NOT_BASE64 = bytes(b for b in range(256) if b not in _BASE64_ALPHABET)  # padding too


def to_str(value: Any) -> str:
    """imapclient hands back bytes, str or None for header-ish fields."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return decode_text(value, None)
    return str(value)


def decode_words(value: Any) -> str:
    """RFC 2047 encoded words to text; undecodable pieces kept readable."""
    text = _undo_surrogates(to_str(value))
    if "=?" not in text:
        return " ".join(text.split())
    try:
        parts = []
        for chunk, label in decode_header(text):
            if isinstance(chunk, bytes):
                parts.append(decode_text(chunk, label))
            else:
                parts.append(chunk)
        decoded = "".join(parts)
    except (ValueError, LookupError, AssertionError, UnicodeError):
        try:
            decoded = str(make_header(decode_header(text)))
        except Exception:
            decoded = text
    return " ".join(decoded.split())


_SPECIALS = frozenset('()<>[]:;@\\,."')


def format_address(name: str, address: str) -> str:
    """'Name <address>', the name quoted where RFC 5322 needs it ("Berg, Anna" <a@b>), so
    that what the model reads it can pass back to send_email as one address.

    The name is kept as written (a hostile one too: the renderings escape it).
    """
    name = " ".join(name.split())
    if not (name and address):
        return address or name
    if any(c in _SPECIALS for c in name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address}>"


def envelope_addresses(addresses: Any) -> list[str]:
    """imapclient Address tuples to 'Name <mailbox@host>' strings (groups flattened)."""
    result = []
    for addr in addresses or ():
        mailbox, host = to_str(addr.mailbox), to_str(addr.host)
        if not host:  # group syntax start/end markers
            continue
        result.append(format_address(decode_words(addr.name), f"{mailbox}@{host}"))
    return result


_HEADERS = HeaderRegistry()
_UNPARSABLE = (
    RecursionError,  # nested comments of a hostile header
    ValueError,
    IndexError,
    TypeError,
    AttributeError,
    LookupError,
    AssertionError,
    HeaderParseError,
)


def _lenient_addresses(value: str) -> list[tuple[str, str]]:
    try:
        return [(decode_words(n), a) for n, a in getaddresses([value]) if "@" in a]
    except _UNPARSABLE:
        return []


def header_addresses(values: list[str]) -> list[str]:
    """Address headers (already unfolded) to 'Name <address>' strings.

    Parsed before encoded words are decoded (the email package's header
    registry does both in the right order), so a comma inside a name, quoted or
    encoded, never splits one address into two.
    """
    found: list[str] = []
    for value in values:
        try:
            header: Any = _HEADERS("to", value)  # an AddressHeader, as the name says
            pairs = [(a.display_name, a.addr_spec) for a in header.addresses]
            if any(isinstance(d, InvalidHeaderDefect) for d in header.defects):
                # The registry gives up at the first broken entry; the lenient parser
                # still finds the addresses after it.
                pairs = _lenient_addresses(value) or pairs
        except _UNPARSABLE:
            pairs = _lenient_addresses(value) or (
                [("", decode_words(value))] if value.strip() else []
            )
        found += [
            format_address(_undo_surrogates(name), _undo_surrogates(addr))
            for name, addr in pairs
            if name or addr
        ]
    return found


def header_date(value: str | None) -> str | None:
    """A Date header as ISO 8601, or None when it cannot be read."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed.isoformat() if isinstance(parsed, datetime) else None
