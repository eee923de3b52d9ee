"""Changing mail: move, flag, delete, append, and reading what a reply needs (blocking).

Many ids are grouped by folder and each group is one UID command (UID MOVE,
UID STORE, UID EXPUNGE of exactly those UIDs — never a bare EXPUNGE, which
would also erase messages someone else marked deleted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

import imapclient.exceptions as imap_exc
import structlog

from protocol.email import GetEmailArgs
from protocol.errors import MailError, NotFound, Refused, Unavailable
from protocol.writing import Moved, Original
from workers.imap import claims, folders
from workers.imap.decode import header_addresses, parse_header_block
from workers.imap.errors import missing_folder_as_not_found
from workers.imap.ids import EmailId
from workers.imap.pool import ImapConnection
from workers.imap.reading import read_email
from workers.imap.response_codes import take_code, uid_set
from workers.imap.thread import message_ids

log = structlog.get_logger()

MAX_FORWARD_BYTES = 30 * 1024 * 1024


def by_folder(ids: Iterable[EmailId]) -> dict[str, list[EmailId]]:
    groups: dict[str, list[EmailId]] = {}
    for email_id in ids:
        groups.setdefault(email_id.folder, []).append(email_id)
    return groups


def folder_with_role(conn: ImapConnection, role: str) -> str:
    """The server name of the folder get_folders shows with ``role`` (marked or named so)."""
    listed = folders.list_folders(conn, ("MESSAGES",))
    selectable = {f.raw_name for f in listed if f.selectable}
    for raw_name, found in folders.roles_of(listed).items():
        if found == role and raw_name in selectable:
            return raw_name
    raise NotFound(
        f"This account has no {role.capitalize()} folder; create one named {role.capitalize()}."
    )


def existing_uids(
    conn: ImapConnection, raw: str, ids: list[EmailId], display: str
) -> dict[int, EmailId]:
    """Those of ``ids`` still in ``raw`` under its current UIDVALIDITY (folder selected
    read-write). Raises NotFound when there is no such folder."""
    wanted = _select_for(conn, raw, ids, display)
    if not wanted:
        return {}
    present = conn.client.fetch(sorted(wanted), ["FLAGS"])
    return {uid: wanted[uid] for uid in wanted if uid in present}


def _select_for(
    conn: ImapConnection, raw: str, ids: list[EmailId], display: str
) -> dict[int, EmailId]:
    with missing_folder_as_not_found(display):
        info = conn.select(raw, readonly=False)
    current = int(info[b"UIDVALIDITY"])
    return {i.uid: i for i in ids if i.uidvalidity == current}


def _each_folder(
    conn: ImapConnection,
    ids: list[EmailId],
    delimiter: str | None,
    select: Callable[[ImapConnection, str, list[EmailId], str], dict[int, EmailId]],
    not_found: list[str],
) -> Iterator[dict[int, EmailId]]:
    """Select the folders of ``ids`` one after another with ``select`` and yield, while each
    is selected, those of its ids ``select`` finds (by UID); the others go to ``not_found``."""
    for raw, group in by_folder(ids).items():
        try:
            found = select(conn, raw, group, folders.to_display(raw, delimiter))
        except NotFound:
            not_found.extend(str(i) for i in group)
            continue
        not_found.extend(str(i) for i in group if i.uid not in found)
        yield found


def _claim_notes(display: str, taken: list[str], missing: list[str]) -> list[str]:
    notes = []
    if missing:
        notes.append(f"{len(missing)} message(s) were no longer in {display}.")
    if taken:
        notes.append(
            f"{len(taken)} message(s) in {display} were being moved, deleted or sent by another "
            "call at the same moment, so this call left them alone; search again to see where "
            "they are."
        )
    return notes


def _copyuid(conn: ImapConnection) -> tuple[int, dict[int, int]] | None:
    mapping: dict[int, int] = {}
    validity = None
    for code in take_code(conn, "COPYUID"):
        parts = code.split()
        if len(parts) != 3:
            continue
        validity = int(parts[0])
        mapping.update(zip(uid_set(parts[1]), uid_set(parts[2]), strict=False))
    return (validity, mapping) if validity is not None else None


MOVE_BATCH = 250
"""UIDs per MOVE or EXPUNGE command: progress after each, command lines of a few KB, and
claims held only for one command (see claims: a claim held much longer would look
abandoned to another call)."""

Progress = Callable[[int, int], None]


def move(
    conn: ImapConnection,
    ids: list[EmailId],
    destination: str,
    delimiter: str | None,
    progress: Progress | None = None,
) -> tuple[list[Moved], list[str], list[str]]:
    """Move ``ids`` to the server folder ``destination``: (moved, not moved, notes).

    ``progress(done, total)`` is called after each batch of moved messages.
    """
    moved: list[Moved] = []
    not_moved: list[str] = []
    notes: list[str] = []

    def report() -> None:
        if progress is not None:
            progress(len(moved) + len(not_moved), len(ids))

    for raw, group in by_folder(ids).items():
        display = folders.to_display(raw, delimiter)
        taken: list[str] = []
        missing: list[str] = []
        try:
            if raw == destination:
                present = existing_uids(conn, raw, group, display)
                moved += [Moved(str(i), str(i)) for i in present.values()]
                missing = [str(i) for i in group if i.uid not in present]
                not_moved += missing
                continue
            wanted = _select_for(conn, raw, group, display)
            missing = [str(i) for i in group if i.uid not in wanted]
            not_moved += missing
            for outcome in _claims_batch_by_batch(conn, sorted(wanted)):
                taken += [str(wanted[u]) for u in outcome.taken]
                missing += [str(wanted[u]) for u in outcome.gone]
                not_moved += [str(wanted[u]) for u in outcome.taken + outcome.gone]
                batch = sorted(outcome.won)
                done: list[Moved] = []
                try:
                    done = _move_batch(conn, batch, wanted, destination) if batch else []
                finally:
                    moved += done
                    # What did not move keeps no claim (a refused batch, say).
                    settled = {m.id for m in done}
                    unmoved = [u for u in batch if str(wanted[u]) not in settled]
                    claims.release(conn, unmoved, claims.MOVING)
                report()
        except NotFound as exc:
            not_moved += [str(i) for i in group]
            notes.append(exc.message)
        except imap_exc.IMAPClientError as exc:
            if isinstance(exc, imap_exc.IMAPClientAbortError):
                done_ids = ", ".join(m.id for m in moved) or "none"
                raise Unavailable(
                    f"The connection broke while moving mail from {display}; moved before that: "
                    f"{done_ids}. Search {display} to see what is still there.",
                    may_have_happened=True,
                ) from exc
            settled = {m.id for m in moved} | set(not_moved)
            left = [str(i) for i in group if str(i) not in settled]
            not_moved += left
            log.warning("imap.move_refused", folder=display, error=str(exc)[:200])
            notes.append(
                f"The server refused to move {len(left)} message(s) out of {display}; they are "
                "still there. Try again, or move them in a mail app."
            )
        finally:
            notes += _claim_notes(display, taken, missing)
    _unclaim_moved(conn, moved)
    return moved, not_moved, notes


def _claims_batch_by_batch(conn: ImapConnection, uids: list[int]) -> Iterator[claims.Claim]:
    """Claim ``uids`` of the selected folder for moving or erasing, MOVE_BATCH at a time and
    each right before it is acted on: the caller moves or erases what each claim won (or
    releases it) before asking for the next, so that no claim is held for long."""
    for start in range(0, len(uids), MOVE_BATCH):
        pending = uids[start : start + MOVE_BATCH]
        while pending:
            outcome = claims.claim(conn, pending, claims.MOVING)
            yield outcome
            pending = outcome.waiting


def _unclaim_moved(conn: ImapConnection, moved: list[Moved]) -> None:
    """Take the claim keyword off the moved messages in their new folder.

    Best effort: a keyword left behind here (the server refused, or this worker was
    killed first) makes the next call that moves, deletes or sends that message wait
    STALE_AFTER seconds for this finished claim, find it abandoned, take it over and go
    ahead (see claims); the message is never locked for good.
    """
    by_new: dict[str, list[int]] = {}
    for item in moved:
        if item.new_id is not None and item.new_id != item.id:
            new = EmailId.parse(item.new_id)
            by_new.setdefault(new.folder, []).append(new.uid)
    for raw, uids in by_new.items():
        try:
            conn.select(raw, readonly=False)
            claims.release(conn, uids, claims.MOVING)
        except imap_exc.IMAPClientError as exc:
            if isinstance(exc, imap_exc.IMAPClientAbortError):
                raise
            log.warning("imap.claim_not_released", error=str(exc)[:200])


def _move_batch(
    conn: ImapConnection, uids: list[int], present: dict[int, EmailId], destination: str
) -> list[Moved]:
    take_code(conn, "COPYUID")
    if conn.has("MOVE"):
        conn.client.move(uids, destination)
    elif conn.has("UIDPLUS"):
        conn.client.copy(uids, destination)
        conn.client.add_flags(uids, [b"\\Deleted"], silent=True)
        conn.client.uid_expunge(uids)
    else:
        raise Refused(
            "The server can move messages only by erasing other deleted mail too; not done."
        )
    copied = _copyuid(conn)
    moved = []
    for uid in uids:
        new = None
        if copied is not None and uid in copied[1]:
            new = str(EmailId(destination, copied[0], copied[1][uid]))
        moved.append(Moved(str(present[uid]), new))
    return moved


def store_flags(
    conn: ImapConnection, ids: list[EmailId], changes: dict[bytes, bool], delimiter: str | None
) -> tuple[list[str], list[str]]:
    """Set (True) or clear (False) each flag; returns (updated ids, ids not found)."""
    updated: list[str] = []
    not_found: list[str] = []
    for present in _each_folder(conn, ids, delimiter, existing_uids, not_found):
        if not present:
            continue
        uids = sorted(present)
        to_add = [flag for flag, on in changes.items() if on]
        to_remove = [flag for flag, on in changes.items() if not on]
        if to_add:
            conn.client.add_flags(uids, to_add, silent=True)
        if to_remove:
            conn.client.remove_flags(uids, to_remove, silent=True)
        updated += [str(present[uid]) for uid in uids]
    return updated, not_found


def _require_uidplus(conn: ImapConnection) -> None:
    if not conn.has("UIDPLUS"):
        raise Refused(
            "This server cannot erase single messages without also erasing others marked "
            "deleted (no UIDPLUS); nothing was erased."
        )


def expunge_exactly(conn: ImapConnection, uids: list[int]) -> None:
    """Erase exactly ``uids`` of the selected folder (UIDPLUS UID EXPUNGE)."""
    _require_uidplus(conn)
    conn.client.add_flags(uids, [b"\\Deleted"], silent=True)
    conn.client.uid_expunge(uids)


def erase(
    conn: ImapConnection, ids: list[EmailId], delimiter: str | None
) -> tuple[list[str], list[str]]:
    """Erase ``ids`` for good: (erased ids, ids not erased: gone, or being moved or sent by
    another call at the same moment)."""
    deleted: list[str] = []
    not_found: list[str] = []
    for wanted in _each_folder(conn, ids, delimiter, _select_for, not_found):
        if wanted:
            _require_uidplus(conn)  # before claiming: a refusal leaves no claim behind
        for outcome in _claims_batch_by_batch(conn, sorted(wanted)):
            not_found += [str(wanted[u]) for u in outcome.taken + outcome.gone]
            batch = sorted(outcome.won)
            if not batch:
                continue
            try:
                expunge_exactly(conn, batch)
            except imap_exc.IMAPClientError as exc:
                if not isinstance(exc, imap_exc.IMAPClientAbortError):
                    claims.release(conn, batch, claims.MOVING)
                raise
            deleted += [str(wanted[uid]) for uid in batch]
    return deleted, not_found


def append(conn: ImapConnection, raw_folder: str, message: bytes, flags: list[str]) -> str | None:
    """APPEND; the new message's id when the server reports it (UIDPLUS APPENDUID)."""
    take_code(conn, "APPENDUID")
    conn.client.append(
        raw_folder, message, flags=[f.encode() for f in flags], msg_time=datetime.now().astimezone()
    )
    for code in take_code(conn, "APPENDUID"):
        parts = code.split()
        if len(parts) == 2:
            return str(EmailId(raw_folder, int(parts[0]), int(parts[1])))
    return None


def original(conn: ImapConnection, email_id: EmailId, display: str, with_raw: bool) -> Original:
    """What a reply or forward needs of a message."""
    email = read_email(
        conn, email_id, display, GetEmailArgs(id=str(email_id), max_chars=200_000)
    ).email
    wanted: list[Any] = ["BODY.PEEK[HEADER.FIELDS (FROM REFERENCES REPLY-TO)]", "RFC822.SIZE"]
    item = conn.client.fetch([email_id.uid], wanted).get(email_id.uid, {})
    head = next((v for k, v in item.items() if k.startswith(b"BODY[HEADER")), b"")
    try:
        headers = parse_header_block(head or b"")
    except ValueError:
        headers = parse_header_block(b"")
    raw = None
    if with_raw:
        size = int(item.get(b"RFC822.SIZE") or 0)
        if size > MAX_FORWARD_BYTES:
            raise Refused(
                f"That email is {size / 1e6:.0f} MB, too large to forward whole; use forward_inline."
            )
        raw = (
            conn.client.fetch([email_id.uid], ["BODY.PEEK[]"]).get(email_id.uid, {}).get(b"BODY[]")
        )
        if raw is None:
            raise MailError("The email could not be fetched for forwarding; try again.")
    return Original(
        id=str(email_id),
        message_id=email.message_id,
        references=[i for v in headers.get_all("References", []) for i in message_ids(v)],
        subject=email.subject,
        from_=header_addresses(headers.get_all("From", [])),
        reply_to=header_addresses(headers.get_all("Reply-To", [])),
        to=email.to,
        cc=email.cc,
        date=email.date,
        text=email.body,
        raw=raw,
    )
