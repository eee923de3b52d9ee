"""Reading an invitation and writing the answer to it (iTIP, RFC 5546; iMIP, RFC 6047).

Pure functions over icalendar objects. The invitation comes from a stranger: every
check here raises InvalidArgument or Refused with one sentence ending in what was
(not) done, never a library error.
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from icalendar import Calendar, Event, vCalAddress

from protocol.errors import InvalidArgument, Refused
from protocol.invitations import PARTSTAT
from protocol.when import parse_when
from protocol.writing import check_address
from workers.dav import expand
from workers.dav.event_fields import PRODID
from workers.dav.event_text import one_line
from workers.dav.occurrences import as_datetime, repeats, rule_occurrences, same_moment

NOTHING_DONE = "Nothing was sent or changed."
MAX_ADDRESS = 256
_SUBJECT = {"accept": "Accepted", "decline": "Declined", "tentative": "Tentative"}
_VERB = {"accept": "accepted", "decline": "declined", "tentative": "tentatively accepted"}


@dataclass
class Invite:
    calendar: Calendar
    method: str
    uid: str
    events: list[Event]  # every VEVENT of the invitation's UID: the series first
    sequence: int
    organizer: str | None  # the address, lower case, without mailto:
    summary: str

    @property
    def master(self) -> Event:
        return self.events[0]


def address_of(value: Any) -> str:
    """The mail address of an ORGANIZER or ATTENDEE value, lower case."""
    text = one_line(value)
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return text.strip().lower()


def sequence_of(events: list[Event]) -> int:
    found = [0]
    for event in events:
        try:
            found.append(int(str(event.get("SEQUENCE", 0))))
        except ValueError:
            continue
    return max(found)


def read_invite(text: str) -> Invite:
    """The invitation in ``text``; raises InvalidArgument when it is none we can answer."""
    try:
        calendar = expand.parse(text)
    except ValueError:
        raise InvalidArgument(
            f"The invitation in that email cannot be read (its calendar data is damaged). "
            f"{NOTHING_DONE}"
        ) from None
    events = [e for e in calendar.walk("VEVENT") if one_line(e.get("UID"))]
    if not events:
        raise InvalidArgument(
            f"That email holds no event invitation, so there is nothing to answer. {NOTHING_DONE}"
        )
    uid = one_line(events[0].get("UID"))
    if any(one_line(e.get("UID")) != uid for e in events):
        # RFC 5546 section 3.2: one iTIP message is about one UID. Answering only the
        # first would reply to an event the user never saw named in the mail's lines.
        raise InvalidArgument(
            "That email holds more than one event (with different UIDs), which no calendar "
            f"program sends as one invitation; answer it in the web interface. {NOTHING_DONE}"
        )
    mine = [e for e in events if one_line(e.get("UID")) == uid]
    mine.sort(key=lambda e: e.get("RECURRENCE-ID") is not None)
    organizer = mine[0].get("ORGANIZER")
    return Invite(
        calendar=calendar,
        method=one_line(calendar.get("METHOD")).upper() or "PUBLISH",
        uid=uid,
        events=mine,
        sequence=sequence_of(mine),
        # No mail address is longer (RFC 5321's path limit); a longer one is no address.
        organizer=address_of(organizer)[:MAX_ADDRESS] if organizer is not None else None,
        summary=one_line(mine[0].get("SUMMARY"))[:300] or "(no title)",
    )


_METHODS = ("PUBLISH", "REQUEST", "REPLY", "ADD", "CANCEL", "REFRESH", "COUNTER", "DECLINECOUNTER")


def shown_method(invite: Invite) -> str:
    """The METHOD for a sentence: one of RFC 5546's, or said to be none of them (a
    sender may write anything there)."""
    return invite.method if invite.method in _METHODS else "(unknown METHOD)"


def own_attendee(event: Event, identities: set[str]) -> Any:
    """The (first) ATTENDEE property that names the user, or None."""
    return next(iter(own_attendees(event, identities)), None)


def own_attendees(event: Event, identities: set[str]) -> list[Any]:
    """Every ATTENDEE property that names the user: an invitation may list them twice
    (an alias in another case, say), and the copy must not keep an old answer on one."""
    found = event.get("ATTENDEE")
    listed = found if isinstance(found, list) else [found] if found is not None else []
    return [a for a in listed if address_of(a) in identities]


def check_answerable(invite: Invite, response: str, identities: set[str]) -> Any:
    """The user's ATTENDEE in the invitation; raises Refused for a call that cannot be
    answered (wrong method for the response, not invited, the user's own event)."""
    if invite.method == "CANCEL" and response != "remove":
        raise Refused(
            f"That email cancels the event, so it cannot be {_VERB[response]}; use "
            f"response 'remove' to take it out of the calendar. {NOTHING_DONE}"
        )
    if invite.method != "CANCEL" and response == "remove":
        raise Refused(
            f"'remove' answers only a cancellation, and that email is an invitation "
            f"({shown_method(invite)}); accept, decline or answer tentative instead. {NOTHING_DONE}"
        )
    if invite.method not in ("REQUEST", "CANCEL"):
        raise Refused(
            f"That email is a calendar {shown_method(invite)} message, not an invitation to answer. "
            f"{NOTHING_DONE}"
        )
    if invite.organizer and invite.organizer in identities:
        raise Refused(
            f"You organise this event yourself, so there is no invitation to answer. {NOTHING_DONE}"
        )
    attendee = next(
        (a for a in (own_attendee(e, identities) for e in invite.events) if a is not None), None
    )
    if attendee is None and invite.method == "REQUEST":
        raise Refused(
            f"The invitation does not name you ({', '.join(sorted(identities))}) "
            f"among its attendees, so it cannot be answered from here. {NOTHING_DONE}"
        )
    if invite.method == "REQUEST":
        check_placeable(invite)
    if invite.method == "REQUEST" and not invite.organizer:
        raise Refused(f"The invitation names no organizer to answer. {NOTHING_DONE}")
    return attendee


_TOO_OFTEN = ("SECONDLY", "MINUTELY", "HOURLY")
EARLIEST_SERIES = 1970


def check_placeable(invite: Invite) -> None:
    """Refuse a series no person schedules (every second, minute or hour; or repeating
    since before EARLIEST_SERIES): in a calendar it would cost every later query of it
    (the server's and ours) millions of steps."""
    for event in invite.events:
        rules = event.get("RRULE")
        for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
            frequency = str((rule.get("FREQ") or [""])[0]).upper()
            start = getattr(event.get("DTSTART"), "dt", None)
            year = start.year if isinstance(start, date) else EARLIEST_SERIES
            if frequency in _TOO_OFTEN or year < EARLIEST_SERIES:
                how = (
                    f"every {frequency.lower().removesuffix('ly')}"
                    if frequency in _TOO_OFTEN
                    else f"since the year {year}"
                )
                raise Refused(
                    f"The event repeats {how}, which this server does not put into "
                    f"a calendar; answer it in the web interface if it is real. {NOTHING_DONE}"
                )


def occurrence_of(invite: Invite, occurrence: str, zone: tzinfo) -> date | datetime:
    """The RECURRENCE-ID value of the occurrence the user named by its (original) date or
    time; raises InvalidArgument when the invitation has no such occurrence."""
    wanted = parse_when(occurrence, "occurrence")
    for event in invite.events[1:] if invite.master.get("RECURRENCE-ID") is None else invite.events:
        rid = event.get("RECURRENCE-ID")
        if rid is not None and _names(rid.dt, wanted, zone):
            return rid.dt  # type: ignore[no-any-return]
    master = invite.master
    if master.get("RECURRENCE-ID") is not None or not repeats(master):
        raise InvalidArgument(
            f"The event does not repeat (or this email is about one occurrence "
            f"only); leave out occurrence. {NOTHING_DONE}"
        )
    day = wanted.date() if isinstance(wanted, datetime) else wanted
    try:  # a day at the edge of the calendar (year 1, 9999) has no days around it
        around = as_datetime(day, zone)
        found = rule_occurrences(
            invite.calendar, master, around - timedelta(days=1), around + timedelta(days=2), zone
        )
    except (OverflowError, ValueError):
        found = []
    for one in found:
        if one.original_start is not None and _names(one.original_start, wanted, zone):
            return one.original_start
    raise InvalidArgument(
        f"The event has no occurrence on {occurrence}; give the date of one of its "
        f"occurrences as the invitation first set it. {NOTHING_DONE}"
    )


def _names(value: date | datetime, wanted: date | datetime, zone: tzinfo) -> bool:
    """Whether the user's ``wanted`` (a day, or a time) names the occurrence ``value``."""
    if isinstance(wanted, datetime):
        if not isinstance(value, datetime):
            return False
        given = wanted if wanted.tzinfo else wanted.replace(tzinfo=zone)
        return same_moment(as_datetime(value, zone), given)
    if isinstance(value, datetime):
        local = value.astimezone(zone) if value.tzinfo else value
        return local.date() == wanted or value.date() == wanted
    return value == wanted


def reply_key(invite: Invite, rid: date | datetime | None, response: str) -> str:
    """What names one answer (for the mark that sends it once): letters and digits."""
    text = f"{invite.uid}\n{invite.sequence}\n{rid_text(rid)}\n{response}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def rid_text(rid: date | datetime | None) -> str:
    if rid is None:
        return ""
    if isinstance(rid, datetime) and rid.tzinfo is not None:
        return rid.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return rid.strftime("%Y%m%dT%H%M%S") if isinstance(rid, datetime) else rid.strftime("%Y%m%d")


def with_partstat(attendee: Any, partstat: str) -> vCalAddress:
    """A copy of the user's ATTENDEE with the new PARTSTAT (RSVP dropped: answered)."""
    answer = vCalAddress(str(attendee))
    for name, value in getattr(attendee, "params", {}).items():
        if name.upper() not in ("PARTSTAT", "RSVP"):
            answer.params[name] = value
    answer.params["PARTSTAT"] = partstat
    return answer


def build_reply(
    invite: Invite, attendee: Any, response: str, rid: date | datetime | None, comment: str | None
) -> Calendar:
    """The METHOD:REPLY object: the same UID, SEQUENCE and RECURRENCE-ID, the ORGANIZER,
    only the user's ATTENDEE with the new PARTSTAT, the comment, a new DTSTAMP."""
    source = invite.master
    if rid is not None:
        source = next(
            (
                e
                for e in invite.events
                if e.get("RECURRENCE-ID") is not None and e["RECURRENCE-ID"].dt == rid
            ),
            invite.master,
        )
    event = Event()
    event.add("UID", invite.uid)
    event.add("DTSTAMP", datetime.now(UTC))
    event.add("SEQUENCE", sequence_of([source]))
    for name in ("ORGANIZER", "SUMMARY"):
        if source.get(name) is not None:
            event[name] = source[name]
    if rid is not None:
        event.add("RECURRENCE-ID", rid)
        if source is invite.master:
            length = length_of(source)
            event.add("DTSTART", rid)
            if length is not None:
                event.add("DTEND", rid + length)
    if "DTSTART" not in event:
        for name in ("DTSTART", "DTEND", "DURATION"):
            if source.get(name) is not None:
                event[name] = source[name]
    event.add("ATTENDEE", with_partstat(attendee, PARTSTAT[response]))
    if comment:
        event.add("COMMENT", comment)
    reply = Calendar()
    reply.add("PRODID", PRODID)
    reply.add("VERSION", "2.0")
    reply.add("METHOD", "REPLY")
    for zone in invite.calendar.walk("VTIMEZONE"):
        reply.add_component(copy.deepcopy(zone))
    reply.add_component(event)
    return reply


def length_of(event: Event) -> timedelta | None:
    start, end = event.get("DTSTART"), event.get("DTEND")
    if start is not None and end is not None:
        try:
            return end.dt - start.dt  # type: ignore[no-any-return]
        except TypeError:
            return None
    duration = event.get("DURATION")
    return duration.dt if duration is not None else None


_BARE_ADDRESS = re.compile(r"[^\s<>\"(),;:\\\[\]@]+@[^\s<>\"(),;:\\\[\]@]+\Z")


def is_bare_address(text: str | None) -> bool:
    """Whether ``text`` is one plain address (name@domain), nothing more."""
    return bool(text) and _BARE_ADDRESS.match(text or "") is not None


def organizer_address(invite: Invite) -> str:
    """Where the reply goes; raises Refused for an address mail cannot go to. An
    ORGANIZER is a bare mailto: address (RFC 5545 CAL-ADDRESS): a display name or a
    second address in it ('"boss@x" <eve@y>') would show the user one recipient and
    send to another."""
    address = invite.organizer or ""
    try:
        if not _BARE_ADDRESS.match(address):
            raise ValueError(address)
        check_address(address, "the invitation's organizer")
    except ValueError:
        raise Refused(
            f"The invitation's organizer has no address a reply can be mailed to. {NOTHING_DONE}"
        ) from None
    return address


def reply_mail(
    reply: Calendar,
    invite: Invite,
    response: str,
    sender: str,
    comment: str | None,
    in_reply_to: str | None,
) -> bytes:
    """The iMIP message: multipart/alternative, a text part and the REPLY as
    ``text/calendar; method=REPLY; charset=utf-8`` (RFC 6047 section 2.4)."""
    to = organizer_address(invite)
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = f"{_SUBJECT[response]}: {invite.summary}"
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    if in_reply_to and all(c not in in_reply_to for c in "\r\n\x00"):
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    text = f"{sender} has {_VERB[response]} the invitation to {invite.summary}."
    if comment:
        text += f"\n\n{comment}"
    message.set_content(text + "\n")
    message.add_alternative(
        reply.to_ical().decode(), subtype="calendar", params={"method": "REPLY"}
    )
    return message.as_bytes()
