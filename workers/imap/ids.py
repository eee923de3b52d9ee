"""Email ids: folder, UIDVALIDITY and UID in one opaque string.

The form is ``<folder>#<uidvalidity>.<uid>`` with the server's folder name, so
any folder name round-trips (the suffix after the last '#' holds no '#').
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from protocol.errors import InvalidArgument, NotFound

_SUFFIX = re.compile(r"^(\d{1,10})\.(\d{1,10})\Z")


@dataclass(frozen=True)
class EmailId:
    folder: str
    uidvalidity: int
    uid: int

    def __str__(self) -> str:
        return f"{self.folder}#{self.uidvalidity}.{self.uid}"

    @classmethod
    def parse(cls, text: str) -> EmailId:
        """Raises InvalidArgument for anything that is not an id we made."""
        folder, sep, suffix = text.rpartition("#")
        match = _SUFFIX.match(suffix)
        if not sep or not folder or match is None or any(c in folder for c in "\r\n\x00"):
            raise InvalidArgument(
                f"{text!r} is not an email id; use an id exactly as search_emails returned it."
            )
        uid = int(match.group(2))
        if uid == 0:
            raise InvalidArgument(f"{text!r} is not an email id (UID 0 does not exist).")
        return cls(folder, int(match.group(1)), uid)

    def check_validity(self, current: int, display_folder: str) -> None:
        """Raise NotFound when the folder was rebuilt since the id was made."""
        if current != self.uidvalidity:
            raise NotFound(
                f"The email id refers to an older state of the folder {display_folder} "
                "(the server renumbered its messages); search again for a fresh id."
            )
