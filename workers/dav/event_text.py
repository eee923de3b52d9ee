"""The words of an event, as answers show them, and the search over them.

A search over two years of a busy calendar would otherwise parse and expand
every object only to drop most of them: ``TextQuery.may_match`` rules an object
out from its raw iCalendar text before it is parsed, and ``matches`` decides on
each parsed VEVENT (a series, or one of its overrides).
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

_UNFOLD = re.compile(r"\r?\n[ \t]")
_RUNS = re.compile(r"\w+")


class EventText(NamedTuple):
    summary: str  # "" when the event has none
    location: str | None
    description: str | None
    attendees: list[str]


def event_text(component: Any) -> EventText:
    """The words of a VEVENT as an answer shows them."""
    return EventText(
        summary=one_line(component.get("SUMMARY")),
        location=one_line(component.get("LOCATION")) or None,
        description=(
            str(component.get("DESCRIPTION"))[:5000] if component.get("DESCRIPTION") else None
        ),
        attendees=attendees(component)[:50],
    )


def one_line(value: Any) -> str:
    """A property's text with its white space runs folded to single spaces."""
    return " ".join(str(value).split()) if value is not None else ""


def attendees(component: Any) -> list[str]:
    """Each ATTENDEE as 'Name <address>', or the bare address."""
    found = component.get("ATTENDEE")
    if found is None:
        return []
    result = []
    for attendee in found if isinstance(found, list) else [found]:
        address = str(attendee).removeprefix("mailto:").removeprefix("MAILTO:")
        name = getattr(attendee, "params", {}).get("CN")
        result.append(f"{name} <{address}>" if name else address)
    return result


class TextQuery:
    """Every word of a query, case-insensitively, in an event's summary, description,
    location or attendees. Made for one call (it remembers its verdicts)."""

    def __init__(self, query: str) -> None:
        self.words = query.casefold().split()
        # The letters and digits of each word: whatever else an object's text holds
        # between them (escapes, folding, quoting), these stand in it unbroken.
        self._runs = {run for word in self.words for run in _RUNS.findall(word)}
        # By id(), as a series' occurrences share its component; the component is kept
        # beside its verdict so that its id cannot pass to another one during the call.
        self._judged: dict[int, tuple[Any, bool]] = {}

    def may_match(self, ics: str) -> bool:
        """False only when no event in this raw iCalendar text can match."""
        text = _UNFOLD.sub("", ics).casefold()
        return all(run in text for run in self._runs)

    def matches(self, component: Any) -> bool:
        """Whether this VEVENT holds every word."""
        judged = self._judged.get(id(component))
        if judged is None:
            text = event_text(component)
            haystack = " ".join(
                [text.summary, text.description or "", text.location or "", *text.attendees]
            ).casefold()
            judged = (component, all(word in haystack for word in self.words))
            self._judged[id(component)] = judged
        return judged[1]
