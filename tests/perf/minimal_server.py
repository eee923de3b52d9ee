"""The floor for start-up and MCP round trips: the smallest server on the same SDK.

``python tests/perf/minimal_server.py``: one tool, ``noop``, that does nothing;
no workers, no config. With ``FLOOR_REPLAY`` naming a JSON file
(``{"output_schema": …, "text": …, "structured": …}``, see bench.replaying),
a second tool, ``replay``, declares that output schema and answers that text and
structured content at once: what the SDK alone costs to deliver one of our answers,
client-side schema validation included.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

NOOP = types.Tool(name="noop", input_schema={"type": "object", "properties": {}})
REPLAY: dict[str, Any] = (
    json.loads(Path(os.environ["FLOOR_REPLAY"]).read_text()) if "FLOOR_REPLAY" in os.environ else {}
)
TOOLS = [NOOP]
if REPLAY:
    TOOLS.append(
        types.Tool(
            name="replay",
            input_schema={"type": "object", "properties": {}},
            output_schema=REPLAY["output_schema"],
        )
    )


async def list_tools(
    _ctx: ServerRequestContext[Any], _params: types.PaginatedRequestParams | None
) -> types.ListToolsResult:
    return types.ListToolsResult(tools=TOOLS)


async def call_tool(
    _ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
) -> types.CallToolResult:
    if params.name == "replay":
        return types.CallToolResult(
            content=[types.TextContent(text=REPLAY["text"])],
            structured_content=REPLAY["structured"],
        )
    return types.CallToolResult(content=[types.TextContent(text="ok")])


async def main() -> None:
    server: Server[Any] = Server("floor", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
