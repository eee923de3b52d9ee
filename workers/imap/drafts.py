"""Taking a draft for sending so that it goes out at most once (blocking IMAP work).

Two send_draft calls on one draft — from one conversation in parallel, or from two
programs — must not both send it: the draft is claimed first (see claims). The
claim stays on a draft whose outcome is unknown or whose removal failed, so a later
send_draft refuses it instead of sending it again; a move's claim left behind by a call
that died is waited out and taken over instead (see claims).
"""

from __future__ import annotations

from protocol.errors import Conflict, NotFound, Refused
from workers.imap import claims, folders
from workers.imap.ids import EmailId
from workers.imap.pool import ImapConnection
from workers.imap.writing import expunge_exactly

ALREADY_TAKEN = (
    "Nothing was sent by this call: that draft is already being sent (or was sent), or moved, by "
    "another call. Look in Sent before sending anything again."
)


def _gone(display: str) -> NotFound:
    return NotFound(
        f"That draft is no longer in {display}; it may have been sent already. Look in Sent "
        "before sending anything again."
    )


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
    outcome = claims.claim(conn, [draft.uid], claims.SENDING, ("BODY.PEEK[]",))
    if outcome.taken:
        raise Conflict(ALREADY_TAKEN)
    item = outcome.won.get(draft.uid)
    if item is None or b"BODY[]" not in item:
        raise _gone(display)
    if not claims.has_flag(item.get(b"FLAGS", ()), b"\\Draft"):
        claims.release(conn, [draft.uid], claims.SENDING)
        raise Refused(
            f"Nothing was sent: this message in {display} is not marked as a draft, so "
            "send_draft will not send it. Use send_email to write a new message."
        )
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
        claims.release(conn, [draft.uid], claims.SENDING)
    return True
