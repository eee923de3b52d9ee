"""The tool registry: every family's tools, and which of them this session lists."""

from __future__ import annotations

from collections.abc import Collection

from protocol.status import SERVER_STATUS
from supervisor.families import FAMILY_TOOLS
from supervisor.settings_reader import TOOL_FAMILIES
from supervisor.status import render_status
from supervisor.tool_spec import ToolSpec

STATUS_TOOL = ToolSpec(
    contract=SERVER_STATUS,
    title="Server status",
    description=(
        "How this server itself is doing: per worker (imap, smtp, dav) readiness, restarts, "
        "memory, requests and failures, connections, refused logins, rate limiting; and "
        "the cache. Use it when other tools fail or are slow; it reads no mail."
    ),
    render=render_status,
    open_world=False,
    local=True,
)


ALL_TOOLS: tuple[ToolSpec, ...] = (*FAMILY_TOOLS, STATUS_TOOL)


def available_tools(
    read_only: bool, families: Collection[str] = TOOL_FAMILIES
) -> dict[str, ToolSpec]:
    """The tools to list: those of the chosen families (MAILBOX_TOOLS) and the ones that
    belong to none, and in read-only mode only the reading ones."""
    return {
        spec.name: spec
        for spec in ALL_TOOLS
        if not (read_only and spec.writes)
        and (spec.family is None or spec.family in families)
        and all(needed in families for needed in spec.also_needs)
    }
