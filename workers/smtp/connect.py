"""Opening one SMTP connection: implicit TLS or required STARTTLS, then AUTH."""

from __future__ import annotations

import anyio
from aiosmtplib import (
    SMTP,
    SMTPAuthenticationError,
    SMTPConnectError,
    SMTPException,
    SMTPServerDisconnected,
    SMTPTimeoutError,
)

from protocol.errors import AuthFailed, ProtocolViolation, ServerTimeout, Unavailable
from protocol.settings import SmtpSettings
from workers.tls import certificate_problem, client_tls_context


def new_client(settings: SmtpSettings, timeout: float) -> SMTP:
    """A client, not yet connected, that insists on the configured TLS mode."""
    # aiosmtplib's default start_tls=None means "STARTTLS if offered": strippable.
    # Say exactly which one we require.
    return SMTP(
        hostname=settings.host,
        port=settings.port,
        use_tls=settings.security == "tls",
        start_tls=settings.security == "starttls",
        tls_context=client_tls_context(settings.ca_file),
        timeout=timeout,
    )


async def open_smtp(settings: SmtpSettings) -> SMTP:
    """A connected, authenticated client. Raises a MailError with a sentence for the user."""
    where = f"{settings.host}:{settings.port}"
    client = new_client(settings, settings.pool.read_timeout)
    try:
        with anyio.fail_after(settings.pool.connect_timeout):
            await client.connect()
    except TimeoutError:
        client.close()
        raise ServerTimeout(
            f"The mail server {where} did not answer within {settings.pool.connect_timeout:.0f} s; "
            "check MAILBOX_SMTP_HOST/PORT and your connection."
        ) from None
    except (SMTPConnectError, SMTPServerDisconnected, SMTPTimeoutError, OSError) as exc:
        client.close()
        problem = certificate_problem(exc, where, "MAILBOX_SMTP_HOST")
        raise Unavailable(
            problem
            or f"Could not connect to the mail server {where} ({_reason(exc)}); check "
            "MAILBOX_SMTP_HOST, MAILBOX_SMTP_PORT and MAILBOX_SMTP_SECURITY."
        ) from None
    except SMTPException as exc:  # e.g. STARTTLS required but not offered
        client.close()
        problem = certificate_problem(exc, where, "MAILBOX_SMTP_HOST")
        if problem is not None:
            raise Unavailable(problem) from None
        raise ProtocolViolation(
            f"The mail server {where} cannot be used securely: {_reason(exc)}. Check "
            "MAILBOX_SMTP_SECURITY (tls for port 465, starttls for 587)."
        ) from None
    try:
        await login_once(client, settings.username, settings.password)
    except SMTPAuthenticationError:
        client.close()
        raise AuthFailed(
            f"The mail server {where} refused the login for {settings.username}; check the app "
            "password (MAILBOX_PASSWORD or MAILBOX_PASSWORD_COMMAND)."
        ) from None
    except (SMTPException, OSError) as exc:
        client.close()
        raise Unavailable(
            f"Logging in to the mail server {where} failed ({_reason(exc)})."
        ) from None
    return client


# In the order we prefer them; all are sent inside TLS.
_AUTH_METHODS = ("plain", "login", "cram-md5")


async def login_once(client: SMTP, username: str, password: str) -> None:
    """One AUTH exchange with one method.

    aiosmtplib's ``login()`` tries every method the server offers until one
    works, so a wrong password became two or three refused logins per connection
    (PLAIN, then LOGIN): exactly what gets an account locked.
    Raises SMTPAuthenticationError or SMTPException.
    """
    if client.last_ehlo_response is None:
        await client.ehlo()
    offered = set(client.supported_auth_methods)
    for method in _AUTH_METHODS:
        if method in offered:
            await getattr(client, "auth_" + method.replace("-", ""))(username, password)
            return
    raise SMTPException("the server offers no login method we support (PLAIN, LOGIN, CRAM-MD5)")


_CONNECT_PROBLEMS = (
    (("errno 111", "refused"), "nothing accepted the connection on that port"),
    (
        ("errno -2", "errno -3", "name or service not known", "nodename nor servname"),
        "the host name could not be resolved",
    ),
    (("errno 113", "errno 101", "unreachable"), "the network cannot reach it"),
    (("timed out", "timeout"), "it did not answer in time"),
    (("disconnect", "closed", "reset"), "it closed the connection"),
)


def _reason(exc: BaseException) -> str:
    """Why connecting or logging in failed, in our words: aiosmtplib's own text names the
    library's call and the OS error number ("Error connecting to … [Errno 111] …")."""
    text = " ".join(str(getattr(exc, "message", None) or exc).split()).lower()
    for needles, reason in _CONNECT_PROBLEMS:
        if any(needle in text for needle in needles):
            return reason
    if isinstance(exc, SMTPException) and not isinstance(exc, SMTPConnectError):
        # Our own sentences (no login method) and the server's refusals.
        return " ".join(str(getattr(exc, "message", exc)).split())[:200].rstrip(".")
    return "the connection failed"
