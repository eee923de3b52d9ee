"""The IMAP worker's tools: each turns Struct arguments into a Struct result."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import imapclient.exceptions as imap_exc

from protocol.email import (
    CreateDirectoryArgs,
    CreateDirectoryResult,
    GetFoldersArgs,
    GetFoldersResult,
)
from protocol.errors import AlreadyExists, Refused
from protocol.fingerprint import Freshness, FreshnessArgs
from protocol.settings import ImapSettings
from workers.imap import folders, freshness
from workers.imap.connect import open_client
from workers.imap.errors import imap_errors, server_text
from workers.imap.pool import ImapConnection, ImapPool
from workers.runtime import CallContext

FOLDERS_TAG = "imap:folders"


def folder_tag(raw_name: str) -> str:
    return f"imap:folder:{raw_name}"


@dataclass
class ImapState:
    settings: ImapSettings
    pool: ImapPool


@asynccontextmanager
async def open_imap_state(settings: ImapSettings) -> AsyncIterator[ImapState]:
    """The pool for this worker's life; warmed in the background, logged out at the end."""
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


async def get_folders(
    _args: GetFoldersArgs, state: ImapState, ctx: CallContext
) -> GetFoldersResult:
    def run(conn: ImapConnection) -> list[folders.RawFolder]:
        extra = ("HIGHESTMODSEQ",) if conn.has("CONDSTORE") else ()
        return folders.list_folders(conn, folders.STATUS_ITEMS + extra)

    raw = await state.pool.run(run, deadline=ctx.deadline)
    # The same LIST-STATUS answer gives the token, so it describes exactly this state.
    ctx.validator = freshness.make_token(None, folders.fingerprint(raw))
    ctx.tags = [FOLDERS_TAG]
    return GetFoldersResult(folders=folders.to_folders(raw))


async def check_fresh(args: FreshnessArgs, state: ImapState, ctx: CallContext) -> Freshness:
    fresh = await state.pool.run(lambda conn: freshness.is_fresh(conn, args.token), deadline=ctx.deadline)
    return Freshness(fresh)


async def create_directory(
    args: CreateDirectoryArgs, state: ImapState, ctx: CallContext
) -> CreateDirectoryResult:
    def run(conn: ImapConnection) -> str:
        delimiter = folders.hierarchy_delimiter(conn)
        display = "/".join(part.strip() for part in args.name.split("/"))
        raw = folders.to_server(display, delimiter)
        if conn.client.folder_exists(raw):
            raise AlreadyExists(f"The folder '{display}' already exists.")
        try:
            conn.client.create_folder(raw)
        except imap_exc.IMAPClientError as exc:
            if isinstance(exc, imap_exc.IMAPClientAbortError):
                raise
            if "ALREADYEXISTS" in str(exc).upper():
                raise AlreadyExists(f"The folder '{display}' already exists.") from exc
            raise Refused(
                f"The server would not create the folder '{display}': {server_text(exc)}."
            ) from exc
        # Mail clients (and the mailbox.org web mailer) show subscribed folders.
        _subscribe_with_parents(conn, raw, delimiter)
        return folders.to_display(raw, delimiter)

    return CreateDirectoryResult(await state.pool.run(run, deadline=ctx.deadline))


def _subscribe_with_parents(conn: ImapConnection, raw: str, delimiter: str | None) -> None:
    parts = raw.split(delimiter) if delimiter else [raw]
    for depth in range(1, len(parts) + 1):
        try:
            conn.client.subscribe_folder((delimiter or "").join(parts[:depth]))
        except imap_exc.IMAPClientError as exc:
            if isinstance(exc, imap_exc.IMAPClientAbortError):
                raise
