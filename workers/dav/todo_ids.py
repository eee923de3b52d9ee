"""Task ids: an event id (``workers.dav.ids.EventId``) with its own prefix.

The body is EventId's, so a task id gets the same confinement (an object of our own
server, directly inside its collection); only the prefix differs (``td_`` rather than
``ev_``), so an event id given to a task tool, or a task id to an event tool, is
told apart before anything is read and refused with the right tool's name.

A repeating task's id also names the occurrence it was listed at (its DTSTART, or DUE,
as an occurrence key): completing it completes that occurrence only, so the same id
given twice (a retry, or two calls at once) moves the task on once, never twice.
"""

from __future__ import annotations

from datetime import date, datetime

from icalendar import Todo

from protocol.errors import InvalidArgument
from workers.dav import todo_fields as tf
from workers.dav.ids import EventId

TASK_PREFIX = "td_"
EVENT_PREFIX = "ev_"


def task_id(collection: str, href: str, uid: str, occurrence: str = "") -> str:
    """The id list_tasks gives a task (a whole VTODO object; a repeating one's also
    names the occurrence it is at)."""
    return TASK_PREFIX + str(EventId(collection, href, uid, occurrence))[len(EVENT_PREFIX) :]


def occurrence_of(todo: Todo) -> str:
    """The occurrence a repeating task is at, as an id names it ("" for one that does not
    repeat, or has no date to count from)."""
    anchor = tf.when_value(todo, "DTSTART") or tf.when_value(todo, "DUE")
    if not tf.repeats(todo) or anchor is None or not 1 < anchor.year < 9999:
        return ""  # an id names only what every zone can hold (workers.dav.ids)
    if not isinstance(anchor, datetime):
        return f"{anchor:%Y%m%d}" if isinstance(anchor, date) else ""
    if anchor.tzinfo is not None and anchor.tzname() == "UTC":
        return f"{anchor:%Y%m%dT%H%M%S}Z"
    return f"{anchor:%Y%m%dT%H%M%S}"


def parse_task_id(text: str) -> EventId:
    """The collection, object, UID (and occurrence) a task id names. Raises
    InvalidArgument."""
    if text.startswith(EVENT_PREFIX):
        raise InvalidArgument(
            "That is an event id, not a task id; change or delete events with update_event "
            "or delete_event, and tasks with ids from list_tasks."
        )
    shown = text if len(text) < 60 else text[:57] + "..."
    wrong = InvalidArgument(
        f"'{shown}' is not a task id; use an id exactly as list_tasks or create_task gave it."
    )
    if not text.startswith(TASK_PREFIX):
        raise wrong
    try:
        return EventId.parse(EVENT_PREFIX + text[len(TASK_PREFIX) :])
    except InvalidArgument:
        raise wrong from None
