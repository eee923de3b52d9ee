"""The tasks of the task lists, read, filtered and put in the order list_tasks gives.

Task lists are the calendar collections whose supported components include VTODO.
Each object is read inside its own guard: one hostile VTODO gives a note, never a
failed listing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from caldav.davclient import DAVClient
from icalendar import Todo

from protocol import tasks as api
from protocol.errors import Refused
from protocol.when import aware
from workers.dav import client as dav
from workers.dav import expand
from workers.dav import todo_fields as tf
from workers.dav.event_text import one_line
from workers.dav.todo_ids import occurrence_of, task_id

MAX_TASKS = 5000
MAX_TODOS_PER_OBJECT = 200


def task_lists(calendars: list[dav.CalendarMeta], ref: str | None) -> list[dav.CalendarMeta]:
    """The collections holding tasks; with ``ref``, the one it names by id or name.
    Raises InvalidArgument for a name that is not a task list."""
    lists = [c for c in calendars if "VTODO" in c.components]
    if ref is None:
        return lists
    return dav.named(lists, ref, "task list")


def list_for_new_task(calendars: list[dav.CalendarMeta], ref: str | None) -> dav.CalendarMeta:
    """Where create_task puts a task: the list named, else the first writable one that
    holds only tasks (OX keeps tasks apart), else the first writable one holding tasks."""
    writable = [c for c in task_lists(calendars, ref) if not c.read_only]
    if not writable:
        raise Refused(
            "There is no task list here that accepts new tasks; make one in the web "
            "interface (or a task app) first."
        )
    only_tasks = [c for c in writable if c.components == ["VTODO"]]
    return (only_tasks or writable)[0]


@dataclass
class Listed:
    task: api.Task
    due_at: datetime | None
    done: bool
    words: str  # summary, description and categories, folded, for the query


@dataclass
class Found:
    tasks: list[Listed] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_lists(
    client: DAVClient,
    lists: list[dav.CalendarMeta],
    zone: tzinfo,
    now: datetime,
    parse: Callable[[dav.StoredObject], expand.Prepared],
) -> Found:
    """Every task of ``lists`` (one REPORT each), read; unordered. ``parse`` may reuse
    what it parsed before while an object's ETag holds (DavState.parsed)."""
    found = Found()
    for meta in lists:
        answer = dav.query(client, meta.url, None, None, component="VTODO")
        for stored in answer.objects:
            if len(found.tasks) >= MAX_TASKS:
                found.notes.append(f"Only the first {MAX_TASKS} tasks were read.")
                return found
            try:
                calendar = parse(stored).calendar  # shared: read, never changed
                todos = calendar.walk("VTODO")[:MAX_TODOS_PER_OBJECT]
                for todo in todos:
                    if todo.get("RECURRENCE-ID") is None or len(todos) == 1:
                        found.tasks.append(read_task(todo, meta, stored.href, zone, now, found))
                        break
            except Exception as exc:  # one hostile object must not sink the listing
                found.notes.append(
                    f"A task in {meta.name} could not be read ({type(exc).__name__}); it was "
                    "left out."
                )
    return found


def read_task(
    todo: Todo, meta: dav.CalendarMeta, href: str, zone: tzinfo, now: datetime, found: Found
) -> Listed:
    """One VTODO as list_tasks shows it; oddities go to ``found.notes``."""
    get = todo.get
    summary = one_line(get("SUMMARY"))[:1000] or "(no title)"
    due, start = tf.due_value(todo), tf.when_value(todo, "DTSTART")
    done = tf.is_done(todo)
    if due is not None and start is not None and _before(due, start, zone):
        found.notes.append(f"'{summary[:80]}' is due before it starts (as stored).")
    priority = get("PRIORITY")
    if priority is not None and tf.priority_name(priority) is None and str(priority) != "0":
        found.notes.append(f"'{summary[:80]}' has a priority that means nothing ({priority}).")
    recurring = tf.repeats(todo)
    rule = tf.rule_text(todo) if recurring else None
    if recurring and start is None and due is None:
        found.notes.append(f"'{summary[:80]}' repeats but has no date to count from.")
    completed = getattr(get("COMPLETED"), "dt", None)
    categories = tf.categories(todo)
    description = str(get("DESCRIPTION"))[:5000] if get("DESCRIPTION") else None
    status = one_line(get("STATUS")).upper()[:20] or None
    overdue = tf.is_overdue(due, done, now)
    task = api.Task(
        id=task_id(meta.path, href, str(get("UID", "")), occurrence_of(todo)),
        summary=summary,
        task_list=meta.name,
        due=tf.shown(due, zone) if due is not None else None,
        start=tf.shown(start, zone) if start is not None else None,
        overdue=overdue,
        priority=tf.priority_name(priority),
        status=status,
        percent_complete=tf.percent(todo),
        completed=tf.shown(completed, zone) if isinstance(completed, date) else None,
        categories=categories,
        recurring=recurring,
        rule=rule,
        description=description,
    )
    words = " ".join([summary, description or "", *categories]).casefold()
    return Listed(task, tf.instant_of(due, zone) if due is not None else None, done, words)


def _before(due: date | datetime, start: date | datetime, zone: tzinfo) -> bool:
    return aware(due, zone) < aware(start, zone)


def chosen(
    found: list[Listed], include_completed: bool, due_before: datetime | None, query: str | None
) -> list[Listed]:
    """The tasks asked for, overdue first, then by due date, undated last."""
    words = query.casefold().split() if query else []
    kept = [
        t
        for t in found
        if (include_completed or not t.done)
        and (due_before is None or (t.due_at is not None and t.due_at < due_before))
        and all(w in t.words for w in words)
    ]
    return sorted(kept, key=lambda t: tf.sort_key(t.due_at, t.task.overdue, t.task.summary))
