"""respond_to_invitation as the model sees it, and the steps the supervisor runs for it.

The order makes "sent once, calendar right" true:
1. the IMAP worker hands over the invitation's iCalendar text (a read);
2. the DAV worker checks it (the user is invited, not its organizer; the response fits
   the method; the occurrence exists; the calendar copy is not newer) and builds the
   REPLY, changing nothing: a wrong call stops here with nothing sent or changed;
3. the invitation mail is marked with this answer (one conditional STORE: of two calls
   one wins); the winner sends the REPLY through the Outbox (hourly limit, allowlist,
   Sent copy), the loser answers that it went out already; a reply not sent gives the
   mark back;
4. the DAV worker places the event (or takes a cancelled one out); a refusal there
   (OX's 403) is reported beside the reply that went out.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio
import msgspec

from protocol import errors
from protocol import invitations as api
from protocol.calendar import DAV, GET_CALENDAR_EVENTS, GetCalendarEventsArgs
from protocol.email import Email, Invitation
from supervisor.outbox import Outbox
from supervisor.rendering import clip, fence, moment_text, plain
from supervisor.tool_spec import ToolSpec
from supervisor.worker_calls import WorkerCalls

if TYPE_CHECKING:
    from supervisor.config import Settings

MAX_CONFLICTS = 5
# get_email waits at most this long for the calendar: a slow calendar must not hold up
# reading mail (then the conflicts are not mentioned).
CONFLICT_CHECK_SECONDS = 10.0

CALENDAR_UNREACHED = (
    "The calendar server could not be reached, so your answer is not in the calendar yet; "
    "call respond_to_invitation again later with the same answer to add it (the reply is "
    "not sent twice)."
)
PLAN_UNREACHED = (
    "The calendar server could not be reached to check the invitation against your "
    "calendar, so nothing was sent or changed; try again later."
)
SEND_UNCONFIRMED = (
    "The mail server did not confirm the reply to {organizer}, so it may or may not have been "
    "sent, and the calendar was not changed; call respond_to_invitation again with the same "
    "answer to put it in the calendar (the reply is not sent a second time)."
)
CALENDAR_REFUSED = (
    "The calendar server did not accept the event as changed here, so your answer is not in "
    "the calendar; set it in the web interface or your calendar app."
)
CALENDAR_UNCONFIRMED = (
    "The calendar server did not confirm the change, so it may or may not show your answer; "
    "look with get_calendar_events before answering again."
)
MAIL_NEEDED = (
    "respond_to_invitation needs the mail tools too, which this server was started without: "
    "add mail to MAILBOX_TOOLS. Nothing was sent or changed."
)


async def respond_to_invitation(
    outbox: Outbox, args: api.RespondToInvitationArgs
) -> api.RespondToInvitationResult:
    if not (outbox.serves("imap") and outbox.serves("smtp")):
        raise errors.Refused(MAIL_NEEDED)
    fetched = await outbox.step(api.FETCH_INVITATION, api.FetchInvitationArgs(args.email_id))
    plan_args = api.PlaceInvitationArgs(
        calendar=fetched.calendar,
        response=args.response,
        comment=args.comment,
        occurrence=args.occurrence,
        dry_run=True,
        in_reply_to=fetched.message_id,
    )
    try:
        plan = await outbox.step(api.PLACE_INVITATION, plan_args)
    except (errors.Unavailable, errors.ServerTimeout, errors.ProtocolViolation):
        # In our words: the DAV worker's sentence may quote its HTTP library.
        raise errors.Unavailable(PLAN_UNREACHED) from None
    async with _answering(plan.uid):
        return await _answer(outbox, args, plan_args, plan)


_LOCKS: dict[str, tuple[anyio.Lock, int]] = {}


@contextlib.asynccontextmanager
async def _answering(uid: str) -> AsyncIterator[None]:
    """One answer to one event at a time: accept and decline sent at once would otherwise
    each send and each place, and the calendar could keep the one the organizer got
    first. In turn, the calendar shows the answer the organizer got last."""
    lock, users = _LOCKS.get(uid, (anyio.Lock(), 0))
    _LOCKS[uid] = (lock, users + 1)
    try:
        async with lock:
            yield
    finally:
        lock, users = _LOCKS[uid]
        if users <= 1:
            del _LOCKS[uid]
        else:
            _LOCKS[uid] = (lock, users - 1)


async def _answer(
    outbox: Outbox,
    args: api.RespondToInvitationArgs,
    plan_args: api.PlaceInvitationArgs,
    plan: api.PlacedInvitation,
) -> api.RespondToInvitationResult:
    notes = list(plan.notes)
    reply_sent = already = saved = False
    message_id = None
    if plan.reply_mail is not None:
        claimed = await outbox.step(
            api.CLAIM_INVITATION_REPLY,
            api.ClaimReplyArgs(args.email_id, plan.reply_key),
            follow_up=False,
        )
        if claimed.won:
            try:
                sent = await outbox.send_composed(plan.reply_mail)
            except errors.MailError as exc:
                if not exc.may_have_happened:
                    await _settle(outbox, args.email_id, plan, sent=False)
                    raise
                # The mark stays (a second call must not send again); say what that means.
                raise type(exc)(
                    SEND_UNCONFIRMED.format(organizer=plan.organizer), may_have_happened=True
                ) from None
            reply_sent, saved, message_id = True, sent.saved_to_sent, sent.message_id
            notes += sent.notes
            await _settle(outbox, args.email_id, plan, sent=True)
        else:
            already = True
    if plan.server_schedules:
        notes.append(
            "The calendar server schedules itself (CalDAV scheduling); the copy is marked so "
            "that it does not mail the organizer a second reply."
        )
    placed = await _place(outbox, plan_args, plan, notes)
    return api.RespondToInvitationResult(
        response=args.response,
        summary=plan.summary,
        organizer=plan.organizer,
        reply_sent=reply_sent,
        already_sent=already,
        message_id=message_id,
        saved_to_sent=saved,
        calendar=placed.calendar_name if placed else plan.calendar_name,
        calendar_change=placed.calendar_change if placed else "unchanged",
        event_id=placed.event_id if placed else None,
        notes=[*notes, *(placed.notes if placed else [])],
    )


async def _settle(outbox: Outbox, email_id: str, plan: api.PlacedInvitation, *, sent: bool) -> None:
    # On failure the mark stays: at worst a later identical call is told it went out.
    with contextlib.suppress(errors.MailError):
        await outbox.step(
            api.SETTLE_INVITATION_REPLY,
            api.SettleReplyArgs(email_id, plan.reply_key, sent, plan.other_keys),
        )


async def _place(
    outbox: Outbox,
    plan_args: api.PlaceInvitationArgs,
    plan: api.PlacedInvitation,
    notes: list[str],
) -> api.PlacedInvitation | None:
    """Place the event; a parallel call that placed it first is read again, once. None:
    the calendar was not changed (a note says why)."""
    args = msgspec.structs.replace(plan_args, dry_run=False)
    for attempt in (1, 2):
        try:
            return await outbox.step(api.PLACE_INVITATION, args)
        except errors.Conflict:
            if attempt == 2:
                notes.append(
                    "The event changed in the calendar while it was being updated; look at it "
                    "with get_calendar_events."
                )
        except (
            errors.Refused,
            errors.NotFound,
            errors.InvalidArgument,
        ) as exc:  # the DAV step's own sentences
            notes.append(exc.message)
            return None
        except errors.MailError as exc:
            # The server's trouble in our words: its message may quote a library.
            if exc.may_have_happened:
                notes.append(CALENDAR_UNCONFIRMED)
                return msgspec.structs.replace(
                    plan, calendar_change="unknown", event_id=None, notes=[]
                )
            unreached = isinstance(exc, errors.UNREACHED)
            notes.append(CALENDAR_UNREACHED if unreached else CALENDAR_REFUSED)
            return None
    return None


async def with_conflicts(
    calls: WorkerCalls, settings: Settings, _args: Any, result: Email
) -> Email:
    """get_email's invitations with the events already in the calendar at their time,
    when the calendar tools are on; unchanged otherwise (then nothing is said)."""
    if not result.invitations or "calendar" not in settings.tool_families or not calls.serves(DAV):
        return result
    checked = [await _conflicts_of(calls, settings, i) for i in result.invitations]
    return msgspec.structs.replace(result, invitations=checked)


async def _conflicts_of(
    calls: WorkerCalls, settings: Settings, invitation: Invitation
) -> Invitation:
    if invitation.method != "REQUEST" or not invitation.start:
        return invitation
    start, end = _bounds(invitation.start, invitation.end)
    if start is None or end is None:
        return invitation
    try:
        answer = await calls.run(
            GET_CALENDAR_EVENTS,
            GetCalendarEventsArgs(start=start, end=end, limit=50),
            timeout=min(settings.call_timeout, CONFLICT_CHECK_SECONDS),
        )
    except (errors.MailError, ValueError, msgspec.ValidationError):
        return invitation  # not checked: say nothing rather than "no conflicts"
    timed = "T" in invitation.start
    found = [
        f"{e.summary} ({moment_text(e.start)} to {moment_text(e.end)})"
        for e in answer.value.events
        if e.uid != invitation.uid
        and (e.status or "").upper() != "CANCELLED"
        and (e.all_day != timed)  # a holiday does not clash with a meeting that day
        and (not timed or _overlaps(e.start, e.end, invitation.start, invitation.end))
    ]
    return msgspec.structs.replace(invitation, conflicts=found[:MAX_CONFLICTS])


def _bounds(start: str, end: str | None) -> tuple[str | None, str | None]:
    """The range get_calendar_events is asked for: an all-day invitation's last day is
    the day before its DTEND (get_calendar_events reads an end date as a whole day)."""
    if "T" in start:
        return start, end or start
    try:
        last = date.fromisoformat(end) - timedelta(days=1) if end else date.fromisoformat(start)
    except ValueError:
        return None, None
    return start, max(last, date.fromisoformat(start)).isoformat()


def _overlaps(start: str, end: str, first: str, last: str | None) -> bool:
    try:
        a, b = datetime.fromisoformat(start), datetime.fromisoformat(end)
        c = datetime.fromisoformat(first)
        d = datetime.fromisoformat(last) if last else c
        return a < d and c < b if d > c else a <= c < b
    except (ValueError, TypeError):  # a naive time beside an aware one: count it
        return True


def render_response(result: api.RespondToInvitationResult) -> str:
    """One short paragraph: what was sent to whom, what changed in the calendar; then
    the event's title, which its organizer wrote, in a fence."""
    organizer = plain(clip(result.organizer or "the organizer", 200))
    if result.response == "remove":
        sent = ""
    elif result.reply_sent:
        word = {"accept": "acceptance", "decline": "decline", "tentative": "tentative answer"}
        saved = " (a copy is in Sent)" if result.saved_to_sent else ""
        sent = f"Your {word[result.response]} was sent to {organizer}{saved}. "
    elif result.already_sent:
        sent = (
            f"This answer has already gone to {organizer} (or is going, from a call made at "
            "the same moment); it was not sent again. "
        )
    else:
        sent = "No reply was sent. "
    where = plain(result.calendar or "the calendar")
    change = {
        "added": f"The event was added to {where} with your answer.",
        "updated": f"The event in {where} now shows your answer.",
        "removed": f"The event was taken out of {where}.",
        "unchanged": "The calendar was not changed.",
        "refused": "The calendar was not changed.",
        "unknown": "",
    }[result.calendar_change]
    notes = " ".join(plain(n) for n in result.notes)
    paragraph = " ".join(p for p in (sent.strip(), change, notes) if p)
    who = clip(result.organizer or "the organizer", 200)
    return paragraph + "\n" + fence(who, f"Title: {clip(result.summary, 300)}")


INVITATION_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        contract=api.RESPOND_TO_INVITATION,
        title="Answer an invitation",
        description=(
            "Answer the invitation in email 'email_id' (get_email shows it). 'response' "
            "accept, decline or tentative mails the organizer a reply (with 'comment') and "
            "puts the event in the calendar; 'remove' takes a cancelled one out. 'occurrence': "
            "the original date of one occurrence of a repeating one. Sends once."
        ),
        render=render_response,
        family="calendar",
        also_needs=("mail",),
        destructive=False,
        idempotent=True,
        composite=respond_to_invitation,
    ),
)
