"""Event ids: which object on the server, and which occurrence of it.

The id carries the calendar's URL path, the object's URL path (so an edit
needs no search), the iCalendar UID and the occurrence's RECURRENCE-ID value
(empty for a single event or the whole series). It is opaque to the model.

An occurrence's id is its series' id, a dot and a short key for the occurrence
(``ev_…`` + ``.u1a2b3c``): ids of the older form, with the RECURRENCE-ID inside,
still read.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime, timedelta
from urllib.parse import unquote

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
        raw = msgspec.msgpack.encode(_Written(self.calendar, href, uid))
        series = "ev_" + base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return f"{series}.{_key(self.recurrence)}" if self.recurrence else series

    @classmethod
    def parse(cls, text: str) -> EventId:
        if not text.startswith("ev_"):
            raise _not_an_id(text)
        body, dot, key = text[3:].partition(".")
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            written = msgspec.msgpack.decode(raw, type=_Written)
            if dot:
                if written.recurrence:
                    raise ValueError("two occurrence keys")
                written = msgspec.structs.replace(written, recurrence=_unkey(key))
        except (binascii.Error, ValueError, OverflowError, msgspec.DecodeError):
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
            and read_as_written(found.href)
        ):
            raise _not_an_id(text)
        return found


def read_as_written(href: str) -> bool:
    """Whether the server reads ``href`` as the path it shows: no fragment or query (a
    request for ``…/calendar/#x`` goes to the calendar itself), and no segment that it
    decodes into another place (``%2e%2e``, ``%2e``, ``a%2fb``, a backslash)."""
    if any(c in href for c in "#?\\"):
        return False
    decoded = unquote(href)
    segments = decoded.split("/")[1:]
    return (
        decoded.count("/") == href.count("/")
        and "\\" not in decoded
        and all(s not in ("", ".", "..") for s in segments[:-1])
        and segments[-1] not in (".", "..")
    )


class _Written(msgspec.Struct, array_like=True, frozen=True):
    """An id as written: ids of the older, longer form (absolute href, UID always
    there) read the same way."""

    calendar: str
    href: str  # relative to the calendar unless it starts with "/"
    uid: str | None  # None: the object's file name without ".ics"
    recurrence: str = ""


_YEAR_ONE = datetime(1, 1, 1)
_RECURRENCE_PARTS = re.compile(r"^(\d{8})(?:T(\d{4})00(Z?))?\Z")
_KEY = re.compile(r"^[dul][0-9a-z]{1,9}\Z")


def _key(recurrence: str) -> str:
    """A RECURRENCE-ID written short: ``d`` and days (a date), ``u`` (UTC) or ``l`` (local
    or floating) and minutes since the year 1, in base 36; ``r`` and the text otherwise
    (seconds other than 00)."""
    match = _RECURRENCE_PARTS.match(recurrence)
    if not match:
        return "r" + recurrence
    day, clock, utc = match.groups()
    moment = datetime.strptime(day + (clock or "0000"), "%Y%m%d%H%M")
    if clock is None:
        return "d" + _base36((moment - _YEAR_ONE).days)
    minutes = int((moment - _YEAR_ONE).total_seconds()) // 60
    return ("u" if utc else "l") + _base36(minutes)


def _unkey(key: str) -> str:
    """The RECURRENCE-ID text a key stands for. Raises ValueError."""
    if key.startswith("r"):
        return key[1:]
    if not _KEY.match(key):
        raise ValueError("not an occurrence key")
    moment = _YEAR_ONE + timedelta(**{"days" if key[0] == "d" else "minutes": int(key[1:], 36)})
    if key[0] == "d":
        return moment.strftime("%Y%m%d").zfill(8)
    return f"{moment:%Y%m%dT%H%M}".zfill(13) + "00" + ("Z" if key[0] == "u" else "")


def _base36(n: int) -> str:
    digits = ""
    while True:
        n, rest = divmod(n, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[rest] + digits
        if not n:
            return digits


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
    if text.startswith("td_"):  # workers.dav.todo_ids: a task's id
        return InvalidArgument(
            "That is a task id, not an event id; change or delete tasks with update_task "
            "or delete_task."
        )
    shown = text if len(text) < 60 else text[:57] + "..."
    return InvalidArgument(
        f"'{shown}' is not an event id; use an id exactly as get_calendar_events returned it."
    )
