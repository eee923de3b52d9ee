"""get_attachment: one part of a message, as text or as a file (blocking).

Text is decoded in memory up to a cap. A file streams to disk in chunks of
``CHUNK_BYTES`` (partial FETCH of ``BODY.PEEK[part]<start.length>``), decoded
as it arrives, so a 30 MB attachment never sits in memory whole.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Iterator
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from pathlib import Path

from protocol.attachment import AttachmentContent, GetAttachmentArgs
from protocol.errors import NotFound, Refused
from workers.files import NewFile, download_folder
from workers.imap import decode
from workers.imap.errors import missing_folder_as_not_found
from workers.imap.html_text import html_to_text
from workers.imap.ids import EmailId
from workers.imap.pool import ImapConnection
from workers.imap.reading import MAX_TEXT_PART_BYTES, section_bytes
from workers.imap.structure import MAX_DEPTH, Part, walk
from workers.imap.transfer import decoder_for

CHUNK_BYTES = 2 * 1024 * 1024
MAX_SAVE_BYTES = 1024 * 1024 * 1024
_TEXT_APPLICATIONS = {
    "ics",
    "json",
    "xml",
    "x-yaml",
    "yaml",
    "csv",
    "x-sh",
    "javascript",
    "pgp-signature",
    "pgp-keys",
}

Progress = Callable[[int, int], None]


def is_text_like(part: Part) -> bool:
    if part.maintype == "text" or part.content_type in ("message/rfc822", "message/global"):
        return True
    return part.maintype == "application" and (
        part.subtype in _TEXT_APPLICATIONS or part.subtype.endswith(("+xml", "+json"))
    )


def find_part(conn: ImapConnection, email_id: EmailId, display: str, number: str) -> Part:
    with missing_folder_as_not_found(display):
        info = conn.select(email_id.folder)
    email_id.check_validity(int(info[b"UIDVALIDITY"]), display)
    item = conn.client.fetch([email_id.uid], ["BODYSTRUCTURE"]).get(email_id.uid)
    if item is None:
        raise email_id.missing(display, info)
    for part in walk(item.get(b"BODYSTRUCTURE"), into_messages=True):
        if part.number == number:
            return part
    raise NotFound(
        f"That email has no part {number}; get_email lists its attachments with their part numbers."
    )


def read_attachment(
    conn: ImapConnection,
    email_id: EmailId,
    display: str,
    args: GetAttachmentArgs,
    download_dir: str,
    progress: Progress,
) -> AttachmentContent:
    part = find_part(conn, email_id, display, args.part)
    if is_text_like(part) and not args.save:
        return _as_text(conn, email_id, part, args)
    return _save(conn, email_id, part, download_dir, progress, args.save)


def _as_text(
    conn: ImapConnection, email_id: EmailId, part: Part, args: GetAttachmentArgs
) -> AttachmentContent:
    notes = []
    section = f"BODY.PEEK[{part.number}]"
    partial = part.size > MAX_TEXT_PART_BYTES
    if partial:
        section += f"<0.{MAX_TEXT_PART_BYTES}>"
        notes.append(
            "The attachment is very large; only its first 8 MB were read. Save it to read all of it."
        )
    raw = section_bytes(
        conn.client.fetch([email_id.uid], [section]).get(email_id.uid, {}), part.number
    )
    if raw is None:
        raise NotFound("That attachment could not be fetched; the message may have been deleted.")
    data, clean = decode.transfer_decode(raw, part.encoding)
    if not clean:
        notes.append(f"The attachment was damaged ({part.encoding}); what could be read is shown.")
    if part.maintype == "message":
        text = render_message(data, part.number)
    elif part.subtype == "html":
        text = html_to_text(decode.decode_text(data, part.charset))
    else:
        text = decode.decode_text(data, part.charset).replace("\r\n", "\n")
    return AttachmentContent(
        id=str(email_id),
        part=part.number,
        filename=part.filename,
        content_type=part.content_type,
        # Read in part: only the encoded size tells how large the whole is.
        size=part.decoded_size if partial else len(data),
        size_estimated=partial and part.size_estimated,
        text=text[args.offset : args.offset + args.max_chars],
        text_chars=len(text),
        offset=args.offset,
        truncated=args.offset + args.max_chars < len(text),
        notes=notes,
    )


def render_message(raw: bytes, number: str) -> str:
    """An attached email (part ``number``) as its main headers and its text; the files
    it carries are named with the part numbers that fetch them."""
    try:
        inner = BytesParser(policy=compat32).parsebytes(raw)
        head = decode.parse_header_block(raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0])
    except (RecursionError, ValueError, IndexError, TypeError, LookupError):
        return raw.decode("utf-8", "replace")
    lines = [
        f"From: {', '.join(decode.header_addresses(head.get_all('From', []))) or 'unknown'}",
        f"To: {', '.join(decode.header_addresses(head.get_all('To', []))[:50]) or 'none'}",
        f"Date: {decode.header_date(head.get('Date')) or 'unknown'}",
        f"Subject: {decode.decode_words(head.get('Subject', ''))}",
        "",
        _message_text(inner, number),
    ]
    return "\n".join(lines).strip()


def _message_text(message: Message, number: str) -> str:
    plain: list[str] = []
    html: list[str] = []
    files: list[str] = []
    for index, (part, leaf) in enumerate(_numbered(message, number)):
        if index > 500:
            break
        name = leaf.get_filename()
        attached = leaf.get_content_disposition() == "attachment"
        if name or attached or leaf.get_content_maintype() == "message":
            files.append(f"{decode.decode_words(name or leaf.get_content_type())} (part {part})")
            continue
        if leaf.get_content_maintype() != "text":
            continue
        payload = leaf.get_payload(decode=True)
        if isinstance(payload, bytes):
            text = decode.decode_text(payload, leaf.get_content_charset())
            (html if leaf.get_content_subtype() == "html" else plain).append(text)
    body = "\n\n".join(t.strip() for t in plain) or "\n\n".join(html_to_text(t) for t in html[:1])
    if files:
        body += "\n\n[Attached: " + ", ".join(files) + "]"
    return body.replace("\r\n", "\n")


def _numbered(message: Message, number: str) -> Iterator[tuple[str, Message]]:
    """The leaves of an attached email (part ``number``) with their IMAP part numbers:
    its parts are number.1, number.2, ...; a single-part body is number.1. An email
    attached inside it is one leaf, as get_email lists it."""
    if not message.is_multipart():
        return iter([(f"{number}.1", message)])
    return _children(message, number, 0)


def _children(message: Message, number: str, depth: int) -> Iterator[tuple[str, Message]]:
    if depth > MAX_DEPTH:
        return
    payload = message.get_payload()
    for index, child in enumerate(payload if isinstance(payload, list) else [], start=1):
        if not isinstance(child, Message):
            continue
        if child.is_multipart() and child.get_content_maintype() == "multipart":
            yield from _children(child, f"{number}.{index}", depth + 1)
        else:
            yield f"{number}.{index}", child


def _default_name(part: Part) -> str:
    if part.maintype == "message":
        return f"message-{part.number}.eml"
    extension = mimetypes.guess_extension(part.content_type) or ".bin"
    return f"attachment-{part.number}{extension}"


def _save(
    conn: ImapConnection,
    email_id: EmailId,
    part: Part,
    download_dir: str,
    progress: Progress,
    asked: bool,
) -> AttachmentContent:
    decoder = decoder_for(part.encoding)
    with NewFile(download_folder(download_dir), part.filename, _default_name(part)) as out:
        start = 0
        while True:
            section = f"BODY.PEEK[{part.number}]<{start}.{CHUNK_BYTES}>"
            item = conn.client.fetch([email_id.uid], [section]).get(email_id.uid)
            chunk = section_bytes(item or {}, part.number)
            if chunk is None:
                raise NotFound(
                    "The attachment could not be fetched; the message may have been deleted."
                )
            out.write(decoder.feed(chunk))
            start += len(chunk)
            if out.size > MAX_SAVE_BYTES:
                raise Refused("The attachment is larger than 1 GB; download it with a mail app.")
            if len(chunk) < CHUNK_BYTES:
                break
            progress(start, max(start, part.size))
        out.write(decoder.finish())
    notes = [] if asked or is_text_like(part) else ["It is not text, so it was saved as a file."]
    if decoder.damaged:
        notes.append(
            f"The attachment was damaged ({part.encoding}); what could be decoded was saved."
        )
    assert out.path is not None
    return AttachmentContent(
        id=str(email_id),
        part=part.number,
        filename=part.filename,
        content_type=part.content_type,
        size=out.size,
        path=str(Path(out.path)),
        notes=notes,
    )
