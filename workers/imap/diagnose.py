"""The IMAP part of ``--diagnose``: each step timed, the rest skipped after a failure.

The special folders are looked up exactly as the writing tools look them up
(``writing.folder_with_role``), so what this reports is what sending, drafts and
deleting will do.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from protocol import mail
from protocol.diagnosis import IMAP_CHECKS, DiagnoseArgs, DiagnoseResult
from protocol.errors import AuthFailed, MailError, NotFound, ServerTimeout
from protocol.settings import ImapSettings
from workers import diagnostics
from workers.imap import folders, writing
from workers.imap.connect import open_client
from workers.imap.errors import server_text
from workers.imap.pool import ImapConnection
from workers.runtime import CallContext, serves

HOST_HINT = "MAILBOX_IMAP_HOST (imap.mailbox.org for mailbox.org)"
PORT_HINT = "MAILBOX_IMAP_PORT (993, IMAP over TLS)"
INTERESTING = (
    "IMAP4REV1",
    "IMAP4REV2",
    "SPECIAL-USE",
    "LIST-STATUS",
    "MOVE",
    "UIDPLUS",
    "CONDSTORE",
    "QRESYNC",
    "SORT",
    "THREAD=REFERENCES",
    "ESEARCH",
    "PREVIEW",
)

# role: (its usual name, what it holds, what the product does without it)
_ROLES = {
    "sent": ("Sent", "sent mail", "copies of the mail you send are saved here"),
    "drafts": ("Drafts", "drafts", "drafts are saved here"),
    "trash": ("Trash", "deleted mail", "deleted mail is moved here"),
}


@serves(mail.IMAP_DIAGNOSE)
async def diagnose(args: DiagnoseArgs, state: Any, ctx: CallContext) -> DiagnoseResult:
    settings: ImapSettings = state.settings
    end = diagnostics.Endpoint.of(settings, HOST_HINT, PORT_HINT)
    checks = diagnostics.Checklist(IMAP_CHECKS)
    conn: list[ImapConnection] = []
    listing: list[folders.RawFolder] = []

    def login() -> str:
        conn.append(ImapConnection(_login(settings), time.monotonic()))
        return f"logged in as {settings.username}"

    def capabilities() -> str:
        have = [c for c in INTERESTING if conn[0].has(c)]
        return "the server offers " + (", ".join(have) or "none of the extensions we use")

    def folder_list() -> str:
        listing.extend(folders.list_folders(conn[0]))
        names = [f.name for f in folders.to_folders(listing)]
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        return f"{diagnostics.plural(len(names), 'folder')}: {shown}"

    def role_check(role: str) -> Callable[[], diagnostics.Outcome]:
        def check() -> diagnostics.Outcome:
            try:
                used = writing.folder_with_role(conn[0], role)
            except NotFound:
                used = None
            return special_folder(role, used, listing, settings.allow_permanent_delete)

        return check

    await diagnostics.reach(checks, "imap", end)
    try:
        await checks.blocking("imap login", login)
        await checks.blocking("imap capabilities", capabilities)
        await checks.blocking("imap folders", folder_list)
        for role in ("sent", "drafts", "trash"):
            await checks.blocking(f"imap {role} folder", role_check(role))
    finally:
        if conn:
            try:
                conn[0].client.logout()
            except Exception:
                conn[0].client.shutdown()
    return checks.result()


def special_folder(
    role: str, used: str | None, listing: list[folders.RawFolder], can_erase: bool
) -> diagnostics.Outcome:
    """What the writing tools do for ``role``: the folder they ``used`` (its server name),
    or, with None, what happens without one."""
    usual, holds, use = _ROLES[role]
    if used is not None:
        found = next((f for f in listing if f.raw_name == used), None)
        return f"{folders.to_display(used, found.delimiter if found else None)}: {use}"
    consequence = {
        "sent": "mail you send still goes out, but no copy of it is kept",
        "drafts": "drafts cannot be saved (create_draft fails)",
        "trash": (
            "delete_email cannot move mail to a Trash folder; only erasing for good "
            "(permanent=true) works"
            if can_erase
            else "deleting mail does not work (and erasing for good is turned off by "
            "MAILBOX_ALLOW_PERMANENT_DELETE=0)"
        ),
    }[role]
    guess = next((f.name for f in folders.to_folders(listing) if f.role == role), None)
    if guess is not None:
        return diagnostics.Note(
            f"{guess} looks like the {usual} folder, but the server does not mark it as one, "
            f"so {consequence}",
            f"In your provider's webmail settings, choose {guess} as the folder for {holds}, "
            f"so that the server marks it as the {usual} folder.",
        )
    return diagnostics.Note(
        f"no {usual} folder: {consequence}",
        f"Create a folder for {holds} in your provider's webmail and choose it there as the "
        f"{usual} folder, so that the server marks it.",
    )


def _login(settings: ImapSettings) -> Any:
    """A logged-in client. Raises Failed with the advice for what went wrong."""
    try:
        return open_client(settings)
    except AuthFailed as exc:
        said = server_text(exc.__cause__) if exc.__cause__ else ""
        raise diagnostics.login_refused(settings.host, settings.username, said) from None
    except ServerTimeout:
        raise diagnostics.Failed(
            f"{settings.host} did not answer the login within {settings.pool.read_timeout:.0f} s",
            diagnostics.RETRY_ADVICE,
        ) from None
    except MailError as exc:
        raise diagnostics.unexpected(exc) from None
