"""Arguments and results of the email tools, and the worker's internal requests."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal

import msgspec

from protocol.when import instant, parse_when

FolderRole = Literal["inbox", "sent", "drafts", "trash", "junk", "archive"]

_FORBIDDEN = ("\r", "\n", "\x00")


def reject_control_characters(value: str, what: str) -> None:
    """Refuse CR, LF and NUL: imapclient would send them raw (IMAP injection).

    Raises ValueError with a sentence for the user.
    """
    if any(ch in value for ch in _FORBIDDEN):
        raise ValueError(f"{what} cannot contain line breaks or NUL characters.")


class GetFoldersArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """get_folders takes no arguments."""


class Folder(msgspec.Struct, frozen=True):
    name: Annotated[str, msgspec.Meta(description="Full folder name, levels separated by '/'.")]
    role: Annotated[
        FolderRole | None,
        msgspec.Meta(description="Special purpose of the folder, or null for an ordinary one."),
    ]
    messages: Annotated[int | None, msgspec.Meta(description="Messages in the folder.")]
    unseen: Annotated[int | None, msgspec.Meta(description="Unread messages in the folder.")]
    selectable: Annotated[
        bool, msgspec.Meta(description="False for a pure container that cannot hold mail.")
    ] = True


class GetFoldersResult(msgspec.Struct, frozen=True):
    folders: list[Folder]


class CreateDirectoryArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    name: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=1000,
            description=(
                "Full path, '/' between levels, e.g. 'Projects/2026' (missing parents are "
                "created too). Any Unicode name but '*' and '%'."
            ),
        ),
    ]

    def __post_init__(self) -> None:
        reject_control_characters(self.name, "Folder names")
        if "*" in self.name or "%" in self.name:
            raise ValueError(
                "Folder names cannot contain '*' or '%': IMAP servers read them as wildcards."
            )
        if any(unicodedata.category(c) == "Cf" for c in self.name):
            raise ValueError(
                "Folder names cannot contain invisible characters (direction marks, soft "
                "hyphens, zero-width spaces): a folder would look like another."
            )
        parts = self.name.split("/")
        if any(not part.strip() for part in parts):
            raise ValueError(
                "Folder names cannot have an empty level: remove leading, trailing "
                "or doubled '/' characters."
            )


class CreateDirectoryResult(msgspec.Struct, frozen=True):
    name: Annotated[str, msgspec.Meta(description="The folder as it now exists on the server.")]


EmailIdText = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=2000,
        description="An email id as search_emails gave it.",
    ),
]


class SearchEmailsArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    folder: Annotated[str, msgspec.Meta(max_length=1000)] = "INBOX"
    query: Annotated[
        Annotated[str, msgspec.Meta(max_length=1000)] | None,
        msgspec.Meta(description="Words anywhere in the message."),
    ] = None
    sender: Annotated[
        Annotated[str, msgspec.Meta(max_length=500)] | None,
        msgspec.Meta(description="Part of the From name or address."),
    ] = None
    recipient: Annotated[
        Annotated[str, msgspec.Meta(max_length=500)] | None,
        msgspec.Meta(description="Part of a To or Cc name or address."),
    ] = None
    subject: Annotated[
        Annotated[str, msgspec.Meta(max_length=1000)] | None,
        msgspec.Meta(description="Words in the subject."),
    ] = None
    since: Annotated[
        str | None,
        msgspec.Meta(
            description=("ISO date or date-time, by the Date header (received time where none).")
        ),
    ] = None
    before: Annotated[
        str | None,
        msgspec.Meta(description="Sent before this; as for since."),
    ] = None
    unread: Annotated[bool | None, msgspec.Meta(description="false: only read ones.")] = None
    flagged: Annotated[bool | None, msgspec.Meta(description="false: only unflagged ones.")] = None
    has_attachments: Annotated[
        bool | None,
        msgspec.Meta(description="false: only ones without."),
    ] = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=200, description="Per page.")] = 20
    cursor: Annotated[
        Annotated[str, msgspec.Meta(max_length=4000)] | None,
        msgspec.Meta(description="The previous page's next_cursor."),
    ] = None

    def __post_init__(self) -> None:
        for what, value in (
            ("The folder", self.folder),
            ("The query", self.query),
            ("The sender", self.sender),
            ("The recipient", self.recipient),
            ("The subject", self.subject),
            ("The cursor", self.cursor),
        ):
            if value is not None:
                reject_control_characters(value, what)
        when = [parse_when(v, w) for v, w in ((self.since, "since"), (self.before, "before")) if v]
        if len(when) == 2 and instant(when[0]) >= instant(when[1]):
            raise ValueError("since must be earlier than before.")


class EmailSummary(msgspec.Struct, frozen=True):
    id: str
    folder: str
    date: Annotated[
        str | None,
        msgspec.Meta(
            description=(
                "When it was sent (its Date header, as mail clients show it), ISO 8601; "
                "when it was received if it has no readable Date."
            )
        ),
    ]
    from_: Annotated[str, msgspec.Meta(description="Sender as 'Name <address>'.")] = msgspec.field(
        name="from"
    )
    to: list[str] = []
    subject: str = ""
    flags: Annotated[
        list[str], msgspec.Meta(description="seen, answered, flagged, draft, deleted, or keywords.")
    ] = []
    size: int = 0
    has_attachments: bool = False
    preview: Annotated[str, msgspec.Meta(description="The first words of the text.")] = ""
    received: Annotated[
        str | None,
        msgspec.Meta(
            description=(
                "When the server received it, ISO 8601: given only where that is more than a "
                "day from date (mail moved in by a migration, or long delayed); else null."
            )
        ),
    ] = None


class SearchEmailsResult(msgspec.Struct, frozen=True):
    emails: list[EmailSummary]
    total: Annotated[int, msgspec.Meta(description="Messages matching, over all pages.")]
    next_cursor: Annotated[
        str | None, msgspec.Meta(description="Pass as cursor for the next page; null at the end.")
    ] = None


class GetEmailArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    id: EmailIdText
    max_chars: Annotated[
        int, msgspec.Meta(ge=100, le=200_000, description="Most body characters per page.")
    ] = 20_000
    offset: Annotated[int, msgspec.Meta(ge=0, description="Body character to start at.")] = 0
    mark_read: bool = False

    def __post_init__(self) -> None:
        reject_control_characters(self.id, "The email id")


class Attachment(msgspec.Struct, frozen=True):
    part: Annotated[str, msgspec.Meta(description="Pass to get_attachment.")]
    filename: str | None
    content_type: str
    size: Annotated[
        int,
        msgspec.Meta(
            description=(
                "Size in bytes once decoded, as get_attachment saves it; an estimate when "
                "size_estimated is true (get_attachment gives the exact size)."
            )
        ),
    ]
    size_estimated: Annotated[
        bool,
        msgspec.Meta(
            description=(
                "size is estimated from the encoded size (base64: within about 1%; "
                "quoted-printable: an upper bound)."
            )
        ),
    ] = False
    inside: Annotated[
        str | None,
        msgspec.Meta(
            description=(
                "For a file inside an attached email: that email's part. Null for the "
                "message's own attachments."
            )
        ),
    ] = None


class Invitation(msgspec.Struct, frozen=True):
    """A calendar invitation carried by the email (text/calendar)."""

    method: Annotated[str | None, msgspec.Meta(description="REQUEST (invite), REPLY, CANCEL, ...")]
    summary: str
    start: Annotated[str | None, msgspec.Meta(description="ISO 8601, as the invitation says.")]
    end: str | None
    location: str | None = None
    organizer: str | None = None
    status: str | None = None
    recurring: Annotated[bool, msgspec.Meta(description="It repeats (a rule or dates).")] = False
    uid: str | None = None
    sequence: Annotated[int, msgspec.Meta(description="The organizer's revision number.")] = 0
    recurrence_id: Annotated[
        str | None, msgspec.Meta(description="The one occurrence it is about, if only one.")
    ] = None
    answer: Annotated[
        str | None,
        msgspec.Meta(
            description=(
                "The user's answer as the invitation records it (NEEDS-ACTION, ACCEPTED, "
                "DECLINED, TENTATIVE); null when it does not name the user."
            )
        ),
    ] = None
    conflicts: Annotated[
        list[str] | None,
        msgspec.Meta(
            description=(
                "Events already in the calendar at that time; null when the calendar was "
                "not checked (its tools are off, or it could not be read)."
            )
        ),
    ] = None


class Email(msgspec.Struct, frozen=True):
    id: str
    message_id: str | None
    from_: str = msgspec.field(name="from")
    to: list[str] = []
    cc: list[str] = []
    subject: str = ""
    date: Annotated[str | None, msgspec.Meta(description="The Date header, ISO 8601.")] = None
    body: str = ""
    body_chars: Annotated[int, msgspec.Meta(description="Length of the whole body text.")] = 0
    offset: int = 0
    truncated: Annotated[
        bool, msgspec.Meta(description="More body follows; ask again with offset.")
    ] = False
    attachments: list[Attachment] = []
    signed: Annotated[
        Literal["S/MIME", "OpenPGP"] | None,
        msgspec.Meta(description="How the message is signed; the signature is not verified."),
    ] = None
    encrypted: Annotated[
        bool, msgspec.Meta(description="The content is encrypted and cannot be read here.")
    ] = False
    invitations: list[Invitation] = []
    notes: Annotated[
        list[str], msgspec.Meta(description="What could not be read cleanly, if anything.")
    ] = []
