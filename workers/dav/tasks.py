"""The task tools of the DAV worker: list, create, change and delete VTODOs.

Reads carry the calendar's freshness token and per-collection tags (a task list is a
calendar collection), so a cached list of tasks is revalidated by ctag or sync-token
like a list of events. Writes go through If-Match (If-None-Match for new objects):
a task changed elsewhere meanwhile is a Conflict, never overwritten.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from caldav.davclient import DAVClient
from icalendar import Todo

from protocol import errors
from protocol import tasks as api
from protocol.when import parse_when, resolve
from workers.dav import client as dav
from workers.dav import expand, paging, todo_edit
from workers.dav import todo_fields as tf
from workers.dav import todo_query as tq
from workers.dav.event_text import one_line
from workers.dav.handlers import (
    CALENDARS_TAG,
    DavState,
    _recent_listing,
    calendar_tag,
    listing,
)
from workers.dav.ids import EventId
from workers.dav.todo_ids import occurrence_of, parse_task_id, task_id
from workers.dav.versions import versions_token
from workers.dav.write_tools import new_object_href, store_new
from workers.runtime import CallContext, serves

# Cursors of list_tasks name no range: one fixed instant stands in for it.
_NO_RANGE = datetime(2000, 1, 1, tzinfo=UTC)
_NO_REPEATING_TASKS = (
    "The server does not accept repeating tasks (mailbox.org's does not), so nothing "
    "was saved; save it without 'recurrence' and set the next due date when it is done."
)

_DONE_ALREADY = (
    "That occurrence of the repeating task is already done (the id names the occurrence it "
    "was listed at), so nothing was changed; to complete the next one, use the id "
    "list_tasks gives now."
)


@contextmanager
def task_words(repeating: bool = False) -> Iterator[None]:
    """The calendar client's sentences, said of a task; a refused repeating task gets
    the sentence for servers without them."""
    try:
        yield
    except errors.Conflict:
        raise errors.Conflict(
            "The task was changed elsewhere since it was read, so nothing was changed; look "
            "it up again with list_tasks and repeat the change if it is still wanted."
        ) from None
    except errors.NotFound:
        raise errors.NotFound(
            "That task is no longer in its list; look it up again with list_tasks."
        ) from None
    except (errors.Refused, errors.ProtocolViolation) as exc:
        if repeating:
            raise errors.Refused(_NO_REPEATING_TASKS) from None
        text = exc.message.replace("the event", "the task").replace("new events", "new tasks")
        raise type(exc)(text, may_have_happened=exc.may_have_happened) from None


def _list_name(state: DavState, path: str) -> str:
    for meta in state.recent_listing[1]:
        if meta.path == path:
            return meta.name
    return path.rstrip("/").rsplit("/", 1)[-1]


@serves(api.LIST_TASKS)
async def list_tasks(args: api.ListTasksArgs, state: DavState, ctx: CallContext) -> api.TasksResult:
    due_before = None
    if args.due_before is not None:
        try:
            due_before = resolve(
                parse_when(args.due_before, "due_before"), "due_before", state.zone
            )
        except ValueError as exc:
            raise errors.InvalidArgument(str(exc)) from None
    question = paging.question_key(api.LIST_TASKS.name, args, _NO_RANGE, _NO_RANGE)
    first = paging.read_offset(api.LIST_TASKS.name, args.cursor, question)
    lists = tq.task_lists(await _recent_listing(state, ctx), args.task_list)
    # Taken before the queries: a change meanwhile makes the answer stale, never wrong.
    ctx.validator, ctx.tags = versions_token(lists), [calendar_tag(c.path) for c in lists]
    now = datetime.now(state.zone)
    found = await state.pool.run(
        lambda c: tq.read_lists(c, lists, state.zone, now, state.parsed),
        deadline=ctx.deadline,
    )
    kept = tq.chosen(found.tasks, args.include_completed, due_before, args.query)
    notes = list(dict.fromkeys(found.notes))
    if not lists:
        notes.append("There are no task lists here (no collection that holds VTODO).")
    shown = paging.page(kept, first, args.limit, question)
    return api.TasksResult(
        tasks=[t.task for t in shown.items],
        notes=notes,
        total=shown.total,
        next_cursor=shown.next_cursor,
    )


@serves(api.CREATE_TASK)
async def create_task(
    args: api.CreateTaskArgs, state: DavState, ctx: CallContext
) -> api.TaskWritten:
    target = tq.list_for_new_task(await listing(state, ctx), args.task_list)
    domain = state.settings.username.rpartition("@")[2] or "mailbox-mcp"
    built, uid = todo_edit.new_task(args, state.zone, domain)
    href = new_object_href(target.path, uid)
    ctx.tags = [calendar_tag(target.path), CALENDARS_TAG]
    text = built.to_ical().decode()
    with task_words(repeating=bool(args.recurrence)):
        await state.pool.run(lambda c: store_new(c, href, text, "task"), deadline=ctx.deadline)
    todo = todo_edit.task_of(built, uid)
    new_id = task_id(target.path, href, uid, occurrence_of(todo))
    return _written(new_id, todo, target.name, state, [])


@serves(api.UPDATE_TASK)
async def update_task(
    args: api.UpdateTaskArgs, state: DavState, ctx: CallContext
) -> api.TaskWritten:
    found = parse_task_id(args.id)
    if not args.changes_anything():
        raise errors.InvalidArgument(
            "Nothing to change: give completed, or the fields to set (null removes one)."
        )
    ctx.tags = [calendar_tag(found.calendar), CALENDARS_TAG]

    def run(client: DAVClient) -> tuple[Todo, todo_edit.Changed]:
        with task_words():
            stored = dav.fetch(client, found.href)
        calendar = expand.parse(stored.data)
        todo = todo_edit.task_of(calendar, found.uid)
        # An id naming an occurrence the task has moved past: that one is done already.
        if (
            args.completed
            and found.recurrence
            and occurrence_of(todo) not in ("", found.recurrence)
        ):
            raise errors.Conflict(_DONE_ALREADY)
        changed = todo_edit.update(
            calendar,
            todo,
            args,
            state.zone,
            allow_series_delete=state.settings.allow_series_delete,
        )
        if changed.unchanged:
            return todo, changed
        with task_words(repeating=bool(args.recurrence)):
            dav.store(client, found.href, calendar.to_ical().decode(), stored.etag)
        if changed.record is not None:
            _store_record(client, found, changed)
        return todo, changed

    try:
        todo, changed = await state.pool.run(run, deadline=ctx.deadline)
    except ValueError:  # the stored object is not iCalendar at all
        raise errors.NotFound(
            "That task's stored data can no longer be read (it was changed elsewhere), so "
            "nothing was changed; look it up again with list_tasks."
        ) from None
    name = _list_name(state, found.calendar)
    now_at = task_id(found.calendar, found.href, found.uid, occurrence_of(todo))
    return _written(now_at, todo, name, state, changed.notes)


def _store_record(client: DAVClient, series: EventId, changed: todo_edit.Changed) -> None:
    """The completed occurrence of a series, beside it; a failure only costs the record."""
    assert changed.record is not None
    href = new_object_href(series.calendar, changed.record_uid)
    try:
        with task_words():
            dav.store(client, href, changed.record.to_ical().decode(), None)
    except errors.MailError:
        changed.notes.append(
            "The done occurrence could not be kept as a completed task of its own; the "
            "repeating task itself moved on."
        )


@serves(api.DELETE_TASK)
async def delete_task(
    args: api.DeleteTaskArgs, state: DavState, ctx: CallContext
) -> api.TaskDeleted:
    found = parse_task_id(args.id)
    ctx.tags = [calendar_tag(found.calendar), CALENDARS_TAG]

    def run(client: DAVClient) -> None:
        with task_words():
            stored = dav.fetch(client, found.href)
        try:
            todo = todo_edit.task_of(expand.parse(stored.data), found.uid)
        except ValueError:
            raise errors.NotFound("That task can no longer be read from its list.") from None
        if tf.repeats(todo) and not state.settings.allow_series_delete:
            raise errors.Refused(
                "Nothing was deleted: deleting a repeating task is turned off here "
                "(MAILBOX_ALLOW_SERIES_DELETE=0); complete it instead, or delete it in a "
                "task app."
            )
        with task_words():
            dav.remove(client, found.href, stored.etag)

    await state.pool.run(run, deadline=ctx.deadline)
    return api.TaskDeleted(deleted=True, id=args.id)


def _written(
    written_id: str, todo: Todo, list_name: str, state: DavState, notes: list[str]
) -> api.TaskWritten:
    due = tf.due_value(todo)
    return api.TaskWritten(
        id=written_id,
        summary=one_line(todo.get("SUMMARY")) or "(no title)",
        task_list=list_name,
        due=tf.shown(due, state.zone) if due is not None else None,
        status=one_line(todo.get("STATUS")).upper() or None,
        notes=notes,
    )
