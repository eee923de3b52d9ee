"""What a model reads of ``tools/list``, in bytes: the compact JSON of each tool's name,
description and input schema. Output schemas and annotations are measured apart: clients
use them, but they do not count toward the budget (issue 16, item 9)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import mcp_types as types

# At most this many bytes per tool on average, and in all, with every family on.
AVERAGE_BUDGET = 700
TOTAL_BUDGET = 24_000


def compact_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


@dataclass(frozen=True)
class ToolSize:
    name: str
    visible: int  # name, description and input schema: what the model reads
    output_schema: int
    annotations: int


def tool_size(tool: types.Tool) -> ToolSize:
    wire = tool.model_dump(by_alias=True, exclude_none=True, mode="json")
    visible = {key: wire[key] for key in ("name", "description", "inputSchema") if key in wire}
    return ToolSize(
        tool.name,
        compact_size(visible),
        compact_size(wire["outputSchema"]) if "outputSchema" in wire else 0,
        compact_size(wire["annotations"]) if "annotations" in wire else 0,
    )
