"""Arguments and results of the email tools, and the worker's internal requests."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

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
                "Folder to create. Use '/' between levels, e.g. 'Projects/2026'; "
                "missing parent folders are created too. Any Unicode name is allowed."
            ),
        ),
    ]

    def __post_init__(self) -> None:
        reject_control_characters(self.name, "Folder names")
        parts = self.name.split("/")
        if any(not part.strip() for part in parts):
            raise ValueError(
                "Folder names cannot have an empty level: remove leading, trailing "
                "or doubled '/' characters."
            )


class CreateDirectoryResult(msgspec.Struct, frozen=True):
    name: Annotated[str, msgspec.Meta(description="The folder as it now exists on the server.")]


class FolderFingerprintArgs(msgspec.Struct, frozen=True):
    """Internal: a cheap token that changes whenever any folder's content does."""
