"""Event ids: which object on the server, and which occurrence of it.

The id carries the calendar's URL path, the object's URL path (so an edit
needs no search), the iCalendar UID and the occurrence's RECURRENCE-ID value
(empty for a single event or the whole series). It is opaque to the model.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime

import msgspec

from protocol.errors import InvalidArgument
from protocol.when import EARLIEST, LATEST


class EventId(msgspec.Struct, array_like=True, frozen=True):
    calendar: str
    href: str
    uid: str
    recurrence: str = ""

    def __str__(self) -> str:
        # A model reads every id of a long list: the href is written relative to the
        # calendar, and the UID left out where it is the file name (the usual case).
        inside = self.calendar.rstrip("/") + "/"
        href = self.href.removeprefix(inside) if self.href.startswith(inside) else self.href
        uid = None if _stem(self.href) == self.uid else self.uid
        raw = msgspec.msgpack.encode(_Written(self.calendar, href, uid, self.recurrence))
        return "ev_" + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def parse(cls, text: str) -> EventId:
        if not text.startswith("ev_"):
            raise _not_an_id(text)
        body = text[3:]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            written = msgspec.msgpack.decode(raw, type=_Written)
        except (binascii.Error, ValueError, msgspec.DecodeError):
            raise _not_an_id(text) from None
        href = written.href
        if not href.startswith("/"):
            href = written.calendar.rstrip("/") + "/" + href
        uid = written.uid if written.uid is not None else _stem(href)
        if uid is None:
            raise _not_an_id(text)
        found = cls(written.calendar, href, uid, written.recurrence)
        # Only an object on our own server, directly inside its calendar: the id comes
        # back from the model and must not steer a request (which carries the password)
        # anywhere else, nor name the calendar itself (Radicale answers a GET of it with
        # every event, so deleting "the event" would delete the calendar).
        inside = found.calendar.rstrip("/") + "/"
        name = found.href.removeprefix(inside)
        if not (
            found.calendar.startswith("/")
            and found.href.startswith(inside)
            and not found.href.startswith("//")
            and name not in ("", ".", "..")
            and "/" not in name
            and not any(c in found.href + found.uid + found.recurrence for c in "\r\n\x00")
            and _is_recurrence(found.recurrence)
        ):
            raise _not_an_id(text)
        return found


class _Written(msgspec.Struct, array_like=True, frozen=True):
    """An id as written: ids of the older, longer form (absolute href, UID always
    there) read the same way."""

    calendar: str
    href: str  # relative to the calendar unless it starts with "/"
    uid: str | None  # None: the object's file name without ".ics"
    recurrence: str = ""


_RECURRENCE = re.compile(r"^\d{8}(T\d{6}Z?)?\Z")


def _is_recurrence(text: str) -> bool:
    """Empty (a single event or the series), or an iCalendar date or date-time."""
    if not text:
        return True
    if not _RECURRENCE.match(text):
        return False
    try:
        moment = datetime.strptime(text[:15], "%Y%m%dT%H%M%S" if "T" in text else "%Y%m%d")
    except ValueError:
        return False
    # Only what an occurrence can be: every zone can hold it.
    return EARLIEST.replace(tzinfo=None) <= moment <= LATEST.replace(tzinfo=None)


def _stem(href: str) -> str | None:
    name = href.rsplit("/", 1)[-1]
    return name.removesuffix(".ics") if name.endswith(".ics") and len(name) > 4 else None


def _not_an_id(text: str) -> InvalidArgument:
    shown = text if len(text) < 60 else text[:57] + "..."
    return InvalidArgument(
        f"'{shown}' is not an event id; use an id exactly as get_calendar_events returned it."
    )
