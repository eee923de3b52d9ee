"""The task tools as the model sees them (served by the DAV worker)."""

from __future__ import annotations

from supervisor.tool_spec import ToolSpec

TASK_TOOLS: tuple[ToolSpec, ...] = ()
