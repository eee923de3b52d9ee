"""The task tools as the model sees them (served by the DAV worker)."""

from __future__ import annotations

from protocol import tasks as api
from supervisor import task_text as text
from supervisor.families.calendar import CALENDAR_CACHE
from supervisor.tool_spec import ToolSpec

TASK_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        contract=api.LIST_TASKS,
        title="List tasks",
        description=(
            "Open to-dos of the task lists (all with include_completed): overdue first, then "
            "by due date, undated last. Ids go to update_task."
        ),
        render=text.render_tasks,
        family="tasks",
        cache=CALENDAR_CACHE,
    ),
    ToolSpec(
        contract=api.CREATE_TASK,
        title="Create a task",
        description=(
            "Add a to-do: 'summary', and 'due' or 'start' as ISO date or date-time. "
            "To change one use update_task."
        ),
        render=text.render_task_written,
        family="tasks",
        destructive=False,
        idempotent=False,
    ),
    ToolSpec(
        contract=api.UPDATE_TASK,
        title="Change or complete a task",
        description=(
            "Change task 'id' from list_tasks: give only what changes, as for create_task; "
            "null removes a field. Fails if changed elsewhere meanwhile."
        ),
        render=text.render_task_written,
        family="tasks",
        arguments_of=api.CreateTaskArgs,
        destructive=False,
        idempotent=False,
    ),
    ToolSpec(
        contract=api.DELETE_TASK,
        title="Delete a task",
        description=(
            "Delete task 'id' from list_tasks for good; to tick it off as done use "
            "update_task instead."
        ),
        render=text.render_task_deleted,
        family="tasks",
        destructive=True,
        idempotent=False,
    ),
)
