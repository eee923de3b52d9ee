"""The compact text of the calendar tools' answers (see supervisor.rendering for the rules
on fencing third-party text and escaping what stands outside a fence)."""

from __future__ import annotations

from datetime import date, timedelta

from protocol import calendar
from supervisor.rendering import clip, counted, fence, more, notes_lines, page_head, plain


def render_calendars(result: calendar.ListCalendarsResult) -> str:
    """One line a calendar; descriptions, which whoever shares a calendar writes, in a
    fence below."""
    lines = [f"{counted(len(result.calendars), 'calendar')}:"]
    described = []
    for c in result.calendars:
        extra = " (read-only)" if c.read_only else ""
        holds = plain(", ".join(c.components)) or "events"
        holds += " (a task list: see list_tasks)" if "VTODO" in c.components else ""
        color = f"; color {plain(c.color)}" if c.color else ""
        lines.append(f"- {plain(c.name)}{extra}: id {plain(c.id)}; holds {holds}{color}")
        if c.description and c.description.strip():
            described.append(f"{c.name}: {clip(c.description, 300)}")
    if described:
        lines += ["Descriptions:", fence("the calendars' owners", "\n".join(described))]
    return "\n".join(lines)


def render_events(result: calendar.EventsResult) -> str:
    """One line an event; the occurrences of a series that look alike (same title, place,
    state and clock times) summed up in one line when there are at least three on the page.
    The structured result keeps every occurrence with its id."""
    if not result.events:
        return "\n".join(["No events in that range.", *notes_lines(result.notes)])
    groups = _series_groups(result.events)
    rows = []
    # A series repeats its description in every occurrence: the text gives it once (the
    # structured result keeps it on each), so a busy week does not repeat paragraphs.
    described: set[tuple[str, str, str]] = set()
    for n, e in enumerate(result.events):
        group = groups.get(n)
        if group == []:
            continue  # summed up in its series' line
        state = f" [{e.status.lower()}]" if e.status and e.status != "CONFIRMED" else ""
        where = f" @ {clip(e.location, 80)}" if e.location else ""
        if group:
            rows.append(
                f"- {_repeats(e, group)}{state} | {clip(e.summary, 100)}{where} | "
                f"{e.calendar} | id of the first {e.id}"
            )
        else:
            rows.append(
                f"- {_span(e)}{state} | {clip(e.summary, 100)}{where} | {e.calendar} | id {e.id}"
            )
        if e.description and (e.calendar, e.uid, e.description) not in described:
            described.add((e.calendar, e.uid, e.description))
            rows.append(f"  {clip(e.description, 300)}")
    lines = [f"{page_head(len(result.events), result.total, 'event')}:"]
    lines += [fence("the calendar", "\n".join(rows)), *more(result.next_cursor)]
    if any(groups.values()):
        lines.append(
            "A repeating event's line sums up its occurrences on this page; each one's id is "
            "in the structured result, or ask for that day alone."
        )
    lines += notes_lines(result.notes)
    return "\n".join(lines)


SERIES_SUMMED_FROM = 3
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _series_groups(events: list[calendar.Event]) -> dict[int, list[date]]:
    """For the first of each set of like occurrences of one series: their dates; for the
    others of the set: []. Events not summed up are not in the answer."""
    sets: dict[tuple[object, ...], list[int]] = {}
    for n, e in enumerate(events):
        if not e.recurring:
            continue
        times = (e.start[11:], e.end[11:]) if not e.all_day else ("", "")
        length = _days_between(e.start, e.end)
        key = (e.calendar, e.uid, e.summary, e.location, e.status, e.all_day, times, length)
        sets.setdefault(key, []).append(n)
    groups: dict[int, list[date]] = {}
    for members in sets.values():
        if len(members) >= SERIES_SUMMED_FROM:
            groups[members[0]] = [date.fromisoformat(events[n].start[:10]) for n in members]
            groups.update({n: [] for n in members[1:]})
    return groups


def _days_between(start: str, end: str) -> int:
    return (date.fromisoformat(end[:10]) - date.fromisoformat(start[:10])).days


def _repeats(e: calendar.Event, days: list[date]) -> str:
    """``09:00 to 09:15 (+02:00) on weekdays, 19 times from 2026-04-01 to 2026-04-28, not
    on 2026-04-15``: the days it falls on, and the days of that pattern it skips."""
    first, last = days[0], days[-1]
    if e.all_day:
        clock = "all day"
    elif e.start[19:] == e.end[19:]:
        clock = f"{e.start[11:16]} to {e.end[11:16]} ({e.start[19:]})"
    else:
        clock = f"{e.start[11:]} to {e.end[11:]}"
    length = _days_between(e.start, e.end)
    if length and not e.all_day:
        clock += " the next day" if length == 1 else f" {length} days later"
    weekdays = sorted({d.weekday() for d in days})
    if weekdays == [0, 1, 2, 3, 4]:
        pattern = "on weekdays"
    elif len(weekdays) == 7:
        pattern = "every day"
    else:
        pattern = "on " + ", ".join(_DAY_NAMES[w] for w in weekdays)
    present = set(days)
    skipped = [
        first + timedelta(days=k)
        for k in range((last - first).days + 1)
        if (first + timedelta(days=k)).weekday() in weekdays
        and first + timedelta(days=k) not in present
    ]
    if len(skipped) > max(5, len(days) // 4):  # not a daily or weekly pattern: the dates
        listed = ", ".join(d.isoformat() for d in days)
        return f"{clock}, {len(days)} times: {listed}"
    text = f"{clock} {pattern}, {len(days)} times from {first} to {last}"
    if skipped:
        text += ", not on " + ", ".join(d.isoformat() for d in skipped)
    return text


def _span(e: calendar.Event) -> str:
    """When, as short as is still exact: the end's date is left out when it is the
    start's, and the offset is written once when both share it."""
    if e.all_day:
        return f"{e.start} (all day)" if e.start == e.end else f"{e.start} to {e.end} (all day)"
    start, end = e.start, e.end
    if len(start) == len(end) == 25 and start[19:] == end[19:]:
        offset = start[19:]
        start, end = start[:19].replace("T", " "), end[:19].replace("T", " ")
        end = end[11:] if end[:10] == start[:10] else end
        return f"{start[:16]} to {end[:-3]} ({offset})"
    return f"{start} to {end}"


def render_free_busy(result: calendar.FreeBusyResult) -> str:
    lines = ["Busy:"] + [
        f"- {b.start} to {b.end}{' (tentative)' if b.tentative else ''}" for b in result.busy
    ]
    lines += ["Free:"] + [f"- {f.start} to {f.end} ({f.minutes} min)" for f in result.free]
    if result.total is not None and result.total > len(result.busy) + len(result.free):
        lines.insert(0, f"{len(result.busy) + len(result.free)} of {result.total} entries:")
    lines += more(result.next_cursor)
    lines += notes_lines(result.notes)
    return "\n".join(lines)


def render_written(result: calendar.EventWritten) -> str:
    return "\n".join(
        [f"Saved in {plain(result.calendar)}: id {plain(result.id)}", *map(plain, result.notes)]
    )


def render_event_deleted(result: calendar.EventDeleted) -> str:
    return f"Deleted the {result.deleted}."
