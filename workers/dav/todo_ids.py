"""Task ids: an event id (``workers.dav.ids.EventId``) with its own prefix.

The body is EventId's, so a task id gets the same confinement (an object of our own
server, directly inside its collection); only the prefix differs (``td_`` rather than
``ev_``), so an event id given to a task tool, or a task id to an event tool, is
told apart before anything is read and refused with the right tool's name.
"""

from __future__ import annotations

from protocol.errors import InvalidArgument
from workers.dav.ids import EventId

TASK_PREFIX = "td_"
EVENT_PREFIX = "ev_"


def task_id(collection: str, href: str, uid: str) -> str:
    """The id list_tasks gives a task (a whole VTODO object, never one occurrence)."""
    return TASK_PREFIX + str(EventId(collection, href, uid))[len(EVENT_PREFIX) :]


def parse_task_id(text: str) -> EventId:
    """The collection, object and UID a task id names. Raises InvalidArgument."""
    if text.startswith(EVENT_PREFIX):
        raise InvalidArgument(
            "That is an event id, not a task id; change or delete events with update_event "
            "or delete_event, and tasks with ids from list_tasks."
        )
    shown = text if len(text) < 60 else text[:57] + "..."
    wrong = InvalidArgument(
        f"'{shown}' is not a task id; use an id exactly as list_tasks or create_task gave it."
    )
    if not text.startswith(TASK_PREFIX) or "." in text:
        raise wrong
    try:
        found = EventId.parse(EVENT_PREFIX + text[len(TASK_PREFIX) :])
    except InvalidArgument:
        raise wrong from None
    if found.recurrence:
        raise wrong
    return found
