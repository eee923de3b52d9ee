"""Composing a message with the standard library (policy SMTP): what is sent is what is saved.

Headers are set from validated Structs (no CR/LF/NUL can reach them); Date and
Message-ID are ours; non-ASCII text gets encoded words and a transfer encoding
chosen by the email package; attachment names use RFC 2231.
"""

from __future__ import annotations

import mimetypes
import os
import re
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import formatdate, getaddresses, make_msgid
from pathlib import Path

from protocol.errors import InvalidArgument, Refused
from protocol.settings import SmtpSettings
from protocol.writing import (
    MAX_RECIPIENTS,
    ComposeRequest,
    Original,
    SendEmailArgs,
    check_sendable,
)

_PREFIX = re.compile(r"^\s*((re|aw|sv|antw|fwd?|wg)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def compose(request: ComposeRequest, settings: SmtpSettings) -> EmailMessage:
    """The message to send, Bcc included as a header only for the caller to strip."""
    args, original = request.args, request.original
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = settings.from_address
    to, cc = _recipients(args, original, settings.from_address)
    count = len(to) + len(cc) + len(args.bcc)
    if count > MAX_RECIPIENTS:
        raise InvalidArgument(
            f"Nothing was sent: this would go to {count} addresses, more than the "
            f"{MAX_RECIPIENTS} one message may have; name the recipients in to and cc instead "
            "of replying to all."
        )
    if to:
        msg["To"] = header_addresses(to)
    if cc:
        msg["Cc"] = header_addresses(cc)
    msg["Subject"] = _subject(args, original)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=settings.from_address.rpartition("@")[2] or None)
    if args.reply_to_id and original is not None and original.message_id:
        msg["In-Reply-To"] = original.message_id
        msg["References"] = " ".join([*original.references[-20:], original.message_id])
    msg.set_content(_body(args, original))
    if args.html_body is not None:
        msg.add_alternative(args.html_body, subtype="html")
    for path in args.attachments:
        _attach_file(msg, path, settings)
    if args.forward_id and original is not None and not args.forward_inline:
        _attach_original(msg, original)
    if args.bcc:
        msg["Bcc"] = header_addresses(args.bcc)
    return msg


def header_addresses(items: list[str]) -> list[Address]:
    """Each item read once, as the envelope will read it, and written back as an Address.

    Joining the strings as given let the email package read them differently
    from our check (a stray quote or parenthesis moved a recipient), and made it
    crash on some display names; from Address objects it writes exactly the
    addresses that were checked, quoting names as needed. Items from an
    original message that are not one plain address are left out.
    """
    found = []
    for item in items:
        pairs = getaddresses([item])
        if len(pairs) != 1 or "@" not in pairs[0][1]:
            continue
        name, address = pairs[0]
        local, _, domain = address.rpartition("@")
        try:
            check_sendable(address, "the recipients")
        except ValueError as exc:
            raise InvalidArgument(str(exc)) from None
        try:
            found.append(
                Address(display_name=name.strip(), username=local, domain=ascii_domain(domain))
            )
        except (ValueError, IndexError, AttributeError):
            raise InvalidArgument(
                f"'{item}' could not be written as an address; give it without a display name."
            ) from None
    return found


def envelope(msg: Message) -> list[str]:
    """Every recipient address of To, Cc and Bcc, each once."""
    seen: dict[str, None] = {}
    for name in ("To", "Cc", "Bcc"):
        for _display, address in getaddresses([str(v) for v in msg.get_all(name, [])]):
            if address:
                seen.setdefault(address, None)
    return list(seen)


def draft_envelope(raw: bytes) -> list[str]:
    """The recipients of a saved draft (written by us or by any mail app), read by the
    header registry and checked as send_email checks its arguments: international domains
    in their ASCII (IDNA) form, anything SMTP cannot carry refused. Raises InvalidArgument."""
    try:
        headers = BytesHeaderParser(policy=policy.default).parsebytes(raw)
        found: dict[str, None] = {}
        for name in ("To", "Cc", "Bcc"):
            for value in headers.get_all(name, []):
                for address in value.addresses:
                    spec = address.addr_spec.encode("utf-8", "surrogateescape").decode(
                        "utf-8", "replace"
                    )
                    if spec and spec != "<>":
                        found.setdefault(spec, None)
    except (RecursionError, ValueError, IndexError, TypeError, AttributeError, LookupError):
        raise InvalidArgument(
            "Nothing was sent: the draft's recipients cannot be read; correct them in a mail app."
        ) from None
    envelope: list[str] = []
    for spec in found:
        try:
            check_sendable(spec, "the draft")
        except ValueError as exc:
            raise InvalidArgument(str(exc)) from None
        local, _, domain = spec.rpartition("@")
        envelope.append(f"{local}@{ascii_domain(domain)}")
    if len(envelope) > MAX_RECIPIENTS:
        raise InvalidArgument(
            f"Nothing was sent: the draft is addressed to {len(envelope)} addresses, more than "
            f"the {MAX_RECIPIENTS} one message may have."
        )
    return list(dict.fromkeys(envelope))


def without_bcc(raw: bytes) -> bytes:
    """The message as sent: its Bcc header (with continuation lines) removed."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    kept, skipping = [], False
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and skipping:
            continue
        skipping = line.lower().startswith(b"bcc:")
        if not skipping:
            kept.append(line)
    return b"\r\n".join(kept) + sep + body


def ascii_domain(domain: str) -> str:
    """The domain as SMTP and every server can carry it: IDNA ('exämple.de' becomes
    'xn--exmple-cua.de'). Raises InvalidArgument for one that has no such form."""
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidArgument(
            f"The domain '{domain}' is not a valid international domain name; check the address."
        ) from None


def _recipients(
    args: SendEmailArgs, original: Original | None, me: str
) -> tuple[list[str], list[str]]:
    to, cc = list(args.to), list(args.cc)
    if args.reply_to_id and original is not None:
        if not to:
            # A reply to one's own message goes where that message went, as mail clients do.
            mine = bool(original.from_) and all(
                _address(a).lower() == _address(me).lower() for a in original.from_
            )
            to = list(original.to if mine and original.to else original.reply_to or original.from_)
        if args.reply_all:
            taken = {_address(a).lower() for a in [*to, *cc, me]}
            for address in [*original.from_, *original.to, *original.cc]:
                if _address(address).lower() not in taken:
                    cc.append(address)
                    taken.add(_address(address).lower())
    return to, cc


def _address(text: str) -> str:
    pairs = getaddresses([text])
    return pairs[0][1] if pairs else text


def _subject(args: SendEmailArgs, original: Original | None) -> str:
    if args.subject is not None or original is None:
        return args.subject or ""
    base = _PREFIX.sub("", original.subject).strip()
    return f"Re: {base}" if args.reply_to_id else f"Fwd: {base}"


def _body(args: SendEmailArgs, original: Original | None) -> str:
    body = args.body
    if original is None:
        return body if body.endswith("\n") or not body else body + "\n"
    who = ", ".join(original.from_) or "the sender"
    if args.reply_to_id and args.quote:
        quoted = "\n".join(f"> {line}" if line else ">" for line in original.text.splitlines())
        body = f"{body}\n\nOn {original.date or 'an earlier date'}, {who} wrote:\n{quoted}"
    elif args.forward_id and args.forward_inline:
        head = [
            "---------- Forwarded message ----------",
            f"From: {who}",
            f"Date: {original.date or ''}",
            f"Subject: {original.subject}",
            f"To: {', '.join(original.to)}",
        ]
        body = f"{body}\n\n" + "\n".join(head) + f"\n\n{original.text}"
    return body + "\n"


def _attach_file(msg: EmailMessage, path: str, settings: SmtpSettings) -> None:
    if not settings.attachment_dir:
        raise Refused(
            "Attaching files is turned off; set MAILBOX_ATTACHMENT_DIR to the folder whose "
            "files may be sent."
        )
    allowed = Path(settings.attachment_dir).expanduser().resolve()
    given = Path(path).expanduser()
    target = (given if given.is_absolute() else allowed / given).resolve()
    if not target.is_relative_to(allowed) or target == allowed:
        raise Refused(
            f"{path} is not inside the attachment folder {allowed} (links are followed); "
            "only files there can be attached."
        )
    if not target.is_file():
        raise InvalidArgument(f"There is no file {path} in the attachment folder.")
    size = target.stat().st_size
    if size > settings.max_attachment_bytes:
        raise Refused(
            f"{target.name} is {size / 1e6:.1f} MB, over the limit of "
            f"{settings.max_attachment_bytes / 1e6:.0f} MB (MAILBOX_MAX_ATTACHMENT_BYTES)."
        )
    mime = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    maintype, subtype = mime.split("/", 1)
    with open(target, "rb", opener=lambda p, f: os.open(p, f | getattr(os, "O_NOFOLLOW", 0))) as f:
        data = f.read(settings.max_attachment_bytes + 1)
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=target.name)


def _attach_original(msg: EmailMessage, original: Original) -> None:
    if original.raw is None:
        return
    try:
        inner = BytesParser(policy=policy.SMTP).parsebytes(original.raw)
        msg.add_attachment(inner, filename=_eml_name(original.subject))
    except (RecursionError, ValueError, IndexError, TypeError, LookupError):
        # Too broken to re-serialise as message/rfc822: send it as a file instead.
        msg.add_attachment(
            original.raw, maintype="application", subtype="octet-stream", filename="message.eml"
        )


def _eml_name(subject: str) -> str:
    stem = re.sub(r"[^\w\- ]+", "", subject).strip()[:60] or "message"
    return f"{stem}.eml"


def sender_address(settings: SmtpSettings) -> str:
    return Address(addr_spec=settings.from_address).addr_spec
