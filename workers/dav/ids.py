"""Event ids: which object on the server, and which occurrence of it.

The id carries the calendar's URL path, the object's URL path (so an edit
needs no search), the iCalendar UID and the occurrence's RECURRENCE-ID value
(empty for a single event or the whole series). It is opaque to the model.
"""

from __future__ import annotations

import base64
import binascii

import msgspec

from protocol.errors import InvalidArgument


class EventId(msgspec.Struct, array_like=True, frozen=True):
    calendar: str
    href: str
    uid: str
    recurrence: str = ""

    def __str__(self) -> str:
        raw = msgspec.msgpack.encode(self)
        return "ev_" + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def parse(cls, text: str) -> EventId:
        if not text.startswith("ev_"):
            raise _not_an_id(text)
        body = text[3:]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            found = msgspec.msgpack.decode(raw, type=cls)
        except (binascii.Error, ValueError, msgspec.DecodeError):
            raise _not_an_id(text) from None
        # Only a path on our own server, inside its calendar: the id comes back from the
        # model and must not steer a request (which carries the password) anywhere else.
        if not (
            found.calendar.startswith("/")
            and found.href.startswith(found.calendar.rstrip("/") + "/")
            and not found.href.startswith("//")
            and ".." not in found.href.split("/")
            and not any(c in found.href + found.uid + found.recurrence for c in "\r\n\x00")
        ):
            raise _not_an_id(text)
        return found


def _not_an_id(text: str) -> InvalidArgument:
    shown = text if len(text) < 60 else text[:57] + "..."
    return InvalidArgument(
        f"{shown!r} is not an event id; use an id exactly as get_calendar_events returned it."
    )
