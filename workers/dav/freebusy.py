"""Busy periods and free slots, computed from event occurrences (pure functions).

Cancelled and transparent events, and those the user declined, never block
(``blocking``). Tentative time (the event's STATUS, or the user's own answer) is
kept apart so the answer can mark it, but it still blocks free slots: offering a
slot that the user may already have promised would be worse than missing one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    tentative: bool = False


def _word(value: Any) -> str:
    return " ".join(str(value).split()).upper() if value is not None else ""


def own_answer(component: Any, addresses: frozenset[str]) -> str | None:
    """The PARTSTAT of the ATTENDEE that is the user (one of ``addresses``, lower case)."""
    found = component.get("ATTENDEE")
    for attendee in found if isinstance(found, list) else [found] if found is not None else []:
        address = " ".join(str(attendee).split()).lower().removeprefix("mailto:")
        if address in addresses:
            return _word(getattr(attendee, "params", {}).get("PARTSTAT", "NEEDS-ACTION"))
    return None


def blocking(component: Any, addresses: frozenset[str]) -> bool | None:
    """How an event's time counts: None when it does not block (cancelled, transparent,
    or declined by the user), True when tentative, False when busy."""
    if _word(component.get("STATUS")) == "CANCELLED":
        return None
    if _word(component.get("TRANSP")) == "TRANSPARENT":
        return None
    answer = own_answer(component, addresses)
    if answer == "DECLINED":
        return None
    return _word(component.get("STATUS")) == "TENTATIVE" or answer == "TENTATIVE"


def merge(periods: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Overlapping or touching periods joined, in order."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(p for p in periods if p[1] > p[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def subtract(
    periods: list[tuple[datetime, datetime]], cuts: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """``periods`` minus ``cuts`` (both merged and sorted)."""
    result = []
    for start, end in periods:
        pieces = [(start, end)]
        for cut_start, cut_end in cuts:
            if cut_end <= start or cut_start >= end:
                continue
            next_pieces = []
            for a, b in pieces:
                if cut_start > a:
                    next_pieces.append((a, min(b, cut_start)))
                if cut_end < b:
                    next_pieces.append((max(a, cut_end), b))
            pieces = [(a, b) for a, b in next_pieces if b > a]
        result += pieces
    return result


def busy_periods(periods: Iterable[Period], start: datetime, end: datetime) -> list[Period]:
    """Confirmed busy time merged; tentative time merged and shown where not already busy."""
    clipped = [
        Period(max(p.start, start), min(p.end, end), p.tentative)
        for p in periods
        if p.end > start and p.start < end
    ]
    firm = merge((p.start, p.end) for p in clipped if not p.tentative)
    maybe = subtract(merge((p.start, p.end) for p in clipped if p.tentative), firm)
    every = [Period(a, b) for a, b in firm] + [Period(a, b, True) for a, b in maybe]
    return sorted(every, key=lambda p: (p.start, p.end))


def working_windows(
    start: datetime, end: datetime, hours: str, days: Iterable[int], zone: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """The working-hours windows of each working day between ``start`` and ``end``."""
    first, last = _clock(hours[:5]), _clock(hours[6:])
    allowed = set(days)
    windows = []
    day = start.astimezone(zone).date()
    while day <= end.astimezone(zone).date():
        if day.isoweekday() in allowed:
            window_start = _at(day, first, zone)
            window_end = _at(day, last, zone)
            a, b = max(window_start, start), min(window_end, end)
            if b > a:
                windows.append((a, b))
        day += timedelta(days=1)
    return windows


def free_slots(
    windows: list[tuple[datetime, datetime]],
    busy: list[Period],
    minutes: int,
    *,
    now: datetime | None = None,
) -> list[tuple[datetime, datetime]]:
    """Free time of at least ``minutes`` in ``windows``.

    Free slots are for planning: when the windows reach past ``now``, none starts
    before it (rounded up to a whole five minutes, in ``now``'s zone). A range that
    has wholly passed is a question about the past and is answered whole.
    """
    blocked = merge((p.start, p.end) for p in busy)
    if now is not None and windows and max(b for _a, b in windows) > now:
        earliest = _round_up(now)
        windows = [(max(a, earliest), b) for a, b in windows if b > earliest]
    length = timedelta(minutes=minutes)
    return [(a, b) for a, b in subtract(windows, blocked) if b - a >= length]


def _round_up(moment: datetime, step: int = 5) -> datetime:
    """``moment`` moved forward to the next whole ``step`` minutes (itself if on one)."""
    floor = moment.replace(second=0, microsecond=0)
    floor -= timedelta(minutes=floor.minute % step)
    return floor if floor == moment else floor + timedelta(minutes=step)


def _clock(text: str) -> time | None:
    """'HH:MM'; None for 24:00 (the end of the day)."""
    hours, minutes = int(text[:2]), int(text[3:5])
    return None if hours == 24 else time(hours, minutes)


def _at(day: date, moment: time | None, zone: ZoneInfo) -> datetime:
    if moment is None:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return datetime.combine(day, moment, tzinfo=zone)
