"""The CalDAV part of ``--diagnose``: discovery and the calendar count."""

from __future__ import annotations

import time
from typing import Any

from protocol.diagnosis import Check, DiagnoseArgs, DiagnoseResult
from protocol.errors import MailError
from workers.dav import client as dav
from workers.runtime import CallContext


async def diagnose(args: DiagnoseArgs, state: Any, ctx: CallContext) -> DiagnoseResult:
    checks = []
    start = time.perf_counter()
    try:
        home = await state.home(ctx)
        checks.append(
            Check("caldav discovery", True, f"calendar home {home}", time.perf_counter() - start)
        )
    except MailError as exc:
        checks.append(Check("caldav discovery", False, exc.message, time.perf_counter() - start))
        return DiagnoseResult(checks)
    start = time.perf_counter()
    try:
        calendars = await state.pool.run(
            lambda c: dav.list_calendars(c, home), deadline=ctx.deadline
        )
        names = ", ".join(c.name for c in calendars[:5]) or "none"
        checks.append(
            Check(
                "caldav calendars",
                bool(calendars),
                f"{len(calendars)} calendars ({names})",
                time.perf_counter() - start,
            )
        )
    except MailError as exc:
        checks.append(Check("caldav calendars", False, exc.message, time.perf_counter() - start))
    return DiagnoseResult(checks)
