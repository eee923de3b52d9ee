"""The CalDAV part of ``--diagnose``: the connection, discovery, the calendar count and the
address books (CardDAV, on the same server)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from protocol import calendar as api
from protocol.diagnosis import CALDAV_CHECKS, DiagnoseArgs, DiagnoseResult
from protocol.errors import AuthFailed, MailError, NotFound, ServerTimeout
from protocol.settings import DavSettings
from workers import diagnostics
from workers.dav import client as dav
from workers.dav import contact_books
from workers.runtime import CallContext, serves

CALENDAR_LOGIN_ADVICE = (
    f"{diagnostics.LOGIN_ADVICE} The same password is used for mail and calendar: if the mail logins "
    "work, this app password allows mail only; make one that allows the calendar too."
)
PLAIN_HTTP = "not used: plain http to this computer, allowed by MAILBOX_ALLOW_PLAINTEXT=1"
URL_ADVICE = (
    "Check MAILBOX_CALDAV_URL: it must be your provider's CalDAV address, such as "
    "https://dav.mailbox.org/ for mailbox.org."
)


@serves(api.DAV_DIAGNOSE)
async def diagnose(args: DiagnoseArgs, state: Any, ctx: CallContext) -> DiagnoseResult:
    settings: DavSettings = state.settings
    url = urlsplit(settings.url)
    secure = url.scheme == "https"
    end = diagnostics.Endpoint(
        host=url.hostname or "",
        port=url.port or (443 if secure else 80),
        host_hint="the host name in MAILBOX_CALDAV_URL (https://dav.mailbox.org/ for mailbox.org)",
        port_hint="the port in MAILBOX_CALDAV_URL (https needs none: it uses 443)",
        ca_file=settings.ca_file,
        timeout=settings.pool.connect_timeout,
    )
    checks = diagnostics.Checklist(CALDAV_CHECKS, _explainer(end, settings.username))
    home: list[str] = []

    async def discovery() -> str:
        home.append(await state.home(ctx))
        return f"calendar home {home[0]}"

    async def calendars() -> diagnostics.Outcome:
        found = await state.pool.run(
            lambda c: dav.list_calendars(c, home[0]), deadline=ctx.deadline
        )
        if not found:
            return diagnostics.Note(
                "no calendars: the calendar tools have nothing to show, and create_event has "
                "nowhere to save",
                "Create a calendar in your provider's web calendar.",
            )
        names = ", ".join(c.name for c in found[:5]) + (", ..." if len(found) > 5 else "")
        return f"{diagnostics.plural(len(found), 'calendar')}: {names}"

    async def address_books() -> diagnostics.Outcome:
        try:
            found = await contact_books.books(state, ctx)
        except NotFound:
            found = []
        if not found:
            return diagnostics.Note(
                "no address books: the contact tools have nothing to show",
                "Create an address book in your provider's web interface.",
            )
        names = [b.name + (" (read-only)" if b.read_only else "") for b in found[:5]]
        more = ", ..." if len(found) > 5 else ""
        return f"{diagnostics.plural(len(found), 'address book')}: {', '.join(names)}{more}"

    await diagnostics.reach(checks, "caldav", end, plain="" if secure else PLAIN_HTTP)
    await checks.step("caldav discovery", discovery)
    await checks.step("caldav calendars", calendars)
    await checks.step("carddav address books", address_books)
    return checks.result()


def _explainer(
    end: diagnostics.Endpoint, username: str
) -> Callable[[BaseException], diagnostics.Failed]:
    def explain(exc: BaseException) -> diagnostics.Failed:
        if isinstance(exc, AuthFailed):
            return diagnostics.login_refused(end.host, username, advice=CALENDAR_LOGIN_ADVICE)
        if isinstance(exc, ServerTimeout):
            return diagnostics.Failed(
                f"{end.host} did not answer in time", diagnostics.RETRY_ADVICE
            )
        if isinstance(exc, MailError):
            return diagnostics.Failed(exc.message.rstrip("."), URL_ADVICE)
        return diagnostics.unexpected(exc)

    return explain
