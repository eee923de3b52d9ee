"""The calendar tools as the end-to-end tests call them, answers taken apart."""

from __future__ import annotations

from typing import Any

from tests.mcp_client import structured


async def call(session: Any, tool: str, **args: Any) -> Any:
    """The structured answer of a call that must succeed."""
    return structured(await session.call_tool(tool, args))


async def events(session: Any, start: str, end: str, **args: Any) -> list[dict[str, Any]]:
    """Every event get_calendar_events lists between ``start`` and ``end`` (one page)."""
    found = await call(session, "get_calendar_events", start=start, end=end, **args)
    return list(found["events"])


async def create(session: Any, summary: str, start: str, end: str, **more: Any) -> Any:
    """create_event, which must succeed."""
    return await call(session, "create_event", summary=summary, start=start, end=end, **more)
