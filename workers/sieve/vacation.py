"""The vacation notice (out-of-office reply) as OX App Suite writes it into the script.

OX keeps it as an ordinary rule flagged ``vacation`` and named ``vacation notice``, whose
test is its time frame and whose one action is ``vacation`` (the exact layout is in
workers/sieve/ox_format.py). ``vacation_of`` reads such a command into a ``Vacation``
when every part of it is one OX writes; ``vacation_block`` writes one back the same way.

A subject with non-ASCII characters is MIME-encoded (RFC 2047, base64, ``=?UTF-8?B?``)
as OX does, and an encoded subject is decoded on reading when it starts with ``=?UTF``
(OX's own test). An ASCII subject that happens to start with ``=?UTF`` is encoded too,
so that it reads back as itself.
"""

from __future__ import annotations

import base64
import email.errors
import re
from dataclasses import dataclass
from datetime import date
from email.header import decode_header, make_header
from typing import NamedTuple

from protocol.errors import InvalidArgument
from workers.sieve.ox_format import all_of, if_block
from workers.sieve.quoting import (
    check_address,
    check_body,
    check_line,
    quote,
    quote_body,
    quote_list,
)
from workers.sieve.syntax import Command, Number, StringList, Tag, Test

MAX_DAYS = 365
_ZONE = re.compile(r"[+-][0-9]{4}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FLAG_LINE_START = re.compile(r"^## Flag:", re.MULTILINE)
_ENCODED_WORD_BYTES = 45  # 60 base64 characters: a 72-character encoded word
_DECODED_PREFIX = "=?UTF"
_TAGS = ("days", "addresses", "subject", "from")


class _Arguments(NamedTuple):
    days: int
    addresses: tuple[str, ...]
    subject: str
    sender: str | None
    body: str


@dataclass(frozen=True)
class Vacation:
    """An automatic reply: its text, how often per sender (``days``), the user's own
    addresses it answers for, and an optional first and last day.

    ``sender`` is OX's optional ``:from``; ``zone`` the UTC offset OX writes on its date
    tests (``"+0200"``), kept as found (and dropped when there are no dates). Line breaks in ``body`` are kept as ``\\n``.
    Raises InvalidArgument for a value a script cannot hold or OX could not read back.
    """

    enabled: bool
    subject: str
    body: str
    days: int = 7
    addresses: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None
    sender: str | None = None
    zone: str | None = None

    def __post_init__(self) -> None:
        check_line(self.subject, "The vacation subject")
        body = check_body(self.body, "The vacation text")
        if not body.strip():
            raise InvalidArgument("The vacation text is empty; write the reply to send.")
        if _FLAG_LINE_START.search(body):
            raise InvalidArgument(
                "A line of the vacation text may not start with '## Flag:'"
                " (the web interface would read it as the start of a rule)."
            )
        object.__setattr__(self, "body", body)
        if isinstance(self.days, bool) or not 1 <= self.days <= MAX_DAYS:
            raise InvalidArgument(f"days must be a whole number from 1 to {MAX_DAYS}.")
        addresses = tuple(self.addresses)
        for address in addresses:
            check_address(address, "The vacation address")
        object.__setattr__(self, "addresses", addresses)
        if self.start is not None and self.end is not None and self.end < self.start:
            raise InvalidArgument("The vacation notice ends before it starts.")
        if self.sender is not None:
            check_line(self.sender, "The vacation sender")
        if self.zone is not None and not _ZONE.fullmatch(self.zone):
            raise InvalidArgument(f"'{self.zone}' is not a UTC offset such as +0200.")
        if self.start is None and self.end is None:
            object.__setattr__(self, "zone", None)  # written only on the date tests


def vacation_block(reply: Vacation, newline: str) -> str:
    """The ``if`` command for ``reply`` in OX's layout (without the flag line)."""
    tests = []
    if reply.start is not None:
        tests.append(_date_test("ge", reply.start, reply.zone))
    if reply.end is not None:
        tests.append(_date_test("le", reply.end, reply.zone))
    parts = ["vacation", f":days {reply.days}"]
    if reply.addresses:
        parts.append(":addresses " + quote_list(reply.addresses, "The vacation address"))
    parts.append(":subject " + quote(_encoded(reply.subject), "The vacation subject"))
    if reply.sender is not None:
        parts.append(":from " + quote(reply.sender, "The vacation sender"))
    parts.append(quote_body(reply.body, "The vacation text", newline))
    return if_block(all_of(tests, True), [" ".join(parts)], newline)


def vacation_extensions(reply: Vacation) -> tuple[str, ...]:
    """The Sieve extensions ``reply`` needs."""
    dated = reply.start is not None or reply.end is not None
    return ("vacation", "date", "relational") if dated else ("vacation",)


def vacation_of(command: Command, enabled: bool) -> Vacation | None:
    """``command`` as a Vacation, or None when any part of it is not one OX writes."""
    if command.name != "if" or command.block is None or len(command.tests) != 1:
        return None
    if len(command.block) != 1 or command.block[0].name != "vacation":
        return None
    frame = _time_frame(command.tests[0])
    action = command.block[0]
    if frame is None or action.tests or action.block is not None:
        return None
    found = _vacation_arguments(action)
    if found is None:
        return None
    try:
        return Vacation(
            enabled=enabled,
            subject=found.subject,
            body=found.body,
            days=found.days,
            addresses=found.addresses,
            start=frame[0],
            end=frame[1],
            sender=found.sender,
            zone=frame[2],
        )
    except InvalidArgument:
        return None


def _date_test(relation: str, day: date, zone: str | None) -> str:
    zone_part = "" if zone is None else f":zone {quote(zone, 'The zone')} "
    return f'currentdate {zone_part}:value "{relation}" "date" "{day.isoformat()}"'


def _time_frame(test: Test) -> tuple[date | None, date | None, str | None] | None:
    """(start, end, zone) of OX's vacation test, or None if it is not one."""
    if test.name == "true" and not test.arguments and not test.tests:
        return None, None, None
    tests = test.tests if test.name == "allof" and test.in_list else (test,)
    if test.arguments or not 1 <= len(tests) <= 2:
        return None
    bounds: dict[str, date] = {}
    zones: set[str | None] = set()
    for inner in tests:
        read = _date_bound(inner)
        if read is None or read[0] in bounds:
            return None
        bounds[read[0]] = read[1]
        zones.add(read[2])
    if len(zones) != 1:
        return None
    return bounds.get("ge"), bounds.get("le"), zones.pop()


def _date_bound(test: Test) -> tuple[str, date, str | None] | None:
    """("ge" or "le", the day, the zone) of one ``currentdate`` test."""
    if test.name != "currentdate" or test.tests:
        return None
    tagged: dict[str, str] = {}
    plain: list[str] = []
    arguments = list(test.arguments)
    while arguments:
        argument = arguments.pop(0)
        if isinstance(argument, Tag) and argument.name in ("zone", "value") and arguments:
            value = arguments.pop(0)
            if not isinstance(value, StringList) or len(value.values) != 1:
                return None
            tagged[argument.name] = value.values[0]
        elif isinstance(argument, StringList) and len(argument.values) == 1:
            plain.extend(argument.values)
        else:
            return None
    relation = tagged.get("value")
    if relation not in ("ge", "le") or len(plain) != 2 or plain[0].lower() != "date":
        return None
    if not _DATE.fullmatch(plain[1]):
        return None
    try:
        return relation, date.fromisoformat(plain[1]), tagged.get("zone")
    except ValueError:
        return None


def _vacation_arguments(action: Command) -> _Arguments | None:
    """days, addresses, subject, sender and body of a ``vacation`` action."""
    tagged: dict[str, Number | StringList] = {}
    arguments = list(action.arguments)
    while len(arguments) > 1:
        tag, value = arguments.pop(0), arguments.pop(0)
        if not isinstance(tag, Tag) or tag.name not in _TAGS or tag.name in tagged:
            return None
        if isinstance(value, Tag) or isinstance(value, Number) != (tag.name == "days"):
            return None
        tagged[tag.name] = value
    if len(arguments) != 1 or not isinstance(body := arguments[0], StringList):
        return None
    days = tagged.get("days", Number(7))
    addresses = tagged.get("addresses", StringList((), bracketed=True))
    subject = tagged.get("subject", StringList(("",), bracketed=False))
    sender = tagged.get("from")
    singles = [body, subject] + ([] if sender is None else [sender])
    if not all(isinstance(one, StringList) and len(one.values) == 1 for one in singles):
        return None
    assert isinstance(days, Number) and isinstance(addresses, StringList)
    assert isinstance(subject, StringList) and not isinstance(sender, Number)
    return _Arguments(
        days=days.value,
        addresses=addresses.values,
        subject=_decoded(subject.values[0]),
        sender=None if sender is None else sender.values[0],
        body=body.values[0],
    )


def _encoded(subject: str) -> str:
    """``subject`` as OX writes it: plain if ASCII, else RFC 2047 encoded words."""
    if subject.isascii() and not subject.startswith(_DECODED_PREFIX):
        return subject
    words: list[str] = []
    chunk = b""
    for char in subject:
        piece = char.encode("utf-8")
        if len(chunk) + len(piece) > _ENCODED_WORD_BYTES:
            words.append(_word(chunk))
            chunk = b""
        chunk += piece
    words.append(_word(chunk))
    return " ".join(words)


def _word(chunk: bytes) -> str:
    return "=?UTF-8?B?" + base64.b64encode(chunk).decode("ascii") + "?="


def _decoded(subject: str) -> str:
    """A subject as read: decoded if it starts with ``=?UTF``, as OX decides."""
    if not subject.startswith(_DECODED_PREFIX):
        return subject
    try:
        parts = decode_header(subject)
        if all(isinstance(text, bytes) and charset == "utf-8" for text, charset in parts):
            return b"".join(text for text, _ in parts if isinstance(text, bytes)).decode("utf-8")
        return str(make_header(parts))
    except (ValueError, LookupError, email.errors.HeaderParseError):
        return subject
