"""The invitations family: answering a calendar invitation that came by mail (iTIP over
iMIP, RFC 5546 and RFC 6047).

``respond_to_invitation`` spans three workers and is run by the supervisor: the IMAP
worker hands over the invitation's iCalendar text (``fetch_invitation``); the DAV
worker checks it against the user and the calendar copy and builds the REPLY
(``place_invitation`` with ``dry_run``); the reply goes out through the Outbox once
(``claim_invitation_reply`` marks the invitation mail, so no second call sends it
again); then the DAV worker places the event (``place_invitation``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from protocol.calendar import CALENDAR_WRITE, DAV
from protocol.contract import SUPERVISOR, Contract
from protocol.email import EmailIdText, reject_control_characters
from protocol.mail import IMAP, MESSAGES_WRITE
from protocol.when import parse_when

Response = Literal["accept", "decline", "tentative", "remove"]
PARTSTAT: dict[str, str] = {"accept": "ACCEPTED", "decline": "DECLINED", "tentative": "TENTATIVE"}


class RespondToInvitationArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    email_id: EmailIdText
    # The tool's description explains these (the listing's byte allowance is small).
    response: Response
    comment: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    occurrence: Annotated[str, msgspec.Meta(max_length=40)] | None = None

    def __post_init__(self) -> None:
        reject_control_characters(self.email_id, "The email id")
        if self.comment is not None:
            reject_control_characters(self.comment.replace("\n", " "), "The comment")
        if self.occurrence is not None:
            parse_when(self.occurrence, "occurrence")
            if self.response == "remove":
                raise ValueError(
                    "occurrence goes with accept, decline or tentative; a cancellation "
                    "says itself which occurrences it removes."
                )


class RespondToInvitationResult(msgspec.Struct, frozen=True):
    response: Response
    summary: str
    organizer: Annotated[str | None, msgspec.Meta(description="Who the reply went to.")]
    reply_sent: Annotated[bool, msgspec.Meta(description="A reply went out with this call.")]
    already_sent: Annotated[
        bool, msgspec.Meta(description="The same reply had gone out before; not sent again.")
    ] = False
    message_id: str | None = None
    saved_to_sent: bool = False
    calendar: Annotated[
        str | None, msgspec.Meta(description="The calendar the event is (or was) in.")
    ] = None
    calendar_change: Annotated[
        Literal["added", "updated", "removed", "unchanged", "refused", "unknown"],
        msgspec.Meta(description="What happened to the calendar copy."),
    ] = "unchanged"
    event_id: str | None = None
    notes: list[str] = []


# -- the IMAP worker's steps ------------------------------------------------------------


class FetchInvitationArgs(msgspec.Struct, frozen=True):
    id: str


class FetchedInvitation(msgspec.Struct, frozen=True):
    calendar: Annotated[str, msgspec.Meta(description="The first text/calendar part, decoded.")]
    message_id: str | None = None
    subject: str = ""


class ClaimReplyArgs(msgspec.Struct, frozen=True):
    """Mark the invitation mail as answered with ``key`` (one keyword per answer), unless
    a call did so before: of two claimants, exactly one wins."""

    id: str
    key: str


class ClaimedReply(msgspec.Struct, frozen=True):
    won: bool


class SettleReplyArgs(msgspec.Struct, frozen=True):
    """After sending: keep the mark and drop the marks of other answers (``sent``), or
    take the mark back (nothing was sent)."""

    id: str
    key: str
    sent: bool
    others: list[str] = []


class SettledReply(msgspec.Struct, frozen=True):
    done: bool


# -- the DAV worker's step --------------------------------------------------------------


class PlaceInvitationArgs(msgspec.Struct, frozen=True):
    calendar: str
    response: Response
    comment: str | None = None
    occurrence: str | None = None
    # True: check and build the reply, change nothing.
    dry_run: bool = True
    in_reply_to: str | None = None


class PlacedInvitation(msgspec.Struct, frozen=True):
    method: str
    summary: str
    uid: str
    sequence: int
    recurrence_id: str | None
    organizer: str | None
    attendee: str | None
    # The whole iMIP message (multipart/alternative with the REPLY), ready for SMTP;
    # None for a cancellation (nothing to send).
    reply_mail: bytes | None = None
    # What identifies this answer for the claim keyword.
    reply_key: str = ""
    other_keys: list[str] = []
    calendar_change: Literal["added", "updated", "removed", "unchanged", "refused", "unknown"] = (
        "unchanged"
    )
    calendar_name: str | None = None
    event_id: str | None = None
    server_schedules: bool = False
    notes: list[str] = []


FETCH_INVITATION = Contract("fetch_invitation", IMAP, FetchInvitationArgs, FetchedInvitation)
# The answer marks are keywords on the invitation mail: a write to a message, as mark_email.
CLAIM_INVITATION_REPLY = MESSAGES_WRITE("claim_invitation_reply", ClaimReplyArgs, ClaimedReply)
SETTLE_INVITATION_REPLY = MESSAGES_WRITE("settle_invitation_reply", SettleReplyArgs, SettledReply)
PLACE_INVITATION = Contract(
    "place_invitation",
    DAV,
    PlaceInvitationArgs,
    PlacedInvitation,
    writes_when=lambda args: not args.dry_run,
    changes=CALENDAR_WRITE.changes,
    retry=False,
)
RESPOND_TO_INVITATION = Contract(
    "respond_to_invitation",
    SUPERVISOR,
    RespondToInvitationArgs,
    RespondToInvitationResult,
    writes=True,
)

INVITATION_CONTRACTS: tuple[Contract[Any, Any], ...] = (
    FETCH_INVITATION,
    CLAIM_INVITATION_REPLY,
    SETTLE_INVITATION_REPLY,
    PLACE_INVITATION,
    RESPOND_TO_INVITATION,
)
