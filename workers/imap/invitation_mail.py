"""The IMAP side of respond_to_invitation: the invitation's iCalendar text, and the mark
that makes each answer go out once.

Two calls answering one invitation the same way (in parallel, or one after the other,
from this server or another copy of it) must send one reply. The invitation mail
carries a keyword per answer (``$McpReply`` and a digest of UID, SEQUENCE, occurrence
and answer), set with one conditional STORE (CONDSTORE's UNCHANGEDSINCE), so of two
claimants exactly one wins; the loser is told the reply already went out. A reply
that was not sent gives its keyword back; one that may have been sent keeps it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import Message
from typing import TypeVar

from protocol import invitations as api
from protocol.errors import InvalidArgument, NotFound
from workers.imap import folders
from workers.imap.decode import decode_text, decode_words, parse_header_block, transfer_decode
from workers.imap.errors import missing_folder_as_not_found
from workers.imap.handlers import FOLDERS_TAG, ImapState, folder_tag
from workers.imap.ids import EmailId
from workers.imap.invitations import MAX_ICS_BYTES
from workers.imap.pool import ImapConnection
from workers.imap.reading import section_bytes
from workers.imap.response_codes import take_code, uid_set
from workers.imap.structure import calendar_parts, walk
from workers.runtime import CallContext, serves

# The arguments of a call that changes an invitation's answer marks.
MarkArgs = TypeVar("MarkArgs", api.ClaimReplyArgs, api.SettleReplyArgs)

_KEY = re.compile(r"^[A-Za-z0-9]{8,40}\Z")
CLAIM_ROUNDS = 5

NO_INVITATION = (
    "That email holds no calendar invitation, so there is nothing to answer; nothing was "
    "sent or changed."
)


def keyword(key: str) -> bytes:
    """The IMAP keyword of one answer (an atom: letters and digits only)."""
    if not _KEY.match(key):
        raise InvalidArgument("That answer cannot be recorded on the email.")
    return f"$McpReply{key}".encode()


def _select(conn: ImapConnection, email_id: EmailId, readonly: bool, delimiter: str | None) -> None:
    display = folders.to_display(email_id.folder, delimiter)
    with missing_folder_as_not_found(display):
        info = conn.select(email_id.folder, readonly=readonly)
    email_id.check_validity(int(info[b"UIDVALIDITY"]), display)


def read_invitation(
    conn: ImapConnection, email_id: EmailId, delimiter: str | None
) -> api.FetchedInvitation:
    """The first invitation part of the message, decoded (blocking)."""
    _select(conn, email_id, True, delimiter)
    uid = email_id.uid
    item = conn.client.fetch([uid], ["BODYSTRUCTURE", "BODY.PEEK[HEADER]"]).get(uid)
    if item is None or b"BODYSTRUCTURE" not in item:
        raise NotFound(
            "That email is no longer there (moved or deleted); search again for its new id."
        )
    try:
        headers = parse_header_block(item.get(b"BODY[HEADER]") or b"")
    except ValueError:  # headers no parser can read: the invitation may still be fine
        headers = Message()
    parts = calendar_parts(list(walk(item[b"BODYSTRUCTURE"])))
    if not parts:
        raise InvalidArgument(NO_INVITATION)
    part = parts[0]
    if part.size > MAX_ICS_BYTES:
        raise InvalidArgument(
            "That invitation is too large to read here; answer it in the web interface. "
            "Nothing was sent or changed."
        )
    section = f"BODY.PEEK[{part.number}]"
    raw = section_bytes(conn.client.fetch([uid], [section]).get(uid, {}), part.number)
    if raw is None:
        raise InvalidArgument(NO_INVITATION)
    text = decode_text(transfer_decode(raw, part.encoding)[0], part.charset)
    message_id = " ".join(str(headers.get("Message-ID") or "").split()) or None
    return api.FetchedInvitation(
        calendar=text,
        message_id=message_id,
        subject=decode_words(headers.get("Subject", "")),
    )


def claim_reply(
    conn: ImapConnection, email_id: EmailId, args: api.ClaimReplyArgs, delimiter: str | None
) -> bool:
    """Set the answer's keyword unless it is there; True if this call set it (blocking)."""
    flag = keyword(args.key)
    _select(conn, email_id, False, delimiter)
    uid = email_id.uid
    condstore = conn.has("CONDSTORE")
    items = ["FLAGS", *(["MODSEQ"] if condstore else [])]
    for _round in range(CLAIM_ROUNDS):
        item = conn.client.fetch([uid], items).get(uid)
        if item is None:
            raise NotFound(
                "That email is no longer there (moved or deleted); nothing was sent. Search "
                "again for its new id."
            )
        if flag.lower() in {bytes(f).lower() for f in item.get(b"FLAGS", ())}:
            return False
        if not condstore:
            conn.client.add_flags([uid], [flag], silent=True)
            return True
        take_code(conn, "MODIFIED")
        conn.client._imap.uid(
            "STORE",
            str(uid),
            f"(UNCHANGEDSINCE {int(item[b'MODSEQ'][0])}) +FLAGS.SILENT",
            f"({flag.decode()})",
        )
        modified = set()
        for code in take_code(conn, "MODIFIED"):
            modified.update(uid_set(code.split()[0]))
        conn.client._imap.untagged_responses.pop("FETCH", None)
        if uid not in modified:
            return True
    return False  # it kept changing under us: another call is at it


def settle_reply(
    conn: ImapConnection, email_id: EmailId, args: api.SettleReplyArgs, delimiter: str | None
) -> bool:
    """Keep the mark of a sent answer and drop those of other answers (a changed mind
    may be sent again later), or take back the mark of one that was not sent."""
    _select(conn, email_id, False, delimiter)
    uid = email_id.uid
    if uid not in conn.client.fetch([uid], ["FLAGS"]):
        return False
    if args.sent:
        others = [keyword(k) for k in args.others if k != args.key]
        if others:
            conn.client.remove_flags([uid], others, silent=True)
    else:
        conn.client.remove_flags([uid], [keyword(args.key)], silent=True)
    return True


@serves(api.FETCH_INVITATION)
async def fetch_invitation(
    args: api.FetchInvitationArgs, state: ImapState, ctx: CallContext
) -> api.FetchedInvitation:
    email_id = EmailId.parse(args.id)
    return await state.pool.run(
        lambda conn: read_invitation(conn, email_id, state.delimiter(conn)),
        folder=email_id.folder,
        deadline=ctx.deadline,
    )


async def _change_marks(
    change: Callable[[ImapConnection, EmailId, MarkArgs, str | None], bool],
    args: MarkArgs,
    state: ImapState,
    ctx: CallContext,
) -> bool:
    """Runs ``change`` on the marks of the email ``args.id`` names while no other call of
    this worker changes its folder; the call changes that folder."""
    email_id = EmailId.parse(args.id)
    ctx.tags = [FOLDERS_TAG, folder_tag(email_id.folder)]
    async with state.locks.hold(email_id.folder):
        return await state.pool.run(
            lambda conn: change(conn, email_id, args, state.delimiter(conn)),
            deadline=ctx.deadline,
        )


@serves(api.CLAIM_INVITATION_REPLY)
async def claim_invitation_reply(
    args: api.ClaimReplyArgs, state: ImapState, ctx: CallContext
) -> api.ClaimedReply:
    return api.ClaimedReply(await _change_marks(claim_reply, args, state, ctx))


@serves(api.SETTLE_INVITATION_REPLY)
async def settle_invitation_reply(
    args: api.SettleReplyArgs, state: ImapState, ctx: CallContext
) -> api.SettledReply:
    return api.SettledReply(await _change_marks(settle_reply, args, state, ctx))
