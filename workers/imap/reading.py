"""get_email: headers and the text body of one message, never its attachments (blocking).

The structure is fetched first; then only the text parts. Everything decoded
here comes from strangers, so each step degrades to a note instead of failing.
"""

from __future__ import annotations

import re
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from protocol.email import Attachment, Email, GetEmailArgs
from protocol.errors import NotFound
from workers.imap.decode import (
    decode_text,
    decode_words,
    header_addresses,
    header_date,
    transfer_decode,
)
from workers.imap.html_text import html_to_text
from workers.imap.ids import EmailId
from workers.imap.pool import ImapConnection
from workers.imap.structure import Part, attachments, text_parts, walk

# A text part larger than this is read only in part (a 30 MB log pasted inline, say).
MAX_TEXT_PART_BYTES = 8 * 1024 * 1024
MAX_HEADER_ADDRESSES = 200


def read_email(
    conn: ImapConnection, email_id: EmailId, display_folder: str, args: GetEmailArgs
) -> Email:
    """Raises NotFound when the message is gone or the id is out of date."""
    info = conn.select(email_id.folder, readonly=not args.mark_read)
    email_id.check_validity(int(info[b"UIDVALIDITY"]), display_folder)
    uid = email_id.uid
    first = conn.client.fetch([uid], ["BODYSTRUCTURE", "BODY.PEEK[HEADER]"])
    item = first.get(uid)
    if item is None:
        raise NotFound(
            f"That email is no longer in {display_folder} (it was moved or deleted); search again."
        )
    notes: list[str] = []
    headers = _parse_headers(item.get(b"BODY[HEADER]") or b"", notes)
    parts = list(walk(item.get(b"BODYSTRUCTURE")))
    body = _read_body(conn, uid, text_parts(parts), notes)
    if args.mark_read:
        conn.client.add_flags([uid], [b"\\Seen"])
    page = body[args.offset : args.offset + args.max_chars]
    return Email(
        id=str(email_id),
        message_id=_one_line(headers.get("Message-ID")) or None,
        from_=", ".join(header_addresses(headers.get_all("From", []))),
        to=header_addresses(headers.get_all("To", []))[:MAX_HEADER_ADDRESSES],
        cc=header_addresses(headers.get_all("Cc", []))[:MAX_HEADER_ADDRESSES],
        subject=decode_words(headers.get("Subject", "")),
        date=header_date(headers.get("Date")),
        body=page,
        body_chars=len(body),
        offset=args.offset,
        truncated=args.offset + args.max_chars < len(body),
        attachments=[
            Attachment(p.number, p.filename, p.content_type, p.size) for p in attachments(parts)
        ],
        notes=notes,
    )


def _parse_headers(raw: bytes, notes: list[str]) -> Message:
    # compat32 is lenient where email.policy.default recurses on hostile input.
    try:
        return BytesHeaderParser(policy=compat32).parsebytes(raw)
    except (RecursionError, ValueError, IndexError, TypeError, LookupError):
        notes.append("The headers could not be read; only the body is shown.")
        return Message()


def _one_line(value: Any) -> str:
    return " ".join(str(value or "").split())


def _read_body(conn: ImapConnection, uid: int, parts: list[Part], notes: list[str]) -> str:
    if not parts:
        return ""
    sections = {}
    for part in parts:
        if part.size > MAX_TEXT_PART_BYTES:
            sections[part.number] = f"BODY.PEEK[{part.number}]<0.{MAX_TEXT_PART_BYTES}>"
            notes.append(f"Part {part.number} is very large; only its first 8 MB were read.")
        else:
            sections[part.number] = f"BODY.PEEK[{part.number}]"
    data = conn.client.fetch([uid], list(sections.values())).get(uid, {})
    texts = []
    for part in parts:
        raw = section_bytes(data, part.number)
        if raw is None:
            notes.append(f"Part {part.number} could not be fetched.")
            continue
        texts.append(_part_text(raw, part, notes))
    return "\n\n".join(t for t in texts if t)


def section_bytes(data: dict[bytes, Any], number: str) -> bytes | None:
    """The bytes of ``BODY[number]`` (or a partial ``BODY[number]<start>``) in a FETCH answer."""
    for key, value in data.items():
        name = key.decode("ascii", "replace") if isinstance(key, bytes) else str(key)
        if name.startswith(f"BODY[{number}]"):
            return value if isinstance(value, bytes) else b""
    return None


def _part_text(raw: bytes, part: Part, notes: list[str]) -> str:
    decoded, clean = transfer_decode(raw, part.encoding)
    if not clean:
        notes.append(
            f"Part {part.number} was damaged ({part.encoding}); what could be read is shown."
        )
    text = decode_text(decoded, part.charset)
    if part.subtype != "html":
        return text.replace("\r\n", "\n").strip()
    try:
        return html_to_text(text)
    except ValueError as exc:
        notes.append(f"The HTML of part {part.number} could not be converted: {exc}.")
        return ""


EXCERPT_CHARS = 500
# Where a reply's own words end and the quoted conversation begins.
_QUOTE_INTRO = re.compile(
    r"^(on .{0,200}wrote:|am .{0,200}schrieb .{0,100}:|-{2,} ?original message ?-{2,}"
    r"|-{2,} ?ursprüngliche nachricht ?-{2,}|from: .+)$",
    re.IGNORECASE,
)


def excerpt_text(raw: bytes, part: Part) -> str:
    """The start of what a message says itself: quoted lines and signatures left out."""
    notes: list[str] = []
    text = _part_text(raw, part, notes)
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == "--" or _QUOTE_INTRO.match(stripped):
            break
        if not stripped.startswith(">"):
            lines.append(stripped)
    words = " ".join(" ".join(lines).split())
    return words if len(words) <= EXCERPT_CHARS else words[: EXCERPT_CHARS - 1] + "…"
