"""A VTODO as list_tasks shows it, and the properties create_task and update_task write.

Reading never refuses: a task is somebody's data, so a missing DUE, a DUE before its
DTSTART, a PRIORITY of 42 or a date in year 9999 is shown as far as it makes sense,
with a note. Writing changes only the properties asked for; everything else in the
component (X- properties, alarms, attachments) stays as it was.

Priorities follow RFC 5545 3.8.1.9: 1 to 4 high, 5 medium, 6 to 9 low, 0 undefined.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from icalendar import Alarm, Todo

from protocol.errors import InvalidArgument
from protocol.tasks import Priority
from protocol.when import aware, parse_when
from workers.dav.event_fields import moment
from workers.dav.event_text import one_line

PRIORITY_VALUES: dict[Priority, int] = {"high": 1, "medium": 5, "low": 9}


def priority_name(value: Any) -> Priority | None:
    """high, medium or low for an iCalendar PRIORITY; None for 0, none or nonsense."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    if 1 <= number <= 4:
        return "high"
    if number == 5:
        return "medium"
    if 6 <= number <= 9:
        return "low"
    return None


def when_value(todo: Todo, name: str) -> date | datetime | None:
    """DUE or DTSTART as stored (None where absent or unreadable)."""
    prop = todo.get(name)
    value = getattr(prop, "dt", None)
    return value if isinstance(value, date) else None


def due_value(todo: Todo) -> date | datetime | None:
    """DUE, or DTSTART + DURATION for a task that says how long instead (RFC 5545)."""
    due = when_value(todo, "DUE")
    if due is not None:
        return due
    start, duration = when_value(todo, "DTSTART"), getattr(todo.get("DURATION"), "dt", None)
    if start is not None and isinstance(duration, timedelta):
        try:
            return start + duration
        except OverflowError:
            return None
    return None


def shown(value: date | datetime, zone: tzinfo) -> str:
    """A date as a date; a date-time with its offset in the user's zone (in UTC at the
    very ends of the calendar, where the zone's offset would leave it)."""
    if not isinstance(value, datetime):
        return value.isoformat()
    instant = aware(value, zone)
    try:
        return instant.astimezone(zone).isoformat()
    except OverflowError:
        return instant.isoformat()


def instant_of(value: date | datetime, zone: tzinfo) -> datetime:
    """When a date or date-time falls, for ordering (a date: its midnight in the zone)."""
    return aware(value, zone)


def is_overdue(due: date | datetime | None, done: bool, now: datetime) -> bool:
    """Open and due before now (a task due today, as a date, is not yet overdue)."""
    if due is None or done:
        return False
    if not isinstance(due, datetime):
        return due < now.date()
    return aware(due, now.tzinfo or UTC) < now


def sort_key(due_at: datetime | None, overdue: bool, summary: str) -> tuple[int, datetime, str]:
    """Overdue first, then by due date, undated last; ties by summary."""
    group = 0 if overdue else (1 if due_at is not None else 2)
    return group, due_at or datetime.max.replace(tzinfo=UTC), summary.casefold()


def categories(todo: Todo) -> list[str]:
    found = todo.get("CATEGORIES")
    values = found if isinstance(found, list) else [found] if found is not None else []
    names: list[str] = []
    for value in values:
        cats = getattr(value, "cats", None)
        items = cats if isinstance(cats, list) else str(value).split(",")
        names += [one_line(c) for c in items if one_line(c)]
    return names[:50]


def percent(todo: Todo) -> int | None:
    try:
        value = int(str(todo.get("PERCENT-COMPLETE")))
    except (TypeError, ValueError):
        return None
    return value if 0 <= value <= 100 else None


def is_done(todo: Todo) -> bool:
    status = one_line(todo.get("STATUS")).upper()
    return status in ("COMPLETED", "CANCELLED") or (
        status == "" and todo.get("COMPLETED") is not None
    )


def repeats(todo: Todo) -> bool:
    return todo.get("RRULE") is not None or todo.get("RDATE") is not None


def rule_text(todo: Todo) -> str | None:
    rule = todo.get("RRULE")
    if isinstance(rule, list):
        rule = rule[0] if rule else None
    if rule is None:
        return None
    try:
        return one_line(rule.to_ical().decode())[:200]
    except Exception:  # a rule icalendar kept but cannot write back
        return "(unreadable)"


# -- writing -------------------------------------------------------------------------


@dataclass
class Dates:
    """The due and start a call gives, read in the user's zone (None: not given)."""

    due: date | datetime | None = None
    start: date | datetime | None = None
    notes: list[str] = field(default_factory=list)


def read_when(text: str, zone: tzinfo) -> date | datetime:
    """A due or start: a date stays a date, a date-time becomes one in the user's zone.
    Raises InvalidArgument."""
    try:
        value = parse_when(text, "due/start")
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from None
    return value if not isinstance(value, datetime) else moment(text, zone)


def set_when(todo: Todo, name: str, value: date | datetime | None) -> None:
    """DUE or DTSTART set (or removed with None); a DUE replaces any DURATION."""
    todo.pop(name, None)
    if name == "DUE":
        todo.pop("DURATION", None)
    if value is not None:
        todo.add(name, value)


def check_order(todo: Todo) -> None:
    """DUE and DTSTART as RFC 5545 wants them: the same value type, due not before the
    start. Raises InvalidArgument."""
    due, start = when_value(todo, "DUE"), when_value(todo, "DTSTART")
    if due is None or start is None:
        return
    if isinstance(due, datetime) != isinstance(start, datetime):
        raise InvalidArgument(
            "due and start must both be dates or both date-times; give both the same way."
        )
    if instant_of(due, UTC) < instant_of(start, UTC):
        raise InvalidArgument("due must not be earlier than start.")


def set_text(todo: Todo, name: str, value: str | None) -> None:
    todo.pop(name, None)
    if value:
        todo.add(name, value)


def set_categories(todo: Todo, names: list[str] | None) -> None:
    todo.pop("CATEGORIES", None)
    if names:
        todo.add("CATEGORIES", names)


def set_priority(todo: Todo, name: Priority | None) -> None:
    todo.pop("PRIORITY", None)
    if name is not None:
        todo.add("PRIORITY", PRIORITY_VALUES[name])


def set_reminder(todo: Todo, minutes: int | None) -> None:
    """One display alarm before the due time (RELATED=END names DUE in a VTODO), or
    before the start without a due; None removes the alarms. Raises InvalidArgument."""
    todo.subcomponents = [c for c in todo.subcomponents if c.name != "VALARM"]
    if minutes is None:
        return
    related_to_due = todo.get("DUE") is not None
    if not related_to_due and todo.get("DTSTART") is None:
        raise InvalidArgument("A reminder needs a due date or a start; give 'due' as well.")
    alarm = Alarm()
    alarm.add("ACTION", "DISPLAY")
    alarm.add("DESCRIPTION", one_line(todo.get("SUMMARY")) or "Reminder")
    alarm.add(
        "TRIGGER",
        timedelta(minutes=-minutes),
        parameters={"RELATED": "END"} if related_to_due else None,
    )
    todo.add_component(alarm)


def mark_completed(todo: Todo, when: datetime) -> None:
    """STATUS:COMPLETED, COMPLETED (a UTC date-time, as RFC 5545 requires) and
    PERCENT-COMPLETE:100."""
    for name in ("STATUS", "COMPLETED", "PERCENT-COMPLETE"):
        todo.pop(name, None)
    todo.add("STATUS", "COMPLETED")
    todo.add("COMPLETED", when.astimezone(UTC).replace(microsecond=0))
    todo.add("PERCENT-COMPLETE", 100)


def reopen(todo: Todo) -> None:
    """Back to NEEDS-ACTION: COMPLETED and PERCENT-COMPLETE go."""
    for name in ("STATUS", "COMPLETED", "PERCENT-COMPLETE"):
        todo.pop(name, None)
    todo.add("STATUS", "NEEDS-ACTION")


def touch(todo: Todo, now: datetime) -> None:
    """LAST-MODIFIED, which task apps sort and sync by (DTSTAMP and SEQUENCE: bump)."""
    todo.pop("LAST-MODIFIED", None)
    todo.add("LAST-MODIFIED", now.astimezone(UTC).replace(microsecond=0))
