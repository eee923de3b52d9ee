"""Email ids: folder, UIDVALIDITY and UID in one opaque string.

The form is ``<folder>#<uidvalidity>.<uid>`` with the server's folder name, so
any folder name round-trips (the suffix after the last '#' holds no '#').
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
                f"'{text}' is not an email id; use an id exactly as search_emails returned it."
            )
        uid = int(match.group(2))
        if uid == 0:
            raise InvalidArgument(f"'{text}' is not an email id (UID 0 does not exist).")
        return cls(folder, int(match.group(1)), uid)

    def check_validity(self, current: int, display_folder: str) -> None:
        """Raise NotFound when the id was not made from the folder as it is now.

        A server that renumbers a folder gives it a higher UIDVALIDITY (RFC 3501
        2.3.1.1), so only a lower one can come from an older state of it; a higher
        one was never an id of this folder.
        """
        if current == self.uidvalidity:
            return
        if self.uidvalidity < current:
            # Either the server renumbered the folder since the id was made, or the id
            # was made up: the answer must fit both.
            raise NotFound(
                f"There is no email with that id in {display_folder} as it is now: the id is "
                "not one search_emails gave for it, or it is from before the server "
                "renumbered the folder; search again for a fresh id."
            )
        raise NotFound(
            f"There is no email with that id in {display_folder}; use an id exactly as "
            "search_emails returned it."
        )

    def missing(self, display_folder: str, select_info: Mapping[bytes, Any]) -> NotFound:
        """The error for an id of the folder as it is now whose message is not in it: one
        that was there and went, or (a UID the folder never reached) one that never was."""
        uidnext = select_info.get(b"UIDNEXT")
        if isinstance(uidnext, int) and self.uid >= uidnext:
            return NotFound(
                f"There is no email with that id in {display_folder}; use an id exactly as "
                "search_emails returned it."
            )
        return NotFound(
            f"That email is no longer in {display_folder} (it was moved or deleted); search again."
        )
