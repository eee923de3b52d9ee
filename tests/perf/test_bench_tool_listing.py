"""Benchmark (``tox -e bench``): what the model reads of ``tools/list`` with every conversation.

Model-visible bytes are the compact JSON of each tool's name, description and input
schema, as a real MCP client receives them (tests/tool_listing.py). Goal (issue 16,
item 9): at most 700 bytes per tool on average with every family on, and no more than
24,000 in all; mcp-email-server, the strongest Python peer, spends about 1,470 a tool.
Output schemas and annotations are reported beside them; they do not count toward the
goal. BEFORE is the listing at commit 91f2034, before the schemas were compacted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mcp_client import mcp_session
from tests.perf.bench import REPORT
from tests.tool_listing import AVERAGE_BUDGET, TOTAL_BUDGET, ToolSize, tool_size

pytestmark = pytest.mark.anyio

BEFORE = {
    "get_folders": 562,
    "search_emails": 2302,
    "get_email": 1024,
    "get_email_thread": 828,
    "get_attachment": 1259,
    "create_directory": 654,
    "send_email": 2958,
    "create_draft": 2592,
    "send_draft": 425,
    "move_email": 697,
    "mark_email": 876,
    "delete_email": 730,
    "list_calendars": 376,
    "get_calendar_events": 1013,
    "search_calendar": 1207,
    "get_free_busy": 1418,
    "create_event": 2069,
    "update_event": 2215,
    "delete_event": 551,
    "server_status": 494,
}
BEFORE_OUTPUT_SCHEMAS, BEFORE_ANNOTATIONS = 15_248, 2_079


async def listed(env: dict[str, str], log: Path) -> list[ToolSize]:
    async with mcp_session(env, log) as session:
        return [tool_size(tool) for tool in (await session.list_tools()).tools]


async def test_tools_list_size_per_tool_and_in_all(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    every = await listed(server_env, tmp_path / "all.log")
    mail_only = await listed({**server_env, "MAILBOX_TOOLS": "mail"}, tmp_path / "mail.log")

    for size in every:
        before = BEFORE.get(size.name)
        was = f"before {before}" if before else "new tool"
        REPORT.figure(
            f"tools/list: {size.name}",
            size.visible,
            "bytes",
            f"{was}; outputSchema {size.output_schema}, annotations {size.annotations}",
        )
    total = sum(size.visible for size in every)
    REPORT.figure(
        f"tools/list: all {len(every)} tools, model-visible",
        total,
        "bytes",
        f"before {sum(BEFORE.values())} for {len(BEFORE)}; target <= {TOTAL_BUDGET}",
    )
    REPORT.figure(
        "tools/list: model-visible per tool, average",
        total / len(every),
        "bytes",
        f"before {sum(BEFORE.values()) / len(BEFORE):.0f}; target <= {AVERAGE_BUDGET}; "
        "mcp-email-server ~1470",
    )
    REPORT.figure(
        "tools/list: output schemas (not model-visible)",
        sum(size.output_schema for size in every),
        "bytes",
        f"before {BEFORE_OUTPUT_SCHEMAS}",
    )
    REPORT.figure(
        "tools/list: annotations (not model-visible)",
        sum(size.annotations for size in every),
        "bytes",
        f"before {BEFORE_ANNOTATIONS}",
    )
    REPORT.figure(
        f"tools/list: MAILBOX_TOOLS=mail, {len(mail_only)} tools, model-visible",
        sum(size.visible for size in mail_only),
        "bytes",
    )
    assert len(mail_only) < len(every)
