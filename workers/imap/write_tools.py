"""The IMAP worker's writing tools (handlers); the IMAP work itself is in writing.py.

Each sets ``ctx.tags`` to the folders it changed, so the supervisor forgets
exactly the cached answers that depended on them.
"""

from __future__ import annotations

import anyio

from protocol import mail
from protocol.errors import InvalidArgument, NotFound, Refused
from protocol.writing import (
    AppendArgs,
    Appended,
    ClaimDraftArgs,
    ClaimedDraft,
    DeleteEmailArgs,
    DeleteEmailResult,
    MarkEmailArgs,
    MarkEmailResult,
    MoveEmailArgs,
    MoveEmailResult,
    Original,
    OriginalArgs,
    SettledDraft,
    SettleDraftArgs,
)
from workers.imap import drafts, folders, writing
from workers.imap.handlers import FOLDERS_TAG, ImapState, folder_tag
from workers.imap.ids import EmailId
from workers.imap.pool import ImapConnection
from workers.runtime import CallContext, serves


def _touched(ctx: CallContext, *raw_names: str) -> None:
    ctx.tags = [FOLDERS_TAG, *(folder_tag(name) for name in dict.fromkeys(raw_names))]


def _reporter(ctx: CallContext) -> writing.Progress:
    """Progress of a bulk change, reported from the worker thread that does it."""

    def report(done: int, total: int) -> None:
        anyio.from_thread.run(ctx.progress, done, total, f"{done} of {total} messages")

    return report


def _destination(conn: ImapConnection, display: str, delimiter: str | None) -> str:
    """The server name of a folder that can take messages; raises a sentence otherwise."""
    if not display.strip("/ "):
        raise InvalidArgument(
            f"Nothing was moved: '{display}' names no folder; give one such as 'Archive' or "
            "'Projects/2026' (get_folders lists them)."
        )
    raw = folders.to_server(display.strip("/"), delimiter)
    # LIST takes a pattern ('*' and '%' match), so only an exact name counts.
    listed = [flags for flags, _d, name in conn.client.list_folders("", raw) if name == raw]
    if not listed:
        raise NotFound(
            f"Nothing was moved: there is no folder named '{display}'; get_folders lists them "
            "and create_directory makes a new one."
        )
    if {bytes(f).lower() for f in listed[0]} & {b"\\noselect", b"\\nonexistent"}:
        children = [
            folders.to_display(name, delimiter)
            for _f, _d, name in conn.client.list_folders(raw + (delimiter or "/"), "%")
        ]
        inside = f" (inside it: {', '.join(sorted(children)[:10])})" if children else ""
        raise Refused(
            f"Nothing was moved: '{display}' only holds other folders and cannot hold "
            f"messages{inside}; choose one of those, or create_directory a new one."
        )
    return raw


@serves(mail.MOVE_EMAIL)
async def move_email(args: MoveEmailArgs, state: ImapState, ctx: CallContext) -> MoveEmailResult:
    ids = [EmailId.parse(text) for text in args.ids]

    def run(conn: ImapConnection) -> MoveEmailResult:
        delimiter = state.delimiter(conn)
        target = _destination(conn, args.destination, delimiter)
        _touched(ctx, *(i.folder for i in ids), target)
        moved, not_moved, notes = writing.move(conn, ids, target, delimiter, _reporter(ctx))
        return MoveEmailResult(moved=moved, not_moved=not_moved, notes=notes)

    async with state.locks.hold(*(i.folder for i in ids)):
        return await state.pool.run(run, deadline=ctx.deadline)


@serves(mail.MARK_EMAIL)
async def mark_email(args: MarkEmailArgs, state: ImapState, ctx: CallContext) -> MarkEmailResult:
    ids = [EmailId.parse(text) for text in args.ids]
    changes = {
        flag: value
        for flag, value in (
            (b"\\Seen", args.read),
            (b"\\Flagged", args.flagged),
            (b"\\Answered", args.answered),
        )
        if value is not None
    }

    def run(conn: ImapConnection) -> MarkEmailResult:
        _touched(ctx, *(i.folder for i in ids))
        updated, not_found = writing.store_flags(conn, ids, changes, state.delimiter(conn))
        return MarkEmailResult(updated=updated, not_found=not_found)

    return await state.pool.run(run, deadline=ctx.deadline)


@serves(mail.DELETE_EMAIL)
async def delete_email(
    args: DeleteEmailArgs, state: ImapState, ctx: CallContext
) -> DeleteEmailResult:
    ids = [EmailId.parse(text) for text in args.ids]

    def run(conn: ImapConnection) -> DeleteEmailResult:
        delimiter = state.delimiter(conn)
        trash = None if args.permanent else writing.folder_with_role(conn, "trash")
        _touched(ctx, *(i.folder for i in ids), *([trash] if trash else []))
        # Deleting what is already in Trash erases it, as mail clients do.
        erase_now = [i for i in ids if trash is None or i.folder == trash]
        to_trash = [i for i in ids if i not in erase_now]
        if erase_now and not state.settings.allow_permanent_delete:
            raise Refused(
                "Nothing was deleted: erasing mail for good is turned off here "
                "(MAILBOX_ALLOW_PERMANENT_DELETE=0), and that includes deleting what is already "
                "in Trash. Move messages to Trash instead, or empty Trash in a mail app."
            )
        deleted, not_found = writing.erase(conn, erase_now, delimiter)
        moved_to_trash = []
        if to_trash and trash is not None:
            moved, missing, _notes = writing.move(conn, to_trash, trash, delimiter, _reporter(ctx))
            moved_to_trash = moved
            deleted += [m.id for m in moved]
            not_found += missing
        return DeleteEmailResult(
            deleted=deleted, moved_to_trash=moved_to_trash, not_found=not_found
        )

    async with state.locks.hold(*(i.folder for i in ids)):
        return await state.pool.run(run, deadline=ctx.deadline)


@serves(mail.FETCH_ORIGINAL)
async def fetch_original(args: OriginalArgs, state: ImapState, ctx: CallContext) -> Original:
    email_id = EmailId.parse(args.id)

    def run(conn: ImapConnection) -> Original:
        display = folders.to_display(email_id.folder, state.delimiter(conn))
        return writing.original(conn, email_id, display, args.raw)

    return await state.pool.run(run, folder=email_id.folder, deadline=ctx.deadline)


@serves(mail.APPEND_MESSAGE)
async def append_message(args: AppendArgs, state: ImapState, ctx: CallContext) -> Appended:
    def run(conn: ImapConnection) -> Appended:
        raw = writing.folder_with_role(conn, args.role)
        _touched(ctx, raw)
        new_id = writing.append(conn, raw, args.raw, args.flags)
        return Appended(folder=folders.to_display(raw, state.delimiter(conn)), id=new_id)

    return await state.pool.run(run, deadline=ctx.deadline)


@serves(mail.CLAIM_DRAFT)
async def claim_draft(args: ClaimDraftArgs, state: ImapState, ctx: CallContext) -> ClaimedDraft:
    draft = EmailId.parse(args.id)

    def run(conn: ImapConnection) -> ClaimedDraft:
        drafts_folder = writing.folder_with_role(conn, "drafts")
        raw = drafts.claim(conn, draft, drafts_folder, state.delimiter(conn))
        _touched(ctx, draft.folder)
        return ClaimedDraft(raw)

    async with state.locks.hold(draft.folder):
        return await state.pool.run(run, deadline=ctx.deadline)


@serves(mail.SETTLE_DRAFT)
async def settle_draft(args: SettleDraftArgs, state: ImapState, ctx: CallContext) -> SettledDraft:
    draft = EmailId.parse(args.id)

    def run(conn: ImapConnection) -> SettledDraft:
        _touched(ctx, draft.folder)
        return SettledDraft(drafts.settle(conn, draft, args.sent))

    async with state.locks.hold(draft.folder):
        return await state.pool.run(run, deadline=ctx.deadline)
