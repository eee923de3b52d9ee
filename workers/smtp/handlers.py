"""The SMTP worker's tools: compose, and send exactly once.

Before DATA (connect, login, MAIL FROM, RCPT TO) nothing has been sent, so a
broken connection is retried once on a fresh one. Once DATA has begun the
message may have been delivered: it is never retried, and the error says so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

import anyio
import structlog
from aiosmtplib import (
    SMTPException,
    SMTPRecipientRefused,
    SMTPResponseException,
    SMTPSenderRefused,
    SMTPServerDisconnected,
    SMTPTimeoutError,
)

from protocol import mail
from protocol.errors import InvalidArgument, MailError, Refused, ServerTimeout, Unavailable
from protocol.settings import SmtpSettings
from protocol.writing import (
    MAY_HAVE_BEEN_SENT,
    Composed,
    ComposeRequest,
    Refusal,
    SendOutcome,
    SendRawRequest,
    outside_allowed,
)
from workers.runtime import CallContext, serves
from workers.smtp.compose import (
    compose,
    draft_envelope,
    envelope,
    sender_address,
    without_bcc,
)
from workers.smtp.connect import open_smtp
from workers.smtp.pool import SmtpPool

log = structlog.get_logger()

SEND_ATTEMPTS = 2  # before DATA only


@dataclass
class SmtpState:
    settings: SmtpSettings
    pool: SmtpPool


@asynccontextmanager
async def open_smtp_state(settings: SmtpSettings) -> AsyncIterator[SmtpState]:
    pool = SmtpPool(lambda: open_smtp(settings), settings.pool)
    try:
        yield SmtpState(settings, pool)
    finally:
        with anyio.CancelScope(shield=True):
            await pool.aclose()


@serves(mail.COMPOSE_MESSAGE)
async def compose_message(request: ComposeRequest, state: SmtpState, ctx: CallContext) -> Composed:
    msg = compose(request, state.settings)
    return Composed(message_id=str(msg["Message-ID"]), raw=msg.as_bytes())


@serves(mail.SEND_MESSAGE)
async def send_message(request: ComposeRequest, state: SmtpState, ctx: CallContext) -> SendOutcome:
    msg = compose(request, state.settings)
    recipients = envelope(msg)
    if not recipients:
        raise InvalidArgument(
            "Say who the message is for: give at least one address in to, cc or bcc."
        )
    raw = without_bcc(msg.as_bytes())
    return await _deliver(state, ctx, str(msg["Message-ID"]), raw, recipients)


@serves(mail.SEND_RAW)
async def send_raw(request: SendRawRequest, state: SmtpState, ctx: CallContext) -> SendOutcome:
    headers = BytesHeaderParser(policy=compat32).parsebytes(request.raw)
    recipients = draft_envelope(request.raw)
    if not recipients:
        raise InvalidArgument("The draft has no recipients; add them to the draft first.")
    message_id = " ".join(str(headers.get("Message-ID", "")).split())
    return await _deliver(state, ctx, message_id, without_bcc(request.raw), recipients)


def check_allowed(recipients: list[str], allow: list[str]) -> None:
    """Raises Refused, before anything is sent, if a recipient is outside MAILBOX_SEND_ALLOW."""
    outside = outside_allowed(recipients, allow)
    if outside:
        raise Refused(
            f"Nothing was sent: {', '.join(outside)} "
            f"{'is' if len(outside) == 1 else 'are'} not among the recipients this server may "
            "send to (MAILBOX_SEND_ALLOW). Ask the user to send it themselves or to allow them."
        )


async def _deliver(
    state: SmtpState, ctx: CallContext, message_id: str, raw: bytes, recipients: list[str]
) -> SendOutcome:
    check_allowed(recipients, state.settings.send_allow)
    sender = sender_address(state.settings)
    for attempt in range(1, SEND_ATTEMPTS + 1):
        data_started = False
        try:
            with anyio.fail_after(max(1.0, ctx.remaining())):
                async with state.pool.connection() as smtp:
                    try:
                        await smtp.mail(sender)
                    except SMTPSenderRefused as exc:
                        raise Refused(
                            f"The mail server refused {sender} as sender: {_text(exc)}."
                        ) from None
                    accepted, refused = [], []
                    for address in recipients:
                        try:
                            await smtp.rcpt(address)
                            accepted.append(address)
                        except SMTPRecipientRefused as exc:
                            refused.append(Refusal(address, f"{exc.code} {_text(exc)}"))
                    if not accepted:
                        await smtp.rset()
                        reasons = "; ".join(f"{r.address}: {r.reason}" for r in refused)
                        raise Refused(
                            f"The mail server refused every recipient ({reasons}); nothing was sent."
                        )
                    data_started = True
                    log.info("smtp.data", message_id=message_id, recipients=len(accepted))
                    try:
                        await smtp.data(raw)
                    except SMTPResponseException as exc:
                        if isinstance(exc, SMTPServerDisconnected):
                            raise
                        # A reply to the end of DATA: the server decided, and said no.
                        raise Refused(
                            f"The mail server refused the message: {_text(exc)}."
                        ) from None
            return SendOutcome(message_id, accepted, refused, raw)
        except MailError as exc:
            # Connecting or logging in failed: nothing was sent; one fresh try if it may help.
            if exc.retryable and not data_started and attempt < SEND_ATTEMPTS:
                log.info("smtp.retry_before_data", attempt=attempt, error=exc.message)
                continue
            raise
        except (
            SMTPServerDisconnected,
            SMTPTimeoutError,
            SMTPException,
            OSError,
            TimeoutError,
        ) as exc:
            if data_started:
                log.warning("smtp.outcome_unknown", message_id=message_id, error=type(exc).__name__)
                raise Unavailable(MAY_HAVE_BEEN_SENT, may_have_happened=True) from None
            if attempt == SEND_ATTEMPTS:
                if isinstance(exc, TimeoutError | SMTPTimeoutError):
                    raise ServerTimeout(
                        "The mail server did not answer in time; nothing was sent. Try again later."
                    ) from None
                raise Unavailable(
                    f"The mail server dropped the connection before the message was sent "
                    f"({type(exc).__name__}); nothing was sent. Try again."
                ) from None
            log.info("smtp.retry_before_data", attempt=attempt, error=type(exc).__name__)
    raise AssertionError("unreachable")


def _text(exc: SMTPException) -> str:
    return " ".join(str(getattr(exc, "message", exc)).split())[:300]
