"""One line of a search_emails answer: an EmailSummary from a message's FETCH item.

The item holds ENVELOPE, FLAGS, RFC822.SIZE, BODYSTRUCTURE and INTERNALDATE
(and PREVIEW where the server offers it), so no body is ever read for a list.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from protocol.email import EmailSummary
from workers.imap.claims import CLAIMED
from workers.imap.decode import decode_words, envelope_addresses, to_str
from workers.imap.fetch_answer import received_time
from workers.imap.structure import attachments, walk

MAX_LISTED_RECIPIENTS = 10
PREVIEW_CHARS = 200
SUBJECT_CHARS = 300
SEPARATE_RECEIVED = timedelta(days=1)
"""A summary gives the received time too where it is further than this from the date."""

_FLAG_NAMES = {
    "\\seen": "seen",
    "\\answered": "answered",
    "\\flagged": "flagged",
    "\\draft": "draft",
    "\\deleted": "deleted",
}


def email_summary(email_id: str, folder: str, item: dict[bytes, Any]) -> EmailSummary:
    """The summary of the message ``item`` describes; never raises: a message that cannot
    be read gets a summary that says so, since one hostile message must not sink a page."""
    try:
        return _summary(email_id, folder, item)
    except Exception as exc:
        return EmailSummary(
            id=email_id,
            folder=folder,
            date=None,
            from_="",
            subject=f"(this message could not be read: {type(exc).__name__})",
        )


def _summary(email_id: str, folder: str, item: dict[bytes, Any]) -> EmailSummary:
    envelope = item.get(b"ENVELOPE")
    received = item.get(b"INTERNALDATE")
    recipients = envelope_addresses(envelope.to) if envelope else []
    if len(recipients) > MAX_LISTED_RECIPIENTS:
        extra = len(recipients) - MAX_LISTED_RECIPIENTS
        recipients = [*recipients[:MAX_LISTED_RECIPIENTS], f"… and {extra} more"]
    senders = envelope_addresses(envelope.from_) if envelope else []
    subject = decode_words(envelope.subject) if envelope else ""
    structure = item.get(b"BODYSTRUCTURE")
    sent = envelope.date if envelope and isinstance(envelope.date, datetime) else None
    shown = sent or received
    return EmailSummary(
        id=email_id,
        folder=folder,
        date=shown.isoformat() if isinstance(shown, datetime) else None,
        from_=senders[0] if senders else "",
        to=recipients,
        subject=_clip(subject, SUBJECT_CHARS),
        flags=flag_names(item.get(b"FLAGS", ())),
        size=int(item.get(b"RFC822.SIZE") or 0),
        has_attachments=bool(structure and attachments(list(walk(structure)))),
        preview=_clip(" ".join(to_str(item.get(b"PREVIEW")).split()), PREVIEW_CHARS),
        received=_received_apart(sent, received_time(item)),
    )


def _received_apart(sent: datetime | None, arrived: datetime | None) -> str | None:
    """The received time, where it is more than a day from the date shown."""
    if sent is None or arrived is None:
        return None
    apart = abs((sent if sent.tzinfo else sent.replace(tzinfo=UTC)) - arrived)
    return arrived.isoformat() if apart > SEPARATE_RECEIVED else None


_CLAIM_KEYWORDS = frozenset(keyword.decode().lower() for keyword in CLAIMED)


def flag_names(flags: Any) -> list[str]:
    """IMAP flags as the tools name them (seen, flagged, ...); \\Recent and our own claim
    keywords left out (they are bookkeeping between calls), other keywords as they are."""
    names = []
    for flag in flags or ():
        text = to_str(flag)
        if text.lower() == "\\recent" or text.lower() in _CLAIM_KEYWORDS:
            continue
        names.append(_FLAG_NAMES.get(text.lower(), text))
    return names


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
