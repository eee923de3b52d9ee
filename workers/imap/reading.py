"""get_email: headers and the text body of one message, never its attachments (blocking).

The structure is fetched first; then only the text parts. Everything decoded
here comes from strangers, so each step degrades to a note instead of failing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from typing import Any

from protocol.email import Attachment, Email, GetEmailArgs, Invitation
from workers.imap import decode, freshness, pipeline
from workers.imap.errors import missing_folder_as_not_found
from workers.imap.html_text import html_to_text
from workers.imap.ids import EmailId
from workers.imap.invitations import summarise
from workers.imap.pool import ImapConnection
from workers.imap.security import is_signature, security_of
from workers.imap.structure import Part, attachments, calendar_parts, text_parts, walk

# A text part larger than this is read only in part (a 30 MB log pasted inline, say).
MAX_TEXT_PART_BYTES = 8 * 1024 * 1024
MAX_HEADER_ADDRESSES = 200
MAX_INVITATION_PARTS = 3


@dataclass(frozen=True)
class ReadEmail:
    email: Email
    folder_status: dict[str, int]
    """The folder's STATUS (freshness items) taken just before the message was read."""


def read_email(
    conn: ImapConnection,
    email_id: EmailId,
    display_folder: str,
    args: GetEmailArgs,
    me: frozenset[str] = frozenset(),
) -> ReadEmail:
    """Raises NotFound when the folder or the message is gone or the id is out of date.
    ``me``: the user's addresses, whose answer an invitation records.

    Two round trips when the folder is already selected: (NOOP, STATUS, structure
    and headers) pipelined, then the text parts.
    """
    with missing_folder_as_not_found(display_folder):
        info = conn.select(email_id.folder, readonly=not args.mark_read, sync=False)
    email_id.check_validity(int(info[b"UIDVALIDITY"]), display_folder)
    uid = email_id.uid
    commands = [] if conn.synced else [pipeline.noop()]
    commands += [
        pipeline.status(conn, email_id.folder, freshness.items(conn)),
        pipeline.uid_fetch([uid], ["BODYSTRUCTURE", "BODY.PEEK[HEADER]"]),
    ]
    answers = pipeline.run(conn, commands)
    *_, status_data, fetch_data = answers.data
    item = pipeline.fetched(conn, fetch_data, [uid]).get(uid)
    if answers.view_changed:  # the FETCH may have missed a new message or seen a gone one
        item = conn.client.fetch([uid], ["BODYSTRUCTURE", "BODY.PEEK[HEADER]"]).get(uid)
    if item is None or b"BODYSTRUCTURE" not in item:
        raise email_id.missing(display_folder, info)
    notes: list[str] = []
    headers = _parse_headers(item.get(b"BODY[HEADER]") or b"", notes)
    structure = item.get(b"BODYSTRUCTURE")
    parts = list(walk(structure))
    readable, calendars = text_parts(parts), calendar_parts(parts)[:MAX_INVITATION_PARTS]
    sections = _fetch_sections(conn, uid, readable + calendars, notes)
    body = "\n\n".join(
        t
        for t in (
            _part_text(sections[p.number], p, notes) for p in readable if p.number in sections
        )
        if t
    )
    invitations: list[Invitation] = []
    for part in calendars:
        if part.number in sections:
            found, note = summarise(
                decode.transfer_decode(sections[part.number], part.encoding)[0], part.charset, me
            )
            invitations += found
            notes += [note] if note else []
    security = security_of(parts, body)
    if security.opaque:
        notes.append(
            "The message is signed in a form (opaque S/MIME) whose text cannot be shown here."
        )
    if any(_is_tnef(p) for p in parts):
        notes.append(
            "winmail.dat is an Outlook (TNEF) container; its files cannot be opened here. "
            "Ask the sender to send the files as ordinary attachments."
        )
    date = decode.header_date(headers.get("Date"))
    if date is None and (headers.get("Date") or "").strip():
        notes.append("The Date header is not a date that can be read.")
    if args.mark_read:
        conn.client.add_flags([uid], [b"\\Seen"])
    page = body[args.offset : args.offset + args.max_chars]
    email = Email(
        id=str(email_id),
        message_id=_one_line(headers.get("Message-ID")) or None,
        from_=", ".join(decode.header_addresses(headers.get_all("From", []))),
        to=decode.header_addresses(headers.get_all("To", []))[:MAX_HEADER_ADDRESSES],
        cc=decode.header_addresses(headers.get_all("Cc", []))[:MAX_HEADER_ADDRESSES],
        subject=decode.decode_words(headers.get("Subject", "")),
        date=date,
        body=page,
        body_chars=len(body),
        offset=args.offset,
        truncated=args.offset + args.max_chars < len(body),
        attachments=[
            Attachment(
                p.number,
                p.filename,
                p.content_type,
                p.decoded_size,
                size_estimated=p.size_estimated,
                inside=p.enclosed_in,
            )
            # Files inside attached emails too, by the numbers get_attachment fetches.
            for p in attachments(list(walk(structure, into_messages=True)))
            if not is_signature(p)
        ],
        signed=security.signed,
        encrypted=security.encrypted,
        invitations=invitations,
        notes=notes,
    )
    return ReadEmail(email, pipeline.status_items(status_data))


def _is_tnef(part: Part) -> bool:
    return part.content_type in ("application/ms-tnef", "application/vnd.ms-tnef") or (
        (part.filename or "").lower() == "winmail.dat"
    )


def _parse_headers(raw: bytes, notes: list[str]) -> Message:
    try:
        return decode.parse_header_block(raw)
    except ValueError:
        notes.append("The headers could not be read; only the body is shown.")
        return Message()


def _one_line(value: Any) -> str:
    return " ".join(str(value or "").split())


def _fetch_sections(
    conn: ImapConnection, uid: int, parts: list[Part], notes: list[str]
) -> dict[str, bytes]:
    """The raw bytes of ``parts`` in one FETCH; very large ones only in part."""
    if not parts:
        return {}
    sections = []
    for part in parts:
        if part.size > MAX_TEXT_PART_BYTES:
            sections.append(f"BODY.PEEK[{part.number}]<0.{MAX_TEXT_PART_BYTES}>")
            notes.append(f"Part {part.number} is very large; only its first 8 MB were read.")
        else:
            sections.append(f"BODY.PEEK[{part.number}]")
    data = conn.client.fetch([uid], sections).get(uid, {})
    found = {}
    for part in parts:
        raw = section_bytes(data, part.number)
        if raw is None:
            notes.append(f"Part {part.number} could not be fetched.")
        else:
            found[part.number] = raw
    return found


def section_bytes(data: dict[bytes, Any], number: str) -> bytes | None:
    """The bytes of ``BODY[number]`` (or a partial ``BODY[number]<start>``) in a FETCH answer."""
    for key, value in data.items():
        name = key.decode("ascii", "replace") if isinstance(key, bytes) else str(key)
        if name.startswith(f"BODY[{number}]"):
            return value if isinstance(value, bytes) else b""
    return None


def _part_text(raw: bytes, part: Part, notes: list[str]) -> str:
    decoded, clean = decode.transfer_decode(raw, part.encoding)
    if not clean:
        notes.append(
            f"Part {part.number} was damaged ({part.encoding}); what could be read is shown."
        )
    text = decode.decode_text(decoded, part.charset)
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
