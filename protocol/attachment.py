"""Arguments and result of get_attachment."""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

from protocol.email import EmailIdText, reject_control_characters

_PART = re.compile(r"^[1-9]\d{0,4}(\.[1-9]\d{0,4}){0,40}\Z")


class GetAttachmentArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    id: EmailIdText
    part: Annotated[
        str,
        msgspec.Meta(
            max_length=300,
            description="From get_email's attachments, such as '2' or '1.3'.",
        ),
    ]
    save: Annotated[bool, msgspec.Meta(description="Save it even if it is text.")] = False
    max_chars: Annotated[
        int, msgspec.Meta(ge=100, le=200_000, description="Most text characters per page.")
    ] = 20_000
    offset: Annotated[int, msgspec.Meta(ge=0, description="Text character to start at.")] = 0

    def __post_init__(self) -> None:
        reject_control_characters(self.id, "The email id")
        if not _PART.match(self.part):
            raise ValueError(
                f"part must be a part number from get_email's attachment list, such as '2' "
                f"or '1.3'; got '{self.part}'."
            )


class AttachmentContent(msgspec.Struct, frozen=True):
    id: str
    part: str
    filename: str | None
    content_type: str
    size: Annotated[
        int,
        msgspec.Meta(
            description=(
                "Size in bytes once decoded; exact unless size_estimated (a very large "
                "text attachment read only in part)."
            )
        ),
    ]
    text: Annotated[
        str | None, msgspec.Meta(description="The text of a text-like attachment, this page.")
    ] = None
    text_chars: Annotated[int, msgspec.Meta(description="Length of the whole text.")] = 0
    offset: int = 0
    truncated: Annotated[
        bool, msgspec.Meta(description="More text follows; ask again with offset.")
    ] = False
    path: Annotated[
        str | None, msgspec.Meta(description="Where the file was saved, if it was.")
    ] = None
    notes: list[str] = []
    size_estimated: Annotated[
        bool, msgspec.Meta(description="size is estimated from the encoded size.")
    ] = False
