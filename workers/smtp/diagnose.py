"""The SMTP part of ``--diagnose``: TLS, EHLO and one login; nothing is ever sent."""

from __future__ import annotations

import ssl
from typing import Any

import anyio
from aiosmtplib import SMTP, SMTPAuthenticationError, SMTPException

from protocol import mail
from protocol.diagnosis import SMTP_CHECKS, DiagnoseArgs, DiagnoseResult
from protocol.settings import SmtpSettings
from workers.diagnostics import (
    Checklist,
    Endpoint,
    Failed,
    Note,
    Outcome,
    describe_tls,
    login_refused,
    reach,
    tls_failure,
)
from workers.runtime import CallContext, serves
from workers.smtp.connect import login_once, new_client
from workers.tls import verification_failure

HOST_HINT = "MAILBOX_SMTP_HOST (smtp.mailbox.org for mailbox.org)"
PORT_HINT = "MAILBOX_SMTP_PORT (465 with MAILBOX_SMTP_SECURITY=tls, 587 with starttls)"
WRONG_MODE_ADVICE = (
    "If MAILBOX_SMTP_PORT is 587, set MAILBOX_SMTP_SECURITY=starttls; with "
    "MAILBOX_SMTP_SECURITY=tls, use port 465."
)
# ESMTP extensions worth naming, besides the login methods.
_SHOWN = ("size", "8bitmime", "smtputf8", "pipelining", "chunking", "dsn")


@serves(mail.SMTP_DIAGNOSE)
async def diagnose(args: DiagnoseArgs, state: Any, ctx: CallContext) -> DiagnoseResult:
    settings: SmtpSettings = state.settings
    end = Endpoint.of(settings, HOST_HINT, PORT_HINT)
    checks = Checklist(SMTP_CHECKS)
    client = new_client(settings, settings.pool.connect_timeout)

    async def tls() -> Outcome:
        await _start_tls(client, settings, end)
        ssl_object = client.get_transport_info("ssl_object")
        mode = "implicit TLS" if settings.security == "tls" else "STARTTLS"
        outcome = describe_tls(ssl_object.version(), ssl_object.getpeercert())
        if isinstance(outcome, Note):
            return Note(f"{mode}, {outcome.detail}", outcome.advice)
        return f"{mode}, {outcome}"

    async def ehlo() -> str:
        if client.last_ehlo_response is None:
            await client.ehlo()
        methods = [m.upper() for m in client.server_auth_methods]
        if not client.supported_auth_methods:
            raise Failed(
                "the server offers no login method we can use"
                + (f" (it offers {', '.join(methods)})" if methods else " (it offers none)"),
                f"Check {end.port_hint}: the mail submission ports ask for a login, "
                "port 25 is for servers.",
            )
        extras = [_extension(client, name) for name in _SHOWN if client.supports_extension(name)]
        return f"login by {', '.join(methods)}" + (f"; also {', '.join(extras)}" if extras else "")

    async def login() -> str:
        try:
            await login_once(client, settings.username, settings.password)
        except SMTPAuthenticationError as exc:
            said = " ".join(str(exc.message).split())[:120]
            raise login_refused(settings.host, settings.username, f"{exc.code} {said}") from None
        return f"logged in as {settings.username}; nothing was sent"

    # Only the name and the port are checked here: aiosmtplib opens its own connection.
    await reach(checks, "smtp", end, tls=False)
    try:
        await checks.steps(("smtp tls", tls), ("smtp ehlo", ehlo), ("smtp login", login))
    finally:
        try:
            if client.is_connected:
                with anyio.move_on_after(settings.pool.connect_timeout):
                    await client.quit()
        except (SMTPException, OSError):
            client.close()
    return checks.result()


async def _start_tls(client: SMTP, settings: SmtpSettings, end: Endpoint) -> None:
    """Connect with the configured TLS mode. Raises Failed."""
    starttls = settings.security == "starttls"
    try:
        with anyio.fail_after(settings.pool.connect_timeout):
            await client.connect()
    except TimeoutError:
        client.close()
        if starttls:
            raise Failed(
                f"{end.where} sent no greeting within {end.timeout:.0f} s",
                "This port probably expects TLS at once: set MAILBOX_SMTP_SECURITY=tls "
                "(the setting for port 465), or use port 587 with starttls.",
            ) from None
        raise Failed(
            f"the TLS handshake with {end.where} did not finish within {end.timeout:.0f} s",
            f"This port may not speak TLS at once. {WRONG_MODE_ADVICE}",
        ) from None
    except (SMTPException, OSError) as exc:
        client.close()
        if verification_failure(exc) is not None:
            raise tls_failure(exc, end) from None
        reason = " ".join(str(getattr(exc, "message", None) or exc).split())[:160].rstrip(".")
        if starttls and "starttls" in reason.lower():
            raise Failed(
                f"{end.where} does not offer STARTTLS ({reason})",
                "The password would cross the network unencrypted there, so it is not sent: "
                "use port 465 with MAILBOX_SMTP_SECURITY=tls.",
            ) from None
        tls_reason = _tls_reason(exc)
        if tls_reason is not None:
            raise Failed(
                f"{end.where} does not start TLS on this port ({tls_reason})",
                WRONG_MODE_ADVICE,
            ) from None
        raise Failed(
            f"could not open a mail session with {end.where} ({reason or type(exc).__name__})",
            f"Check {end.port_hint}.",
        ) from None


def _tls_reason(exc: BaseException) -> str | None:
    """The ssl library's reason ('wrong version number') when TLS itself failed."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return str(seen.reason or "TLS error").replace("_", " ").lower()
        seen = seen.__cause__ or seen.__context__
    return None


def _extension(client: SMTP, name: str) -> str:
    if name == "size":
        limit = client.esmtp_extensions.get("size", "").strip()
        if limit.isdigit() and int(limit) > 0:
            return f"messages up to {int(limit) / 1_000_000:.0f} MB"
    return name.upper()
