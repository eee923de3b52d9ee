"""Arguments and results of the email writing tools, and the worker requests behind them."""

from __future__ import annotations

import re
from email.utils import getaddresses
from typing import Annotated, Literal

import msgspec

from protocol.email import EmailIdText, reject_control_characters

MAX_RECIPIENTS = 100
MAY_HAVE_BEEN_SENT = (
    "The connection to the mail server broke while the message was being handed over, so it "
    "may have been sent. It was not copied to the Sent folder, because that is done only for "
    "mail known to be sent: ask a recipient whether it arrived before sending it again."
)
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"^(?:{_LABEL}\.)*{_LABEL}\.?\Z|^\[[0-9A-Fa-f:.]+\]\Z")
_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\Z")

AddressText = Annotated[str, msgspec.Meta(min_length=3, max_length=500)]
Addresses = Annotated[list[AddressText], msgspec.Meta(max_length=MAX_RECIPIENTS)]


def check_address(value: str, field: str) -> None:
    """Raises ValueError with a sentence when ``value`` is not exactly one address."""
    reject_control_characters(value, f"Addresses in {field}")
    pairs = getaddresses([value])
    # A "<" left in the name means the text held more than one way to read it
    # ('eve@evil.example( <anna@example.org>' is eve to the parser, anna to a person).
    if len(pairs) != 1 or not _ADDRESS.match(pairs[0][1]) or any(c in pairs[0][0] for c in "<>"):
        raise ValueError(
            f"'{value}' in {field} is not one email address; write it as "
            "'name@example.org' or 'Name <name@example.org>', one per list item."
        )
    check_sendable(pairs[0][1], field)


def bare_name(value: str) -> str | None:
    """The name in ``value`` when it names a person and gives no address at all
    ('Sarita', 'Ghosh, Sarita', '"Sarita Ghosh"'); None for anything else."""
    if "@" in value or "<" in value or ">" in value:
        return None
    name = value.strip().strip('"').strip()
    return name if any(c.isalpha() for c in name) else None


def outside_allowed(recipients: list[str], allow: list[str] | tuple[str, ...]) -> list[str]:
    """The recipients MAILBOX_SEND_ALLOW (addresses or domains, lower case) does not cover;
    none when it is empty (everyone is allowed)."""
    if not allow:
        return []
    return [
        address
        for address in recipients
        if address.lower() not in allow and address.lower().rpartition("@")[2] not in allow
    ]


def check_sendable(address: str, field: str) -> None:
    """Raises ValueError for an address SMTP cannot carry: letters outside ASCII before
    the @ (that needs SMTPUTF8, which we do not use), or a domain with no IDNA form."""
    local, _, domain = address.rpartition("@")
    if not local.isascii():
        raise ValueError(
            f"'{address}' in {field} has letters outside ASCII before the @, which this server "
            "cannot send to; ask for another address of that person. Nothing was sent."
        )
    try:
        ascii_form = domain.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_form = ""
    if not _DOMAIN.match(ascii_form):
        raise ValueError(
            f"The domain of '{address}' in {field} is not a domain name mail can be sent to; "
            "check the address. Nothing was sent."
        )


class SendEmailArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    # send_email's description explains these arguments; create_draft shares them.
    to: Annotated[
        Addresses,
        msgspec.Meta(description="Each 'anna@example.org' or 'Anna Berg <anna@example.org>'."),
    ] = []
    subject: Annotated[
        Annotated[str, msgspec.Meta(max_length=1000)] | None,
        msgspec.Meta(description="For a reply or forward, default Re:/Fwd: and the original's."),
    ] = None
    body: Annotated[str, msgspec.Meta(max_length=1_000_000, description="Plain text.")] = ""
    cc: Addresses = []
    bcc: Addresses = []
    html_body: Annotated[str, msgspec.Meta(max_length=2_000_000)] | None = None
    attachments: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]],
        msgspec.Meta(max_length=50, description="Paths inside MAILBOX_ATTACHMENT_DIR."),
    ] = []
    reply_to_id: EmailIdText | None = None
    reply_all: bool = False
    quote: bool = True
    forward_id: EmailIdText | None = None
    forward_inline: bool = False

    def __post_init__(self) -> None:
        for field, value in self._recipients():
            # A name alone passes here so that the supervisor can answer it with the
            # contacts it may mean (supervisor/recipient_hints.py); ComposeRequest refuses
            # one, so a name without an address never reaches a message.
            if bare_name(value) is None:
                check_address(value, field)
            else:
                reject_control_characters(value, f"Addresses in {field}")
        if self.subject is not None:
            reject_control_characters(self.subject, "The subject")
        for path in self.attachments:
            reject_control_characters(path, "Attachment paths")
        for what, given in (("reply_to_id", self.reply_to_id), ("forward_id", self.forward_id)):
            if given is not None:
                reject_control_characters(given, what)
        if self.reply_to_id and self.forward_id:
            raise ValueError("Give reply_to_id or forward_id, not both.")

    def _recipients(self) -> list[tuple[str, str]]:
        fields = (("to", self.to), ("cc", self.cc), ("bcc", self.bcc))
        return [(field, value) for field, values in fields for value in values]

    def names_only(self) -> list[tuple[str, str]]:
        """(field, value) of each recipient given as a name without an address."""
        return [(field, value) for field, value in self._recipients() if bare_name(value)]


class Refusal(msgspec.Struct, frozen=True):
    address: str
    reason: str


class SendEmailResult(msgspec.Struct, frozen=True):
    message_id: str
    accepted: Annotated[list[str], msgspec.Meta(description="Recipients the server accepted.")]
    refused: Annotated[
        list[Refusal], msgspec.Meta(description="Recipients it refused, and why.")
    ] = []
    saved_to_sent: Annotated[bool, msgspec.Meta(description="A copy is in the Sent folder.")] = (
        False
    )
    sent_id: Annotated[str | None, msgspec.Meta(description="The id of the Sent copy.")] = None
    notes: list[str] = []


class DraftResult(msgspec.Struct, frozen=True):
    id: Annotated[str | None, msgspec.Meta(description="The draft's email id (for send_draft).")]
    message_id: str
    folder: str


class SendDraftArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    id: EmailIdText

    def __post_init__(self) -> None:
        reject_control_characters(self.id, "The email id")


EmailIds = Annotated[
    list[Annotated[str, msgspec.Meta(min_length=3, max_length=2000)]],
    msgspec.Meta(min_length=1, max_length=500, description="Email ids from search_emails."),
]


def _check_ids(ids: list[str]) -> None:
    for value in ids:
        reject_control_characters(value, "Email ids")


class MoveEmailArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    ids: EmailIds
    destination: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]

    def __post_init__(self) -> None:
        _check_ids(self.ids)
        reject_control_characters(self.destination, "Folder names")


class Moved(msgspec.Struct, frozen=True):
    id: str
    new_id: Annotated[
        str | None, msgspec.Meta(description="Its id in the new folder, if the server said.")
    ]


class MoveEmailResult(msgspec.Struct, frozen=True):
    moved: list[Moved]
    not_moved: Annotated[
        list[str], msgspec.Meta(description="Ids that stayed where they were.")
    ] = []
    notes: list[str] = []


class MarkEmailArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    ids: EmailIds
    read: bool | None = None
    flagged: bool | None = None
    answered: bool | None = None

    def __post_init__(self) -> None:
        _check_ids(self.ids)
        if self.read is None and self.flagged is None and self.answered is None:
            raise ValueError("Say what to change: read, flagged or answered (true or false).")


class MarkEmailResult(msgspec.Struct, frozen=True):
    updated: list[str]
    not_found: list[str] = []


class DeleteEmailArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    ids: EmailIds
    permanent: bool = False

    def __post_init__(self) -> None:
        _check_ids(self.ids)


class DeleteEmailResult(msgspec.Struct, frozen=True):
    deleted: list[str]
    moved_to_trash: Annotated[
        list[Moved], msgspec.Meta(description="Where they went in Trash.")
    ] = []
    not_found: list[str] = []


# -- worker requests (not tools) ----------------------------------------------------


class OriginalArgs(msgspec.Struct, frozen=True):
    """Ask the IMAP worker for what a reply or forward needs of a message."""

    id: str
    raw: bool = False


class Original(msgspec.Struct, frozen=True):
    id: str
    message_id: str | None
    references: list[str]
    subject: str
    from_: list[str]
    reply_to: list[str]
    to: list[str]
    cc: list[str]
    date: str | None
    text: str
    raw: bytes | None = None


class ComposeRequest(msgspec.Struct, frozen=True):
    args: SendEmailArgs
    original: Original | None = None

    def __post_init__(self) -> None:
        # send_email's and create_draft's preflight answer a name alone first; this is
        # the guard behind it, in both processes, for any other way to compose.
        if named := self.args.names_only():
            field, value = named[0]
            raise ValueError(f"'{value}' in {field} needs an email address. Nothing was sent.")


class Composed(msgspec.Struct, frozen=True):
    message_id: str
    raw: bytes


class SendRawRequest(msgspec.Struct, frozen=True):
    """Send an already composed message (a saved draft); recipients come from its headers."""

    raw: bytes


class SendOutcome(msgspec.Struct, frozen=True):
    message_id: str
    accepted: list[str]
    refused: list[Refusal]
    raw: bytes


class AppendArgs(msgspec.Struct, frozen=True):
    role: Literal["sent", "drafts"]
    raw: bytes
    flags: list[str]


class Appended(msgspec.Struct, frozen=True):
    folder: str
    id: str | None


class ClaimDraftArgs(msgspec.Struct, frozen=True):
    """Take a draft for sending: only one caller (in any process) wins it."""

    id: str


class ClaimedDraft(msgspec.Struct, frozen=True):
    raw: bytes


class SettleDraftArgs(msgspec.Struct, frozen=True):
    """After a claimed draft's send: remove it (``sent``) or give it back (nothing was sent)."""

    id: str
    sent: bool


class SettledDraft(msgspec.Struct, frozen=True):
    done: bool
