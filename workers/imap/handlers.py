"""The IMAP worker's tools: each turns Struct arguments into a Struct result."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import anyio
import imapclient.exceptions as imap_exc
import structlog

from protocol import mail
from protocol.attachment import AttachmentContent, GetAttachmentArgs
from protocol.conversation import EmailThread, GetEmailThreadArgs
from protocol.email import (
    CreateDirectoryArgs,
    CreateDirectoryResult,
    Email,
    EmailSummary,
    GetEmailArgs,
    GetFoldersArgs,
    GetFoldersResult,
    SearchEmailsArgs,
    SearchEmailsResult,
)
from protocol.errors import AlreadyExists, MailError, Refused
from protocol.fingerprint import IMAP_FOLDER, IMAP_FOLDERS, Freshness, FreshnessArgs
from protocol.settings import ImapSettings
from workers.files import remove_abandoned_parts
from workers.imap import attachment, folders, freshness, reading, search, thread
from workers.imap.connect import open_client
from workers.imap.errors import imap_errors, missing_folder_as_not_found, server_text
from workers.imap.folder_locks import FolderLocks
from workers.imap.ids import EmailId
from workers.imap.pool import UNSELECTED, ImapConnection, ImapPool
from workers.runtime import CallContext, serves

log = structlog.get_logger()

FOLDERS_TAG = IMAP_FOLDERS.tag
folder_tag = IMAP_FOLDER.of


@dataclass
class ImapState:
    settings: ImapSettings
    pool: ImapPool
    _delimiter: tuple[str | None] | None = None
    big_inbox: bool = False
    """INBOX held BIG_INBOX messages or more when last seen (see STATUS_HOME)."""
    locks: FolderLocks = field(default_factory=FolderLocks)
    """Held by writes that take messages out of a folder (see folder_locks)."""

    @property
    def own_addresses(self) -> frozenset[str]:
        """The user's addresses, whose answer an invitation records."""
        return frozenset({self.settings.username.lower()})

    def delimiter(self, conn: ImapConnection) -> str | None:
        """The server's hierarchy delimiter, asked once per worker (blocking)."""
        if self._delimiter is None:
            self._delimiter = (folders.hierarchy_delimiter(conn),)
        return self._delimiter[0]


@asynccontextmanager
async def open_imap_state(settings: ImapSettings) -> AsyncIterator[ImapState]:
    """The pool for this worker's life; warmed in the background, logged out at the end.

    Downloads a killed worker left unfinished are removed first.
    """
    remove_abandoned_parts(Path(settings.download_dir).expanduser())
    pool = ImapPool(
        lambda: open_client(settings),
        settings.pool,
        lambda: imap_errors(settings.host, settings.port, settings.username),
    )
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(pool.prewarm)
            yield ImapState(settings, pool)
            tg.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await pool.aclose()


# Dovecot answers STATUS of the selected folder from memory, after a NOOP to sync,
# but opens any other folder anew for each STATUS: about 90 ms for a 100,000-message
# INBOX, against 0.3 ms once it is selected. For a small INBOX one round trip on a
# connection with nothing selected is cheaper; for a big one, checks run where INBOX
# is open, and keep it open.
STATUS_HOME = "INBOX"
BIG_INBOX = 20_000


def _status_connection(state: ImapState) -> str:
    return STATUS_HOME if state.big_inbox else UNSELECTED


def _prepare_for_status(state: ImapState, conn: ImapConnection) -> None:
    if state.big_inbox and (conn.selected is None or conn.selected[0] != STATUS_HOME):
        conn.select(STATUS_HOME)


def _note_inbox_size(state: ImapState, raw_name: str, status: dict[str, int]) -> None:
    if raw_name.upper() == STATUS_HOME and "MESSAGES" in status:
        state.big_inbox = status["MESSAGES"] >= BIG_INBOX


@serves(mail.GET_FOLDERS)
async def get_folders(
    _args: GetFoldersArgs, state: ImapState, ctx: CallContext
) -> GetFoldersResult:
    def run(conn: ImapConnection) -> list[folders.RawFolder]:
        _prepare_for_status(state, conn)
        extra = ("HIGHESTMODSEQ",) if conn.has("CONDSTORE") else ()
        return folders.list_folders(conn, folders.STATUS_ITEMS + extra)

    raw = await state.pool.run(run, folder=_status_connection(state), deadline=ctx.deadline)
    for folder in raw:
        _note_inbox_size(state, folder.raw_name, folder.status)
    # The same LIST-STATUS answer gives the token, so it describes exactly this state.
    ctx.validator = freshness.make_token(None, folders.fingerprint(raw))
    ctx.tags = [FOLDERS_TAG]
    return GetFoldersResult(folders=folders.to_folders(raw))


@serves(mail.IMAP_CHECK_FRESH)
async def check_fresh(args: FreshnessArgs, state: ImapState, ctx: CallContext) -> Freshness:
    def run(conn: ImapConnection) -> bool:
        _prepare_for_status(state, conn)
        return freshness.is_fresh(conn, args.token)

    folder = _status_connection(state)
    return Freshness(await state.pool.run(run, folder=folder, deadline=ctx.deadline))


@serves(mail.CREATE_DIRECTORY)
async def create_directory(
    args: CreateDirectoryArgs, state: ImapState, ctx: CallContext
) -> CreateDirectoryResult:
    def run(conn: ImapConnection) -> str:
        delimiter = folders.hierarchy_delimiter(conn)
        display = "/".join(part.strip() for part in args.name.split("/"))
        raw = folders.to_server(display, delimiter)
        if folders.exists(conn, raw):
            raise AlreadyExists(f"The folder '{display}' already exists.")
        try:
            conn.client.create_folder(raw)
        except imap_exc.IMAPClientError as exc:
            if isinstance(exc, imap_exc.IMAPClientAbortError):
                raise
            if "ALREADYEXISTS" in str(exc).upper():
                raise AlreadyExists(f"The folder '{display}' already exists.") from exc
            log.info("imap.create_refused", error=server_text(exc)[:200])
            raise Refused(
                f"The mail server does not allow a folder named '{display}'; choose another "
                "name (letters, digits, spaces, '-' and '_' work on every server)."
            ) from exc
        # Mail clients (and the mailbox.org web mailer) show subscribed folders.
        _subscribe_with_parents(conn, raw, delimiter)
        return folders.to_display(raw, delimiter)

    ctx.tags = [FOLDERS_TAG]
    return CreateDirectoryResult(await state.pool.run(run, deadline=ctx.deadline))


def _subscribe_with_parents(conn: ImapConnection, raw: str, delimiter: str | None) -> None:
    parts = raw.split(delimiter) if delimiter else [raw]
    for depth in range(1, len(parts) + 1):
        try:
            conn.client.subscribe_folder((delimiter or "").join(parts[:depth]))
        except imap_exc.IMAPClientError as exc:
            if isinstance(exc, imap_exc.IMAPClientAbortError):
                raise


@serves(mail.SEARCH_EMAILS)
async def search_emails(
    args: SearchEmailsArgs, state: ImapState, ctx: CallContext
) -> SearchEmailsResult:
    cursor = search.read_cursor(args)
    if args.folder.strip() == "*":
        return await _search_everywhere(args, state, ctx, cursor)

    def run(conn: ImapConnection) -> SearchEmailsResult:
        delimiter = state.delimiter(conn)
        raw = folders.to_server(args.folder, delimiter)
        searched = search.search_with_status(conn, raw, args.folder, search.query(args))
        token = freshness.token_of(raw, searched.folder_status)
        _note_inbox_size(state, raw, searched.folder_status)
        hits = searched.hits
        start = _start_in_folder(hits, cursor)
        page = hits.uids[start : start + args.limit]
        summaries = search.fetch_summaries(conn, hits, page, delimiter)
        ctx.validator, ctx.tags = token, [folder_tag(raw)]
        emails = [summaries[uid] for uid in page if uid in summaries]
        return _page_result(args, emails, len(hits.uids), start)

    return await state.pool.run(run, folder=_guess_raw(args.folder), deadline=ctx.deadline)


def _guess_raw(display: str) -> str:
    """For choosing a connection that has the folder selected; exactness not needed."""
    return folders.to_server(display, "/")


def _start_in_folder(hits: search.FolderHits, cursor: search.Cursor | None) -> int:
    if cursor is None:
        return 0
    try:
        anchor = EmailId.parse(cursor.anchor)
        if anchor.folder == hits.raw_name and anchor.uidvalidity == hits.uidvalidity:
            # The page continues after the last message shown, wherever new mail came in.
            return hits.uids.index(anchor.uid) + 1
    except (MailError, ValueError):  # that message is gone: count instead
        pass
    return cursor.offset


def _page_result(
    args: SearchEmailsArgs, emails: list[EmailSummary], total: int, start: int
) -> SearchEmailsResult:
    end = start + len(emails)
    next_cursor = search.write_cursor(args, end, emails[-1].id) if emails and end < total else None
    return SearchEmailsResult(emails=emails, total=total, next_cursor=next_cursor)


async def _search_everywhere(
    args: SearchEmailsArgs,
    state: ImapState,
    ctx: CallContext,
    cursor: search.Cursor | None,
) -> SearchEmailsResult:
    def list_all(conn: ImapConnection) -> tuple[str, list[str], str | None]:
        raw = folders.list_folders(conn, freshness.items(conn))
        token = freshness.make_token(None, folders.fingerprint(raw))
        return token, [f.raw_name for f in raw if f.selectable], state.delimiter(conn)

    token, names, delimiter = await state.pool.run(list_all, deadline=ctx.deadline)
    found: list[search.FolderHits] = []
    for done, raw_name in enumerate(names, start=1):
        await ctx.progress(
            done - 1, len(names), f"searching {folders.to_display(raw_name, delimiter)}"
        )

        def search_one(conn: ImapConnection, raw_name: str = raw_name) -> search.FolderHits:
            return search.search_folder(conn, raw_name, search.query(args))

        found.append(await state.pool.run(search_one, folder=raw_name, deadline=ctx.deadline))
    total = sum(len(h.uids) for h in found)
    # The newest (offset + limit) of all folders lie within each folder's newest
    # (offset + limit), so only those need dates to be merged.
    depth = (cursor.offset if cursor else 0) + args.limit + 1

    def dates(conn: ImapConnection) -> list[tuple[search.FolderHits, list[tuple[datetime, int]]]]:
        return [(h, search.sort_dates(conn, h, h.uids[:depth])) for h in found if h.uids]

    merged = search.merge_newest_first(await state.pool.run(dates, deadline=ctx.deadline))
    ordered = [str(EmailId(h.raw_name, h.uidvalidity, uid)) for _d, h, uid in merged]
    start = search.page_start(ordered, cursor)
    page = merged[start : start + args.limit]

    def summaries(conn: ImapConnection) -> list[EmailSummary]:
        by_folder: dict[str, dict[int, EmailSummary]] = {}
        for hits in {id(h): h for _d, h, _u in page}.values():
            uids = [uid for _d, h, uid in page if h is hits]
            by_folder[hits.raw_name] = search.fetch_summaries(conn, hits, uids, delimiter)
        return [by_folder[h.raw_name][u] for _d, h, u in page if u in by_folder[h.raw_name]]

    emails = await state.pool.run(summaries, deadline=ctx.deadline)
    await ctx.progress(len(names), len(names), "done")
    ctx.validator, ctx.tags = token, [FOLDERS_TAG]
    return _page_result(args, emails, total, start)


@serves(mail.GET_EMAIL)
async def get_email(args: GetEmailArgs, state: ImapState, ctx: CallContext) -> Email:
    email_id = EmailId.parse(args.id)

    def run(conn: ImapConnection) -> Email:
        display = folders.to_display(email_id.folder, state.delimiter(conn))
        read = reading.read_email(conn, email_id, display, args, state.own_addresses)
        _note_inbox_size(state, email_id.folder, read.folder_status)
        if not args.mark_read:
            ctx.validator = freshness.token_of(email_id.folder, read.folder_status)
        ctx.tags = [folder_tag(email_id.folder)]
        if args.mark_read:  # the folder list's unread counts change too, as with mark_email
            ctx.tags.append(FOLDERS_TAG)
        return read.email

    return await state.pool.run(run, folder=email_id.folder, deadline=ctx.deadline)


@serves(mail.GET_EMAIL_THREAD)
async def get_email_thread(
    args: GetEmailThreadArgs, state: ImapState, ctx: CallContext
) -> EmailThread:
    email_id = EmailId.parse(args.id)

    def run(conn: ImapConnection) -> EmailThread:
        delimiter = state.delimiter(conn)
        display = folders.to_display(email_id.folder, delimiter)
        with missing_folder_as_not_found(display):
            info = conn.select(email_id.folder)
        email_id.check_validity(int(info[b"UIDVALIDITY"]), display)
        searched = thread.folders_to_search(conn, email_id.folder)
        # Taken before searching: a reply arriving meanwhile makes the answer stale, not wrong.
        token = freshness.token_now(conn, searched)
        conversation = thread.Conversation(searched)
        found = thread.gather(conn, email_id, display, conversation)
        shown = found[-args.limit :]
        thread.add_excerpts(conn, shown)
        ctx.validator, ctx.tags = token, [folder_tag(name) for name in searched]
        return EmailThread(
            messages=[thread.to_result(item, delimiter) for item in shown],
            total=len(found),
            searched=[folders.to_display(name, delimiter) for name in searched],
        )

    return await state.pool.run(run, folder=email_id.folder, deadline=ctx.deadline)


@serves(mail.GET_ATTACHMENT)
async def get_attachment(
    args: GetAttachmentArgs, state: ImapState, ctx: CallContext
) -> AttachmentContent:
    email_id = EmailId.parse(args.id)

    def report(done: int, total: int) -> None:
        anyio.from_thread.run(ctx.progress, done, total, "downloading")

    def run(conn: ImapConnection) -> AttachmentContent:
        display = folders.to_display(email_id.folder, state.delimiter(conn))
        return attachment.read_attachment(
            conn, email_id, display, args, state.settings.download_dir, report
        )

    return await state.pool.run(run, folder=email_id.folder, deadline=ctx.deadline)
