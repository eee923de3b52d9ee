"""Taking a draft for sending so that it goes out at most once (blocking IMAP work).

Two send_draft calls on one draft — from one conversation in parallel, or from two
programs — must not both send it. The claim is one conditional STORE (CONDSTORE's
UNCHANGEDSINCE): it sets a keyword only if the message did not change since we read
it, and the server decides atomically which of two such STOREs wins. The keyword
stays on a draft whose outcome is unknown or whose removal failed, so a later
send_draft refuses it instead of sending it again.
"""

from __future__ import annotations

from typing import Any

from protocol.errors import Conflict, NotFound, Refused
from workers.imap import folders
from workers.imap.ids import EmailId
from workers.imap.pool import ImapConnection
from workers.imap.writing import expunge_exactly, take_code

SENDING = b"$MailboxMcpSending"
"""The keyword of a draft taken for sending (IMAP keywords are case-insensitive)."""

ALREADY_TAKEN = (
    "Nothing was sent by this call: that draft is already being sent, or was sent, by another "
    "call. Look in Sent before sending anything again."
)


def _gone(display: str) -> NotFound:
    return NotFound(
        f"That draft is no longer in {display}; it may have been sent already. Look in Sent "
        "before sending anything again."
    )


def _has(flags: Any, flag: bytes) -> bool:
    return flag.lower() in {bytes(f).lower() for f in flags}


def claim(conn: ImapConnection, draft: EmailId, drafts_folder: str, delimiter: str | None) -> bytes:
    """Mark ``draft`` as being sent and return its bytes; raises if it is not ours to send."""
    display = folders.to_display(draft.folder, delimiter)
    if draft.folder != drafts_folder:
        raise Refused(
            f"Nothing was sent: send_draft sends only drafts in "
            f"{folders.to_display(drafts_folder, delimiter)}, and this email is in {display}. "
            "To send its text again, use send_email (forward_id forwards it)."
        )
    info = conn.select(draft.folder, readonly=False)
    if int(info[b"UIDVALIDITY"]) != draft.uidvalidity:
        raise _gone(display)
    condstore = conn.has("CONDSTORE")
    items = ["FLAGS", "BODY.PEEK[]", *(["MODSEQ"] if condstore else [])]
    item = conn.client.fetch([draft.uid], items).get(draft.uid)
    if item is None or b"BODY[]" not in item:
        raise _gone(display)
    flags = item.get(b"FLAGS", ())
    if _has(flags, SENDING):
        raise Conflict(ALREADY_TAKEN)
    if not _has(flags, b"\\Draft"):
        raise Refused(
            f"Nothing was sent: this message in {display} is not marked as a draft, so "
            "send_draft will not send it. Use send_email to write a new message."
        )
    if condstore:
        modseq = int(item[b"MODSEQ"][0])
        take_code(conn, "MODIFIED")
        answer, _ = conn.client._imap.uid(
            "STORE",
            str(draft.uid),
            f"(UNCHANGEDSINCE {modseq}) +FLAGS.SILENT",
            f"({SENDING.decode()})",
        )
        if answer != "OK":
            raise Refused(
                f"Nothing was sent: the server would not mark the draft in {display} as being "
                "sent. Try again, or send it from a mail app."
            )
        if take_code(conn, "MODIFIED"):
            raise Conflict(ALREADY_TAKEN)
        # A STORE on a message expunged meanwhile (sent by another call) is a quiet no-op.
        if draft.uid not in conn.client.fetch([draft.uid], ["FLAGS"]):
            raise _gone(display)
    else:
        # Without CONDSTORE the worker's folder lock still keeps this process to one send.
        conn.client.add_flags([draft.uid], [SENDING], silent=True)
    return bytes(item[b"BODY[]"])


def settle(conn: ImapConnection, draft: EmailId, sent: bool) -> bool:
    """Remove a sent draft (part of sending, whatever MAILBOX_ALLOW_PERMANENT_DELETE says),
    or take the claim back from one that was not sent. True if the draft was still there."""
    info = conn.select(draft.folder, readonly=False)
    if int(info[b"UIDVALIDITY"]) != draft.uidvalidity:
        return False
    if draft.uid not in conn.client.fetch([draft.uid], ["FLAGS"]):
        return False
    if sent:
        expunge_exactly(conn, [draft.uid])
    else:
        conn.client.remove_flags([draft.uid], [SENDING], silent=True)
    return True
