"""Sending, drafts and replies: the steps that span the IMAP and SMTP workers.

The order is what makes "never twice, never lost" true:
1. read what a reply or forward needs (a read: safe to retry);
2. hand the message to SMTP (never retried once DATA began; an unknown outcome
   says so and tells the user to check Sent);
3. only then save the exact sent bytes to Sent and mark the original answered —
   a failure there is reported beside the success, and nothing is resent.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
import structlog

from protocol import mail
from protocol.contract import Contract
from protocol.errors import (
    UNREACHED,
    AuthFailed,
    InvalidArgument,
    MailError,
    NotFound,
    RateLimited,
    ServerTimeout,
    Unavailable,
    WorkerCrashed,
)
from protocol.writing import (
    MAY_HAVE_BEEN_SENT,
    AppendArgs,
    ClaimDraftArgs,
    ComposeRequest,
    DraftResult,
    MarkEmailArgs,
    Original,
    OriginalArgs,
    SendDraftArgs,
    SendEmailArgs,
    SendEmailResult,
    SendOutcome,
    SendRawRequest,
    SettleDraftArgs,
)
from supervisor.worker_calls import WorkerCalls

log = structlog.get_logger()

R = TypeVar("R")


class Outbox:
    def __init__(
        self,
        calls: WorkerCalls,
        timeout: float,
        *,
        send_limit_per_hour: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._calls = calls
        self._timeout = timeout
        self._send_limit = send_limit_per_hour
        self._clock = clock
        self._sent_at: deque[float] = deque()

    def _check_hourly_limit(self) -> None:
        """Raises RateLimited when MAILBOX_SEND_LIMIT_PER_HOUR messages went out in the last hour:
        a model tricked into mailing everyone is stopped after a handful, not a thousand."""
        if not self._send_limit:
            return
        now = self._clock()
        while self._sent_at and now - self._sent_at[0] >= 3600:
            self._sent_at.popleft()
        if len(self._sent_at) >= self._send_limit:
            minutes = max(1, int((3600 - (now - self._sent_at[0])) // 60) + 1)
            raise RateLimited(
                f"Nothing was sent: {_messages(len(self._sent_at))} went out in the last hour, "
                f"the limit set by MAILBOX_SEND_LIMIT_PER_HOUR. The next can go in about {minutes} "
                "minutes; ask the user before sending more."
            )

    async def send_email(self, args: SendEmailArgs) -> SendEmailResult:
        if not (args.to or args.cc or args.bcc or args.reply_to_id):
            # Checked here, before any worker: a wrong call costs no rate-limit token.
            raise InvalidArgument(
                "Nothing was sent: say who the message is for; give at least one address in "
                "to, cc or bcc."
            )
        request = ComposeRequest(args, await self._original_for(args))
        outcome = await self._send(mail.SEND_MESSAGE, request)
        notes: list[str] = []
        sent_id, saved = await self._save_to_sent(outcome, notes)
        if args.reply_to_id is not None:
            await self._mark_answered(args.reply_to_id, notes)
        return _result(outcome, saved, sent_id, notes)

    async def create_draft(self, args: SendEmailArgs) -> DraftResult:
        composed = await self._run(
            mail.COMPOSE_MESSAGE, ComposeRequest(args, await self._original_for(args))
        )
        appended = await self._run(
            mail.APPEND_MESSAGE,
            AppendArgs("drafts", composed.raw, ["\\Draft", "\\Seen"]),
            follow_up=False,
        )
        return DraftResult(id=appended.id, message_id=composed.message_id, folder=appended.folder)

    async def send_draft(self, args: SendDraftArgs) -> SendEmailResult:
        """Claim the draft (only one caller wins it), send it, then remove it.

        A draft that was not sent is given back; one that may have been sent keeps
        its claim, so that no later call sends it again.
        """
        self._check_hourly_limit()
        claimed = await self._run(mail.CLAIM_DRAFT, ClaimDraftArgs(args.id), follow_up=False)
        try:
            outcome = await self._send(mail.SEND_RAW, SendRawRequest(claimed.raw))
        except MailError as exc:
            if not exc.may_have_happened:
                await self._settle_draft(args.id, sent=False)
            raise
        notes: list[str] = []
        sent_id, saved = await self._save_to_sent(outcome, notes)
        if not await self._settle_draft(args.id, sent=True):
            notes.append(
                "The draft could not be removed from Drafts; it is marked as sent there, so "
                "send_draft will not send it again. Delete it in a mail app."
            )
        return _result(outcome, saved, sent_id, notes)

    # -- for the tools of other families that send (respond_to_invitation) ----------------

    def serves(self, worker: str) -> bool:
        """Whether ``worker`` runs in this session (its tool families are on)."""
        return self._calls.serves(worker)

    async def step(
        self, contract: Contract[Any, R], args: msgspec.Struct, *, follow_up: bool = True
    ) -> R:
        """One step of a composite tool, as the Outbox runs its own."""
        return await self._run(contract, args, follow_up=follow_up)

    async def send_composed(self, raw: bytes) -> SendEmailResult:
        """Send a message composed elsewhere (an iMIP reply) under every send rule: the
        hourly limit, MAILBOX_SEND_ALLOW (the SMTP worker), never retried once DATA began,
        and a copy in Sent. Sending it once is the caller's claim to keep."""
        outcome = await self._send(mail.SEND_RAW, SendRawRequest(raw))
        notes: list[str] = []
        sent_id, saved = await self._save_to_sent(outcome, notes)
        return _result(outcome, saved, sent_id, notes)

    # -- steps ---------------------------------------------------------------------------

    async def _original_for(self, args: SendEmailArgs) -> Original | None:
        """What a reply or forward is built from (the whole message for a forward)."""
        source = args.reply_to_id or args.forward_id
        if source is None:
            return None
        whole = args.forward_id is not None and not args.forward_inline
        return await self._run(mail.FETCH_ORIGINAL, OriginalArgs(source, raw=whole))

    async def _send(
        self, contract: Contract[Any, SendOutcome], request: msgspec.Struct
    ) -> SendOutcome:
        self._check_hourly_limit()
        # The slot is booked before sending, so that parallel sends cannot pass the limit
        # together, and given back when nothing reached the server's DATA phase.
        stamp = self._clock()
        self._sent_at.append(stamp)
        try:
            outcome = await self._run(contract, request, follow_up=False)
        except (WorkerCrashed, ServerTimeout) as exc:
            # The worker died or went silent after the request left: it may have sent.
            log.warning("outbox.outcome_unknown", error=exc.message)
            raise Unavailable(MAY_HAVE_BEEN_SENT, may_have_happened=True) from None
        except MailError as exc:
            if not exc.may_have_happened and stamp in self._sent_at:
                self._sent_at.remove(stamp)
            raise
        log.info("outbox.sent", message_id=outcome.message_id, accepted=len(outcome.accepted))
        return outcome

    async def _save_to_sent(
        self, outcome: SendOutcome, notes: list[str]
    ) -> tuple[str | None, bool]:
        try:
            appended = await self._run(
                mail.APPEND_MESSAGE, AppendArgs("sent", outcome.raw, ["\\Seen"])
            )
        except MailError as exc:
            notes.append(
                f"The message was sent, but its copy could not be saved to Sent because "
                f"{_imap_trouble(exc)}. Do not send it again."
            )
            return None, False
        return appended.id, True

    async def _settle_draft(self, draft_id: str, *, sent: bool) -> bool:
        try:
            await self._run(mail.SETTLE_DRAFT, SettleDraftArgs(draft_id, sent))
        except MailError as exc:
            log.warning("outbox.draft_not_settled", sent=sent, error=exc.message)
            return False
        return True

    async def _mark_answered(self, email_id: str, notes: list[str]) -> None:
        try:
            await self._run(mail.MARK_EMAIL, MarkEmailArgs([email_id], answered=True))
        except MailError as exc:
            notes.append(
                f"The original could not be marked as answered because {_imap_trouble(exc)}."
            )

    async def _run(
        self, contract: Contract[Any, R], args: msgspec.Struct, *, follow_up: bool = True
    ) -> R:
        """One step. A ``follow_up`` (the default: every write after sending) is not held
        back by the rate limit (see WorkerHandle.call); the first write of a call is."""
        answer = await self._calls.run(
            contract, args, timeout=self._timeout, follow_up=follow_up and contract.writes
        )
        return answer.value


def _imap_trouble(exc: MailError) -> str:
    """Why a step after sending failed, as a clause: the error's own sentence would say
    'Nothing was changed', which is not true of a message that went out."""
    if isinstance(exc, UNREACHED):
        return "the IMAP server could not be reached"
    if isinstance(exc, AuthFailed):
        return "the IMAP server refused the login"
    if isinstance(exc, NotFound):
        return exc.message[:1].lower() + exc.message[1:].rstrip(".")
    return "the IMAP server refused it"


def _messages(count: int) -> str:
    return "1 message" if count == 1 else f"{count} messages"


def _result(
    outcome: SendOutcome, saved: bool, sent_id: str | None, notes: list[str]
) -> SendEmailResult:
    return SendEmailResult(
        message_id=outcome.message_id,
        accepted=outcome.accepted,
        refused=outcome.refused,
        saved_to_sent=saved,
        sent_id=sent_id,
        notes=notes,
    )
