"""Building and changing VTODOs: create_task, update_task, and completing a repeating task.

**Completing a repeating task** (RFC 5545 has no rule for it; this is what Apple
Reminders does, and what task apps that read only a task's own DUE can follow):

1. the series moves on: DTSTART and DUE move to the next occurrence its rule
   (RRULE, RDATE, less EXDATE) gives, a COUNT is lowered by the occurrences passed
   (so the series still ends where it did), RDATEs passed are dropped, and it stays
   NEEDS-ACTION;
2. the occurrence that was done is recorded as a task of its own in the same list:
   a copy without the rule, STATUS:COMPLETED with COMPLETED and PERCENT-COMPLETE:100,
   linked to the series by ``RELATED-TO;RELTYPE=SIBLING``.

A RECURRENCE-ID override marked COMPLETED (Thunderbird's way) was not chosen: clients
that show a task's own DUE (most phones, and OX, which accepts no repeating tasks at
all) would still show the series as due on its first date. Only the last occurrence,
once done, completes the whole series.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from icalendar import Calendar, Event, Todo, vRecur
from msgspec import UNSET

from protocol.errors import InvalidArgument, NotFound, Refused
from protocol.tasks import CreateTaskArgs, UpdateTaskArgs
from protocol.when import LATEST
from workers.dav import rules
from workers.dav import todo_fields as tf
from workers.dav.event_fields import PRODID, bump
from workers.dav.occurrences import as_datetime, drops_occurrences, rule_occurrences

# Windows searched for the next occurrence: short first (a dense rule stays cheap).
_LOOK_AHEAD = (timedelta(days=40), timedelta(days=400), timedelta(days=12 * 366))


def new_task(args: CreateTaskArgs, zone: tzinfo, domain: str) -> tuple[Calendar, str]:
    """A VCALENDAR with one new VTODO (and the VTIMEZONEs it needs); it and its UID.

    Raises InvalidArgument for dates or a rule that cannot go together."""
    uid = f"{uuid.uuid4()}@{domain}"
    now = datetime.now(UTC).replace(microsecond=0)
    todo = Todo()
    todo.add("UID", uid)
    todo.add("DTSTAMP", now)
    todo.add("CREATED", now)
    todo.add("LAST-MODIFIED", now)
    todo.add("SUMMARY", args.summary)
    todo.add("STATUS", "NEEDS-ACTION")
    if args.start is not None:
        tf.set_when(todo, "DTSTART", tf.read_when(args.start, zone))
    if args.due is not None:
        tf.set_when(todo, "DUE", tf.read_when(args.due, zone))
    tf.check_order(todo)
    tf.set_text(todo, "DESCRIPTION", args.description)
    tf.set_categories(todo, args.categories)
    tf.set_priority(todo, args.priority)
    if args.recurrence:
        set_rule(todo, args.recurrence)
    if args.reminder_minutes is not None:
        tf.set_reminder(todo, args.reminder_minutes)
    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add_component(todo)
    calendar.add_missing_timezones()
    check_rule_moves_on(calendar, todo, zone)
    return calendar, uid


def task_of(calendar: Calendar, uid: str) -> Todo:
    """The VTODO ``uid`` (its series, not an override). Raises NotFound."""
    found = [t for t in calendar.walk("VTODO") if str(t.get("UID")) == uid]
    for todo in found:
        if todo.get("RECURRENCE-ID") is None:
            return todo
    if found:
        return found[0]
    raise NotFound("That task is no longer in its list; look it up again with list_tasks.")


def set_rule(todo: Todo, text: str | None) -> None:
    """RRULE set (checked as create_event checks it) or removed. A repeating task counts
    from its DTSTART: without one, its due date is taken. Raises InvalidArgument."""
    todo.pop("RRULE", None)
    if not text:
        return
    if todo.get("DTSTART") is None:
        if todo.get("DUE") is None:
            raise InvalidArgument("A repeating task needs a due date or a start; give 'due'.")
        todo.add("DTSTART", todo["DUE"].dt)
    try:
        rule = rules.checked_rule(text, todo["DTSTART"].dt)
    except InvalidArgument as exc:  # the calendar's sentences speak of events
        raise InvalidArgument(exc.message.replace("Events can", "Tasks can")) from None
    todo.add("RRULE", rule)


def check_rule_moves_on(calendar: Calendar, todo: Todo, zone: tzinfo) -> None:
    """A rule just given must let the task move on once done: it may not end before the
    task starts, and one without an end must give a date after the first (FREQ=YEARLY;
    BYMONTH=2;BYMONTHDAY=30 gives none: the task could never be completed). Raises
    InvalidArgument."""
    rule, anchor = todo.get("RRULE"), tf.when_value(todo, "DTSTART")
    if not isinstance(rule, vRecur) or anchor is None:
        return
    until = (rule.get("UNTIL") or [None])[0]
    if isinstance(until, date) and as_datetime(until, zone) < as_datetime(anchor, zone):
        raise InvalidArgument(
            "The rule's UNTIL is before the task starts, so it would never repeat; give a "
            "later UNTIL, or leave 'recurrence' out."
        )
    if _finite(todo):
        return
    try:
        following = next_occurrence(calendar, todo, anchor, zone)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError):
        following = None
    if following is None:
        raise InvalidArgument(
            "The rule gives no date after the task's first one, so the task could never "
            "move on once done; check its BYMONTH, BYMONTHDAY and BYDAY parts."
        )


@dataclass
class Changed:
    record: Calendar | None = None  # the completed occurrence of a series, to store apart
    record_uid: str = ""
    notes: list[str] = field(default_factory=list)
    unchanged: bool = False  # nothing to write: the task already is as asked


def _changes_fields(args: UpdateTaskArgs) -> bool:
    """Whether ``args`` sets anything besides ``completed``."""
    return isinstance(args.summary, str) or any(
        getattr(args, name) is not UNSET
        for name in args.__struct_fields__
        if name not in ("id", "completed", "summary")
    )


def update(
    calendar: Calendar,
    todo: Todo,
    args: UpdateTaskArgs,
    zone: tzinfo,
    *,
    allow_series_delete: bool = True,
) -> Changed:
    """Apply ``args`` to ``todo`` in place; everything not named stays. Raises
    InvalidArgument or Refused with a sentence (Refused also for a new rule that drops
    occurrences where deleting series is turned off, as delete_task refuses)."""
    changed = Changed()
    now = datetime.now(UTC)
    before = copy.deepcopy(todo) if not allow_series_delete and tf.repeats(todo) else None
    if isinstance(args.summary, str):
        tf.set_text(todo, "SUMMARY", args.summary)
    for name, given in (("DTSTART", args.start), ("DUE", args.due)):
        if given is not UNSET:
            value = tf.read_when(given, zone) if isinstance(given, str) else None
            keeps_rule = args.recurrence is UNSET or bool(args.recurrence)
            if value is None and name == "DTSTART" and todo.get("RRULE") is not None and keeps_rule:
                raise InvalidArgument(
                    "A repeating task keeps its start; remove its recurrence as well "
                    "(recurrence: null) or give a new start."
                )
            tf.set_when(todo, name, value)
    if args.description is not UNSET:
        tf.set_text(todo, "DESCRIPTION", args.description)
    if args.categories is not UNSET:
        tf.set_categories(todo, args.categories)
    if args.priority is not UNSET:
        tf.set_priority(todo, args.priority)
    if args.recurrence is not UNSET:
        set_rule(todo, args.recurrence)
        check_rule_moves_on(calendar, todo, zone)
        if before is not None and _drops(calendar, before, todo, zone):
            raise Refused(
                "Nothing was changed: this recurrence would remove occurrences of the "
                "repeating task, and deleting series is turned off here "
                "(MAILBOX_ALLOW_SERIES_DELETE=0); change it in a task app."
            )
    if args.due is not UNSET or args.start is not UNSET:
        tf.check_order(todo)  # only dates given now: a stored oddity is not the caller's fault
    if args.reminder_minutes is not UNSET:
        tf.set_reminder(todo, args.reminder_minutes)
    if args.completed is not None and args.completed == tf.is_done(todo):
        # Done twice (a retry, two calls at once) keeps the first completion time, and a
        # repeating task finished elsewhere is not moved on; reopening an open task keeps
        # its progress.
        changed.notes.append(
            "It was already completed, so that was left as it was."
            if args.completed
            else "It was not completed, so that was left as it was."
        )
        if not _changes_fields(args):
            changed.unchanged = True
            return changed
    elif args.completed is True:
        changed = complete(calendar, todo, now, zone)
    elif args.completed is False:
        tf.reopen(todo)
    bump(todo)
    tf.touch(todo, now)
    calendar.add_missing_timezones()
    return changed


def complete(calendar: Calendar, todo: Todo, now: datetime, zone: tzinfo) -> Changed:
    """Complete a task; a repeating one moves on to its next occurrence (see the module)."""
    if not tf.repeats(todo):
        tf.mark_completed(todo, now)
        return Changed()
    anchor = tf.when_value(todo, "DTSTART") or tf.when_value(todo, "DUE")
    if anchor is None:
        tf.mark_completed(todo, now)
        return Changed(notes=["The task's rule has no start to count from; it was completed."])
    unknown = Refused(
        "Nothing was changed: the next occurrence of this repeating task cannot be worked "
        "out from its rule; change its recurrence (or remove it) first."
    )
    try:  # the rule is a stranger's: whatever it holds, a sentence
        following = next_occurrence(calendar, todo, anchor, zone)
        finite = _finite(todo)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError):
        raise unknown from None
    if following is None:
        if not finite:
            raise unknown
        tf.mark_completed(todo, now)
        return Changed(notes=["That was its last occurrence, so the whole task is complete."])
    record, record_uid = _record(calendar, todo, now)
    try:
        _advance(calendar, todo, anchor, following, zone)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError):
        raise unknown from None
    due = tf.due_value(todo)
    shown = tf.shown(due, zone) if due is not None else tf.shown(following, zone)
    return Changed(
        record,
        record_uid,
        [f"It repeats: this occurrence was recorded as done and the task is next due {shown}."],
    )


def _drops(calendar: Calendar, before: Todo, after: Todo, zone: tzinfo) -> bool:
    """Whether the rule ``after`` has fewer occurrences than ``before`` (see
    occurrences.drops_occurrences); one that cannot be worked out counts as dropping."""
    if not tf.repeats(after):
        return True
    old_anchor = tf.when_value(before, "DTSTART") or tf.when_value(before, "DUE")
    new_anchor = tf.when_value(after, "DTSTART") or tf.when_value(after, "DUE")
    if old_anchor is None or new_anchor is None:
        return new_anchor is None
    try:
        return drops_occurrences(
            calendar, _standin(before, old_anchor), _standin(after, new_anchor), zone
        )
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError):
        return True


def _standin(todo: Todo, anchor: date | datetime, with_exdates: bool = True) -> Event:
    """A VEVENT with the task's rule, for the calendar's own guarded expansion."""
    event = Event()
    event.add("UID", str(todo.get("UID", "task")))
    event.add("DTSTART", anchor)
    names = ("RRULE", "RDATE", "EXDATE") if with_exdates else ("RRULE", "RDATE")
    for name in names:
        if todo.get(name) is not None:
            event[name] = todo[name]
    return event


def next_occurrence(
    calendar: Calendar, todo: Todo, anchor: date | datetime, zone: tzinfo
) -> date | datetime | None:
    """The first occurrence after ``anchor`` (as DTSTART would name it); None when the
    rule has no more, or none it can give without running for ever."""
    origin = as_datetime(anchor, zone)
    event = _standin(todo, anchor)
    for ahead in _LOOK_AHEAD:
        end = LATEST if origin >= LATEST - ahead else origin + ahead
        if end <= origin:
            return None
        found = rule_occurrences(calendar, event, origin + timedelta(seconds=1), end, zone)
        starts = [
            o.original_start
            for o in found
            if o.original_start is not None and as_datetime(o.original_start, zone) > origin
        ]
        if starts:
            return min(starts, key=lambda s: as_datetime(s, zone))
    return None


def _advance(
    calendar: Calendar, todo: Todo, anchor: date | datetime, following: Any, zone: tzinfo
) -> None:
    """DTSTART and DUE moved to ``following``; COUNT lowered by the occurrences the rule
    gave before it (EXDATEs count, RFC 5545 3.8.5.3); RDATEs passed dropped."""
    passed = rule_occurrences(
        calendar,
        _standin(todo, anchor, with_exdates=False),
        as_datetime(anchor, zone) - timedelta(seconds=1),
        as_datetime(following, zone),
        zone,
    )
    shift = as_datetime(following, zone) - as_datetime(anchor, zone)
    due = tf.when_value(todo, "DUE")
    if todo.get("DTSTART") is not None:
        tf.set_when(todo, "DTSTART", following)
    if due is not None:
        tf.set_when(todo, "DUE", _shifted(due, shift, following))
    rule = todo.get("RRULE")
    if isinstance(rule, vRecur) and rule.get("COUNT"):
        count = int(rule["COUNT"][0])
        rule["COUNT"] = [max(1, count - max(1, len(passed)))]
    _drop_passed_rdates(todo, following, zone)
    _drop_override(calendar, todo, anchor)


def _shifted(value: date | datetime, shift: timedelta, following: Any) -> date | datetime:
    if isinstance(value, datetime) or not isinstance(following, datetime):
        return value + (shift if isinstance(value, datetime) else timedelta(days=shift.days))
    return value + timedelta(days=shift.days)


def _drop_passed_rdates(todo: Todo, following: Any, zone: tzinfo) -> None:
    found = todo.get("RDATE")
    if found is None:
        return
    limit = as_datetime(following, zone)
    kept = []
    for prop in found if isinstance(found, list) else [found]:
        dates = [d.dt for d in getattr(prop, "dts", [])]
        later = [d for d in dates if isinstance(d, date) and as_datetime(d, zone) > limit]
        kept += later
    todo.pop("RDATE", None)
    for value in kept:
        todo.add("RDATE", value)


def _drop_override(calendar: Calendar, todo: Todo, anchor: date | datetime) -> None:
    """An override of the occurrence just done is now its record's business."""
    uid = str(todo.get("UID"))
    for other in calendar.walk("VTODO"):
        rid = getattr(other.get("RECURRENCE-ID"), "dt", None)
        if other is not todo and str(other.get("UID")) == uid and rid == anchor:
            calendar.subcomponents.remove(other)


def _record(calendar: Calendar, todo: Todo, now: datetime) -> tuple[Calendar, str]:
    """The occurrence just done, as a completed task of its own."""
    series_uid = str(todo.get("UID"))
    done = copy.deepcopy(todo)
    for name in ("UID", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID", "SEQUENCE", "RELATED-TO"):
        done.pop(name, None)
    done.subcomponents = [c for c in done.subcomponents if c.name != "VALARM"]
    uid = f"{uuid.uuid4()}@{series_uid.rpartition('@')[2] or 'mailbox-mcp'}"
    done.add("UID", uid)
    done.add("RELATED-TO", series_uid, parameters={"RELTYPE": "SIBLING"})
    tf.mark_completed(done, now)
    bump(done)
    tf.touch(done, now)
    record = Calendar()
    record.add("PRODID", PRODID)
    record.add("VERSION", "2.0")
    for component in calendar.subcomponents:
        if component.name == "VTIMEZONE":
            record.add_component(copy.deepcopy(component))
    record.add_component(done)
    return record, uid


def _finite(todo: Todo) -> bool:
    found = todo.get("RRULE")
    for rule in found if isinstance(found, list) else [found] if found is not None else []:
        if not rule.get("COUNT") and not rule.get("UNTIL"):
            return False
    return True
