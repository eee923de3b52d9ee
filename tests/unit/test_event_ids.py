"""Event ids: short, exact round trips, and never a path outside their calendar."""

from __future__ import annotations

import base64

import msgspec
import pytest

from protocol.errors import InvalidArgument
from workers.dav.ids import EventId

CALENDAR = "/anna@example.org/calendars/calendar/"


def legacy(calendar: str, href: str, uid: str, recurrence: str = "") -> str:
    """An id in the first, longer form: absolute href, UID always written."""
    raw = msgspec.msgpack.encode([calendar, href, uid, recurrence])
    return "ev_" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "event",
    [
        EventId(CALENDAR, CALENDAR + "standup@tests.ics", "standup@tests", "20260309T090000Z"),
        EventId(CALENDAR, CALENDAR + "file-name.ics", "another-uid", ""),
        EventId(CALENDAR, CALENDAR + "no-suffix", "no-suffix", ""),
        EventId(CALENDAR, CALENDAR + "Caf%C3%A9.ics", "Café", ""),
        EventId("/cal", "/cal/x.ics", "x", ""),
    ],
)
def test_an_id_reads_back_as_exactly_the_event_it_names(event: EventId) -> None:
    assert EventId.parse(str(event)) == event


def test_an_id_names_the_calendar_once_and_the_uid_only_where_the_file_name_differs() -> None:
    usual = EventId(CALENDAR, CALENDAR + "standup@tests.ics", "standup@tests", "20260309T090000Z")
    assert len(str(usual)) < len(legacy(*msgspec.structs.astuple(usual))) * 2 / 3


def test_ids_of_the_older_longer_form_still_read() -> None:
    href = CALENDAR + "standup@tests.ics"
    assert EventId.parse(legacy(CALENDAR, href, "standup@tests")) == EventId(
        CALENDAR, href, "standup@tests"
    )


@pytest.mark.parametrize(
    "href",
    [
        "../other/x.ics",
        "/elsewhere/x.ics",
        "//evil.example/x.ics",
        "a/../../x.ics",
        "x\r\n.ics",
        "",
        "sub/",
        "sub/x.ics",
        CALENDAR,
        CALENDAR.rstrip("/"),
    ],
)
def test_an_id_pointing_outside_its_calendar_is_refused(href: str) -> None:
    raw = msgspec.msgpack.encode([CALENDAR, href, "x", ""])
    forged = "ev_" + base64.urlsafe_b64encode(raw).decode()
    with pytest.raises(InvalidArgument, match="is not an event id"):
        EventId.parse(forged)


def test_an_id_without_uid_needs_a_file_name_to_take_it_from() -> None:
    raw = msgspec.msgpack.encode([CALENDAR, "no-suffix", None, ""])
    with pytest.raises(InvalidArgument):
        EventId.parse("ev_" + base64.urlsafe_b64encode(raw).decode())


@pytest.mark.parametrize(
    "recurrence",
    ["20260309T090000Z", "20260309T100000", "20260309", "00010102", "20260309T090030Z"],
)
def test_an_occurrence_id_is_its_series_id_and_a_short_key(recurrence: str) -> None:
    occurrence = EventId(CALENDAR, CALENDAR + "standup@tests.ics", "standup@tests", recurrence)
    series = EventId(CALENDAR, CALENDAR + "standup@tests.ics", "standup@tests")
    series_id, dot, key = str(occurrence).partition(".")
    assert (series_id, dot) == (str(series), ".") and EventId.parse(str(occurrence)) == occurrence
    assert len(key) <= 8 or key == "r" + recurrence


def test_ids_of_the_older_form_with_the_recurrence_inside_still_read() -> None:
    href = CALENDAR + "standup@tests.ics"
    old = legacy(CALENDAR, href, "standup@tests", "20260309T090000Z")
    assert EventId.parse(old) == EventId(CALENDAR, href, "standup@tests", "20260309T090000Z")
    assert len(str(EventId.parse(old))) < len(old) - 20


@pytest.mark.parametrize("key", ["", "x1", "u", "uZZ", "u1.2", "d99999999999", "r2026"])
def test_a_made_up_occurrence_key_is_refused(key: str) -> None:
    series = str(EventId(CALENDAR, CALENDAR + "standup@tests.ics", "standup@tests"))
    with pytest.raises(InvalidArgument, match="is not an event id"):
        EventId.parse(f"{series}.{key}")
