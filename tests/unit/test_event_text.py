"""The calendar search's text test: a raw object is ruled out only when it cannot match."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar, Event, vCalAddress

from workers.dav.event_text import TextQuery, event_text

ICS = Path(__file__).resolve().parent.parent / "data" / "ics"
# Printable text with what iCalendar escapes or folds: commas, semicolons, backslashes,
# line breaks, quotes, and letters outside ASCII (folding may fall inside them).
TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from(",;\\\n\"'"),
    min_size=1,
    max_size=120,
)


def one_event(summary: str, description: str, location: str, attendee: str) -> str:
    event = Event()
    event.add("UID", "u@tests")
    event.add("DTSTART", datetime(2026, 3, 1, 9, tzinfo=UTC))
    event.add("SUMMARY", summary)
    event.add("DESCRIPTION", description)
    event.add("LOCATION", location)
    address = vCalAddress("mailto:ben.ott@example.org")
    address.params["CN"] = attendee
    event.add("ATTENDEE", address)
    calendar = Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", "-//tests//EN")
    calendar.add_component(event)
    return calendar.to_ical().decode()


def words_of(component: object, seed: int) -> str:
    text = event_text(component)
    haystack = " ".join(
        [text.summary, text.description or "", text.location or "", *text.attendees]
    )
    words = haystack.split()
    rng = random.Random(seed)
    picked = rng.sample(words, min(len(words), 3))
    # Parts of words too: a search word may be any piece of what stands there.
    return " ".join(w[rng.randrange(len(w)) :] for w in picked)


@settings(max_examples=200, deadline=None)
@given(TEXT, TEXT, TEXT, TEXT, st.integers(0, 2**32))
def test_an_object_whose_event_matches_is_never_ruled_out_by_its_raw_text(
    summary: str, description: str, location: str, attendee: str, seed: int
) -> None:
    ics = one_event(summary, description, location, attendee)
    (component,) = Calendar.from_ical(ics).walk("VEVENT")
    query = TextQuery(words_of(component, seed))
    assert query.matches(component)
    assert query.may_match(ics)


def test_every_event_of_the_test_calendars_passes_the_raw_text_test_with_its_own_words() -> None:
    checked = 0
    for path in sorted(ICS.glob("*.ics")):
        ics = path.read_text()
        try:
            components = Calendar.from_ical(ics).walk("VEVENT")
        except Exception:
            continue  # the hostile ones; the search guards their parsing
        for seed, component in enumerate(components[:50]):
            query = TextQuery(words_of(component, seed))
            if query.words and query.matches(component):
                assert query.may_match(ics), (path.name, query.words)
                checked += 1
    assert checked > 10


def test_an_object_without_the_words_is_ruled_out_before_parsing() -> None:
    ics = one_event("Team meeting", "Agenda: budget", "Room 2", "Ben Ott")
    assert not TextQuery("dentist").may_match(ics)
    assert not TextQuery("budget dentist").may_match(ics)
    assert TextQuery("BUDGET room").may_match(ics)


def test_words_are_found_across_a_folded_line_and_in_escaped_text() -> None:
    long_summary = "x" * 70 + "Zahnarzttermin, Praxis; Dr.\\Weber"
    ics = one_event(long_summary, "line one\nline two", "Berlin", "Müller, Anna")
    assert "\r\n " in ics  # icalendar folded the summary
    (component,) = Calendar.from_ical(ics).walk("VEVENT")
    for query in ("zahnarzttermin, praxis;", "dr.\\weber", "two", "müller,"):
        assert TextQuery(query).matches(component), query
        assert TextQuery(query).may_match(ics), query


def test_an_event_without_a_title_is_not_found_by_the_words_shown_in_its_place() -> None:
    ics = one_event("", "", "", "Ben")
    (component,) = Calendar.from_ical(ics).walk("VEVENT")
    assert not TextQuery("title").matches(component)
