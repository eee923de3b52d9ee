"""The tasks family: to-dos (VTODO) in the CalDAV task lists.

A task list is a calendar collection whose supported components include VTODO, so
the tasks share the calendar's cache tags (``dav:calendar:<path>``) and its
freshness check: a cached list of tasks is revalidated by the collection's ctag or
sync-token exactly as a cached list of events is. The DAV worker (``workers/dav``)
serves these contracts beside the calendar's.

In ``update_task`` an argument left out keeps that field as it is and an argument
given as null removes it (msgspec's UNSET tells the two apart; the schema shows
neither, the description says so).
"""

from __future__ import annotations

import re
import typing
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from protocol.calendar import (
    CALENDAR_READ,
    CALENDAR_WRITE,
    CreateEventArgs,
    Cursor,
    NextCursor,
    When,
)
from protocol.contract import Contract
from protocol.email import reject_control_characters
from protocol.when import EARLIEST, LATEST, parse_when, resolve

Priority = Literal["high", "medium", "low"]

# The recurrence rule exactly as create_event takes it (type, bounds and description):
# written once, in protocol.calendar. The worker checks it with the same rules.
_RULE, _RULE_META = typing.get_args(
    typing.get_type_hints(CreateEventArgs, include_extras=True)["rrule"]
)
Recurrence = Annotated[_RULE, _RULE_META]  # type: ignore[valid-type]
RecurrenceChange = Annotated[_RULE | UnsetType, _RULE_META]  # type: ignore[valid-type]

TaskListRef = Annotated[
    Annotated[str, msgspec.Meta(min_length=1, max_length=2000)] | None,
    msgspec.Meta(description="Id or name from list_calendars."),
]
TaskIdText = Annotated[str, msgspec.Meta(min_length=4, max_length=4000)]
Summary = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
Description = Annotated[str, msgspec.Meta(max_length=20000)]
Categories = list[Annotated[str, msgspec.Meta(min_length=1, max_length=200)]]
MAX_CATEGORIES = 20
ReminderMinutes = Annotated[
    int, msgspec.Meta(ge=0, le=40320, description="Alarm, minutes before due.")
]


def check_when(text: str, what: str) -> date | datetime:
    """A due, start or due_before date or date-time within the years every zone can
    hold. Raises ValueError with a sentence."""
    value = parse_when(text, what)
    if isinstance(value, datetime):
        moment = resolve(value, what)
        inside = EARLIEST <= moment <= LATEST
    else:
        inside = EARLIEST.date() <= value <= LATEST.date()
    if not inside:
        raise ValueError(f"{what} must lie between 0001-01-02 and 9999-12-30.")
    return value


_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_description(value: object, what: str = "The description") -> None:
    """A description may hold line breaks, never NUL or other control characters (a
    server refuses them, or stores what other task apps cannot read). Raises ValueError."""
    if isinstance(value, str) and _CONTROLS.search(value):
        raise ValueError(f"{what} cannot contain NUL or other control characters.")


def _check_texts(*pairs: tuple[str, object]) -> None:
    for what, value in pairs:
        if what == "Categories" and isinstance(value, list) and len(value) > MAX_CATEGORIES:
            raise ValueError(f"Give at most {MAX_CATEGORIES} categories.")
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                reject_control_characters(item, what)
                check_description(item, what)


class ListTasksArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    task_list: TaskListRef = None
    include_completed: bool = False
    due_before: Annotated[When | None, msgspec.Meta(description="Only those due earlier.")] = None
    query: Annotated[
        Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | None,
        msgspec.Meta(description="Words the task holds."),
    ] = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 50
    cursor: Cursor = None

    def __post_init__(self) -> None:
        if self.due_before is not None:
            check_when(self.due_before, "due_before")
        _check_texts(
            ("The task list", self.task_list),
            ("The query", self.query),
            ("The cursor", self.cursor),
        )


class Task(msgspec.Struct, frozen=True):
    id: Annotated[str, msgspec.Meta(description="Pass to update_task or delete_task.")]
    summary: str
    task_list: str
    due: Annotated[
        str | None, msgspec.Meta(description="A date, or a date-time in the user's zone.")
    ] = None
    start: str | None = None
    overdue: bool = False
    priority: Priority | None = None
    status: Annotated[
        str | None, msgspec.Meta(description="NEEDS-ACTION, IN-PROCESS, COMPLETED or CANCELLED.")
    ] = None
    percent_complete: int | None = None
    completed: Annotated[str | None, msgspec.Meta(description="When it was completed.")] = None
    categories: list[str] = []
    recurring: bool = False
    rule: Annotated[str | None, msgspec.Meta(description="Its RRULE, if it repeats.")] = None
    description: str | None = None


class TasksResult(msgspec.Struct, frozen=True):
    tasks: list[Task]
    notes: list[str] = []
    total: Annotated[int | None, msgspec.Meta(description="Tasks over all pages.")] = None
    next_cursor: NextCursor = None


class CreateTaskArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    summary: Summary
    due: When | None = None
    start: When | None = None
    priority: Priority | None = None
    description: Description | None = None
    categories: Categories | None = None
    task_list: TaskListRef = None
    recurrence: Recurrence = None
    reminder_minutes: ReminderMinutes | None = None

    def __post_init__(self) -> None:
        for what, value in (("due", self.due), ("start", self.start)):
            if value is not None:
                check_when(value, what)
        _check_texts(
            ("The summary", self.summary),
            ("The task list", self.task_list),
            ("The recurrence rule", self.recurrence),
            ("Categories", self.categories),
        )
        check_description(self.description)


class UpdateTaskArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    id: TaskIdText
    completed: Annotated[
        bool | None,
        msgspec.Meta(description="true: done (a repeating one moves on); false: reopen."),
    ] = None
    summary: Summary | UnsetType | None = UNSET
    due: When | UnsetType | None = UNSET
    start: When | UnsetType | None = UNSET
    priority: Priority | UnsetType | None = UNSET
    description: Description | UnsetType | None = UNSET
    categories: Categories | UnsetType | None = UNSET
    recurrence: RecurrenceChange = UNSET
    reminder_minutes: ReminderMinutes | UnsetType | None = UNSET

    def __post_init__(self) -> None:
        reject_control_characters(self.id, "The task id")
        if self.summary is None:  # "null removes a field", but a task needs its summary
            raise ValueError("A task keeps a summary: give a new one, or leave summary out.")
        for what, value in (("due", self.due), ("start", self.start)):
            if isinstance(value, str):
                check_when(value, what)
        _check_texts(
            ("The summary", self.summary),
            ("The recurrence rule", self.recurrence),
            ("Categories", self.categories),
        )
        check_description(self.description)

    def changes_anything(self) -> bool:
        return any(
            getattr(self, name) not in (None, UNSET)
            if name in ("completed", "summary")
            else getattr(self, name) is not UNSET
            for name in self.__struct_fields__
            if name != "id"
        )


class DeleteTaskArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    id: TaskIdText

    def __post_init__(self) -> None:
        reject_control_characters(self.id, "The task id")


class TaskWritten(msgspec.Struct, frozen=True):
    id: str
    summary: str
    task_list: str
    due: str | None = None
    status: str | None = None
    notes: list[str] = []


class TaskDeleted(msgspec.Struct, frozen=True):
    deleted: bool
    id: str


LIST_TASKS = CALENDAR_READ("list_tasks", ListTasksArgs, TasksResult)
CREATE_TASK = CALENDAR_WRITE("create_task", CreateTaskArgs, TaskWritten)
UPDATE_TASK = CALENDAR_WRITE("update_task", UpdateTaskArgs, TaskWritten)
DELETE_TASK = CALENDAR_WRITE("delete_task", DeleteTaskArgs, TaskDeleted)

TASK_CONTRACTS: tuple[Contract[Any, Any], ...] = (
    LIST_TASKS,
    CREATE_TASK,
    UPDATE_TASK,
    DELETE_TASK,
)
