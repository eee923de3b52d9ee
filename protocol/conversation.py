"""Arguments and result of get_email_thread."""

from __future__ import annotations

from typing import Annotated

import msgspec

from protocol.email import EmailIdText, reject_control_characters


class GetEmailThreadArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    id: EmailIdText
    limit: Annotated[int, msgspec.Meta(ge=1, le=200, description="Keeps the newest.")] = 50

    def __post_init__(self) -> None:
        reject_control_characters(self.id, "The email id")


class ThreadMessage(msgspec.Struct, frozen=True):
    id: Annotated[str, msgspec.Meta(description="Pass to get_email to read all of it.")]
    folder: str
    message_id: str | None
    date: Annotated[str | None, msgspec.Meta(description="The Date header, ISO 8601.")]
    from_: str = msgspec.field(name="from")
    to: list[str] = []
    subject: str = ""
    excerpt: Annotated[
        str, msgspec.Meta(description="The start of what this message adds (quotes removed).")
    ] = ""


class EmailThread(msgspec.Struct, frozen=True):
    messages: Annotated[list[ThreadMessage], msgspec.Meta(description="Oldest first.")]
    total: Annotated[int, msgspec.Meta(description="Messages found in the conversation.")]
    searched: Annotated[list[str], msgspec.Meta(description="Folders that were searched.")] = []
