"""The compact text of the task tools' answers (see supervisor.rendering for the rules on
fencing third-party text and escaping what stands outside a fence)."""

from __future__ import annotations

from protocol import tasks
from supervisor.rendering import clip, fence, more, notes_lines, page_head, plain


def _when(iso: str) -> str:
    """``2026-03-02T18:00:00+01:00`` as ``2026-03-02 18:00 (+01:00)``; a date as it is."""
    if len(iso) == 25 and iso[10] == "T":
        return f"{iso[:10]} {iso[11:16]} ({iso[19:]})"
    return iso


def _row(t: tasks.Task) -> str:
    if t.status == "COMPLETED":
        state = "done" + (f" {_when(t.completed)}" if t.completed else "")
    elif t.overdue:
        state = "OVERDUE"
    else:
        state = (t.status or "open").lower().replace("needs-action", "open")
    due = f"due {_when(t.due)}" if t.due else "no due date"
    extras = [
        *([f"{t.priority} priority"] if t.priority else []),
        *([f"{t.percent_complete}%"] if t.percent_complete and t.status != "COMPLETED" else []),
        *(["repeats " + clip(t.rule or "", 60)] if t.recurring else []),
        *([", ".join(clip(c, 40) for c in t.categories)] if t.categories else []),
    ]
    extra = f" [{'; '.join(extras)}]" if extras else ""
    return f"- {due} | {state} | {clip(t.summary, 100)}{extra} | {t.task_list} | id {t.id}"


def render_tasks(result: tasks.TasksResult) -> str:
    """One line a task (overdue first, then by due date, undated last); a task's own
    words, which whoever shares the list writes, inside one fence."""
    if not result.tasks:
        return "\n".join(["No tasks match.", *notes_lines(result.notes)])
    rows = []
    for t in result.tasks:
        rows.append(_row(t))
        if t.description:
            rows.append(f"  {clip(t.description, 300)}")
    lines = [f"{page_head(len(result.tasks), result.total, 'task')}:"]
    lines += [fence("the task lists", "\n".join(rows)), *more(result.next_cursor)]
    lines += notes_lines(result.notes)
    return "\n".join(lines)


def render_task_written(result: tasks.TaskWritten) -> str:
    state = (result.status or "open").lower().replace("needs-action", "open")
    due = f", due {_when(result.due)}" if result.due else ""
    head = f"Saved '{plain(clip(result.summary, 100))}' in {plain(result.task_list)} ({state}{due})"
    return "\n".join([f"{head}: id {plain(result.id)}", *map(plain, result.notes)])


def render_task_deleted(result: tasks.TaskDeleted) -> str:
    return "Deleted the task."
