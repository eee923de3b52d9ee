"""The SMTP part of ``--diagnose``: connect with TLS, log in, never send."""

from __future__ import annotations

import time
from typing import Any

import anyio
from aiosmtplib import SMTPAuthenticationError, SMTPException

from protocol.diagnosis import Check, DiagnoseArgs, DiagnoseResult
from protocol.settings import SmtpSettings
from workers.runtime import CallContext
from workers.smtp.connect import login_once, new_client


async def diagnose(args: DiagnoseArgs, state: Any, ctx: CallContext) -> DiagnoseResult:
    settings: SmtpSettings = state.settings
    where = f"{settings.host}:{settings.port}"
    client = new_client(settings, settings.pool.connect_timeout)
    checks: list[Check] = []
    start = time.perf_counter()
    try:
        with anyio.fail_after(settings.pool.connect_timeout):
            await client.connect()
    except (SMTPException, OSError, TimeoutError) as exc:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        checks.append(
            Check(
                "smtp tls",
                False,
                f"could not reach {where} securely ({reason}); check MAILBOX_SMTP_HOST, "
                "MAILBOX_SMTP_PORT and MAILBOX_SMTP_SECURITY (tls for 465, starttls for 587)",
                time.perf_counter() - start,
            )
        )
        return DiagnoseResult(checks)
    mode = "implicit TLS" if settings.security == "tls" else "STARTTLS"
    checks.append(Check("smtp tls", True, f"{where} over {mode}", time.perf_counter() - start))
    start = time.perf_counter()
    try:
        await login_once(client, settings.username, settings.password)
        checks.append(
            Check(
                "smtp login", True, f"logged in as {settings.username}", time.perf_counter() - start
            )
        )
    except SMTPAuthenticationError:
        checks.append(
            Check(
                "smtp login",
                False,
                f"{where} refused the login for {settings.username}; check the app password",
                time.perf_counter() - start,
            )
        )
    except (SMTPException, OSError) as exc:
        checks.append(
            Check(
                "smtp login",
                False,
                f"login failed: {type(exc).__name__}",
                time.perf_counter() - start,
            )
        )
    finally:
        try:
            await client.quit()
        except (SMTPException, OSError):
            client.close()
    return DiagnoseResult(checks)
