"""Recurrence rules and attendees as the model writes them, checked before anything is saved.

A rule is refused unless every part is one RFC 5545 allows, with a value in its range
(COUNT and INTERVAL at least 1, never COUNT with UNTIL). UNTIL takes the value type of
DTSTART, as RFC 5545 demands: a date on a timed event means the end of that day in the
event's zone (so that day's occurrence is kept), written in UTC; a date-time on an all-day
event means its date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from email.utils import getaddresses
from typing import Any

from icalendar import Event, vCalAddress, vRecur

from protocol.errors import InvalidArgument
from protocol.when import aware

_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# Rule part: (lowest, highest, zero allowed, negative allowed) for the numeric lists.
_NUMBERS = {
    "BYSECOND": (0, 60, True, False),
    "BYMINUTE": (0, 59, True, False),
    "BYHOUR": (0, 23, True, False),
    "BYMONTHDAY": (1, 31, False, True),
    "BYYEARDAY": (1, 366, False, True),
    "BYWEEKNO": (1, 53, False, True),
    "BYMONTH": (1, 12, False, False),
    "BYSETPOS": (1, 366, False, True),
}
_EXAMPLE = "write e.g. FREQ=WEEKLY;BYDAY=MO or FREQ=DAILY;COUNT=5"


def checked_rule(text: str, dtstart: date | datetime) -> vRecur:
    """The rule ``text`` for an event starting at ``dtstart``; InvalidArgument with a
    sentence naming what is wrong."""
    try:
        rule = vRecur.from_ical(text.strip().removeprefix("RRULE:"))
    except (ValueError, TypeError, KeyError, IndexError):
        raise InvalidArgument(f"{text!r} is not a recurrence rule; {_EXAMPLE}.") from None
    unknown = [k for k in rule if k not in (*_NUMBERS, "FREQ", "COUNT", "UNTIL", "INTERVAL")]
    unknown = [k for k in unknown if k not in ("BYDAY", "WKST")]
    if unknown:
        raise InvalidArgument(
            f"{text!r}: {unknown[0]} is not part of a recurrence rule; {_EXAMPLE}."
        )
    freq = str(_one(rule, "FREQ") or "").upper()
    if freq in ("SECONDLY", "MINUTELY", "HOURLY"):
        raise InvalidArgument("Events can repeat daily at most often (FREQ=DAILY or longer).")
    if freq not in _FREQUENCIES:
        raise InvalidArgument(f"{text!r} is not a recurrence rule; {_EXAMPLE}.")
    for name in ("COUNT", "INTERVAL"):
        value = _one(rule, name)
        if value is not None and (not isinstance(value, int) or value < 1):
            raise InvalidArgument(f"{name} must be a whole number of at least 1; got {value}.")
    if rule.get("COUNT") is not None and rule.get("UNTIL") is not None:
        raise InvalidArgument(
            "A recurrence rule may have COUNT or UNTIL, not both (RFC 5545); keep one."
        )
    for name, (low, high, zero, negative) in _NUMBERS.items():
        for raw in rule.get(name) or ():
            try:
                number = int(str(raw))
            except ValueError:
                number = None
            if number is None or not (
                low <= number <= high
                or (negative and -high <= number <= -low)
                or (zero and number == 0)
            ):
                allowed = f"{low} to {high}" + (f" or -{high} to -{low}" if negative else "")
                raise InvalidArgument(f"{name} takes numbers from {allowed}; got {raw}.")
    for raw in rule.get("BYDAY") or ():
        day = str(raw).upper()
        ordinal = day[:-2].lstrip("+-")
        if day[-2:] not in _DAYS or (
            ordinal and not (ordinal.isdigit() and 1 <= int(ordinal) <= 53)
        ):
            raise InvalidArgument(f"BYDAY takes days such as MO, TU or 1MO, -1FR; got {raw}.")
    wkst = [str(d).upper() for d in rule.get("WKST") or ()]
    if wkst and (len(wkst) != 1 or wkst[0] not in _DAYS):
        raise InvalidArgument("WKST takes one day: MO, TU, WE, TH, FR, SA or SU.")
    until = _one(rule, "UNTIL")
    if until is not None:
        rule["UNTIL"] = [_until(until, dtstart)]
    return rule


def _one(rule: vRecur, name: str) -> Any:
    values = rule.get(name)
    if not values:
        return None
    return values[0] if isinstance(values, list) else values


def _until(until: date | datetime, dtstart: date | datetime) -> date | datetime:
    """UNTIL with DTSTART's value type (RFC 5545 3.3.10)."""
    if not isinstance(dtstart, datetime):  # all-day: the date UNTIL names
        if isinstance(until, datetime):
            return until.date()
        return until
    zone: tzinfo | None = dtstart.tzinfo
    if not isinstance(until, datetime):  # the whole of that day, in the event's zone
        if until >= date(9999, 12, 31):
            return datetime(9999, 12, 30, tzinfo=UTC)
        until = datetime.combine(until + timedelta(days=1), time(0)) - timedelta(seconds=1)
    if zone is None:  # a floating event: UNTIL floats too
        return until.replace(tzinfo=None)
    return aware(until, zone).astimezone(UTC)


def attendee(text: str) -> vCalAddress:
    """'anna@example.org' or 'Anna Berg <anna@example.org>' (checked by the Struct)."""
    name, address = getaddresses([text])[0]
    value = vCalAddress(f"mailto:{address}")
    if name:
        value.params["CN"] = name
    value.params["RSVP"] = "TRUE"
    return value


def add_organizer(event: Event, user: str) -> None:
    """An event with attendees is organised by someone: the user, unless it says whom."""
    if event.get("ATTENDEE") is not None and event.get("ORGANIZER") is None:
        event.add("ORGANIZER", vCalAddress(f"mailto:{user}"), encode=False)
