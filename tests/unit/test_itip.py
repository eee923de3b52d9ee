"""Reading an invitation and writing the REPLY (workers/dav/itip.py), and how the user's own
answer counts in free/busy (workers/dav/freebusy.blocking): pure functions."""

from __future__ import annotations

import email
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event

from protocol.errors import InvalidArgument, Refused
from tests.invitation_mail import filled
from workers.dav import freebusy, itip

ME, ORGANIZER = "me@example.test", "olga@example.test"
BERLIN = ZoneInfo("Europe/Berlin")


def invite(template: str, **fields: str) -> itip.Invite:
    values = {"UID": "u-1@example.test", "ME": ME, "ORGANIZER": ORGANIZER, **fields}
    return itip.read_invite(filled(template, **values))


def test_the_reply_carries_uid_sequence_the_organizer_and_only_the_users_answer() -> None:
    found = invite("outlook-request.ics")
    attendee = itip.check_answerable(found, "tentative", {ME})
    reply = itip.build_reply(found, attendee, "tentative", None, "Maybe.")
    (event,) = reply.walk("VEVENT")
    assert str(reply["METHOD"]) == "REPLY" and str(event["UID"]) == "u-1@example.test"
    assert int(event["SEQUENCE"]) == 0 and str(event["COMMENT"]) == "Maybe."
    answer = event["ATTENDEE"]
    assert str(answer) == f"mailto:{ME}" and answer.params["PARTSTAT"] == "TENTATIVE"
    assert "RSVP" not in answer.params
    assert [str(z["TZID"]) for z in reply.walk("VTIMEZONE")] == ["W. Europe Standard Time"]


def test_an_occurrence_is_named_by_its_original_date_and_gets_its_recurrence_id() -> None:
    found = invite("google-series.ics")
    moved = itip.occurrence_of(found, "2027-03-15", BERLIN)
    assert moved == datetime(2027, 3, 15, 9, 0, tzinfo=moved.tzinfo)
    plain = itip.occurrence_of(found, "2027-03-08", BERLIN)
    assert isinstance(plain, datetime) and (plain.day, plain.hour) == (8, 9)
    for day in ("2027-03-09", "9999-12-31", "0001-01-01"):  # the edges have no days around
        with pytest.raises(InvalidArgument, match=f"no occurrence on {day}"):
            itip.occurrence_of(found, day, BERLIN)


def test_the_same_answer_has_the_same_key_and_another_answer_another() -> None:
    found = invite("google-series.ics")
    assert itip.reply_key(found, None, "accept") == itip.reply_key(found, None, "accept")
    assert itip.reply_key(found, None, "accept") != itip.reply_key(found, None, "decline")
    assert itip.reply_key(found, None, "accept").isalnum()


@pytest.mark.parametrize(
    ("template", "response", "identities", "words"),
    [
        ("ox-request.ics", "remove", {ME}, "'remove' answers only a cancellation"),
        ("ox-cancel.ics", "decline", {ME}, "use response 'remove'"),
        ("ox-request.ics", "accept", {"other@example.test"}, "does not name you"),
        ("ox-request.ics", "accept", {ME, ORGANIZER}, "organise"),
    ],
)
def test_calls_that_cannot_be_answered_are_refused(
    template: str, response: str, identities: set[str], words: str
) -> None:
    found = invite(template, SEQUENCE="0", SUMMARY="Sync")
    with pytest.raises(Refused, match=words):
        itip.check_answerable(found, response, identities)


def test_damaged_calendar_data_is_one_sentence() -> None:
    with pytest.raises(InvalidArgument, match="cannot be read"):
        itip.read_invite("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n")


def event_with(partstat: str | None, status: str | None = None) -> Event:
    event = Event()
    if status:
        event.add("STATUS", status)
    if partstat:
        event.add("ATTENDEE", f"mailto:{ME.upper()}", parameters={"PARTSTAT": partstat})
    return event


@pytest.mark.parametrize(
    ("partstat", "status", "counts"),
    [
        ("DECLINED", None, None),
        ("TENTATIVE", None, True),
        ("ACCEPTED", None, False),
        ("ACCEPTED", "TENTATIVE", True),
        (None, "CANCELLED", None),
        (None, None, False),
    ],
)
def test_the_users_own_answer_decides_how_an_event_blocks_free_busy(
    partstat: str | None, status: str | None, counts: bool | None
) -> None:
    assert freebusy.blocking(event_with(partstat, status), frozenset({ME})) is counts


def test_a_reply_mail_is_multipart_alternative_with_a_method_reply_part() -> None:
    found = invite("ox-request.ics", SEQUENCE="3", SUMMARY="Sync")
    attendee = itip.check_answerable(found, "accept", {ME})
    raw = itip.reply_mail(
        itip.build_reply(found, attendee, "accept", None, None), found, "accept", ME, None, "<a@b>"
    )
    mail = email.message_from_bytes(raw)
    assert mail.get_content_type() == "multipart/alternative" and mail["To"] == ORGANIZER
    assert mail["In-Reply-To"] == "<a@b>" and mail["Subject"] == "Accepted: Sync"
    (part,) = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REPLY"
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert int(Calendar.from_ical(payload).walk("VEVENT")[0]["SEQUENCE"]) == 3


@pytest.mark.parametrize(
    ("rule", "start", "words"),
    [
        ("FREQ=SECONDLY", "20270101T100000Z", "repeats every second"),
        ("FREQ=HOURLY", "20270101T100000Z", "repeats every hour"),
        ("FREQ=DAILY", "00010101T100000Z", "repeats since the year 1"),
    ],
)
def test_a_series_no_person_schedules_is_not_put_into_the_calendar(
    rule: str, start: str, words: str
) -> None:
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:e@x\r\n"
        f"DTSTART:{start}\r\nRRULE:{rule}\r\nATTENDEE:mailto:{ME}\r\n"
        f"ORGANIZER:mailto:{ORGANIZER}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    with pytest.raises(Refused, match=words):
        itip.check_answerable(itip.read_invite(text), "accept", {ME})
