"""Benchmark (``tox -e bench``): what tool answers cost the model, in bytes and tokens.

The text content of an answer is what a model reads (structured content is
reported beside it for scale). Tokens are estimated two ways: bytes / 4, and
words x 4/3. Target: a 20-result search under 4 KB. A newsletter (HTML only,
with styles, layout tables and a tracking pixel) must come back as readable
text: no tags, no CSS.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.mcp_client import mcp_session, structured, text_of
from tests.perf.bench import REPORT, answer_size
from tests.perf.seed_mail import LANDMARKS

pytestmark = pytest.mark.anyio

TAG = re.compile(r"<(?:!|/?[a-zA-Z][a-zA-Z0-9]*[\s/>])")  # <p>, </td>, <img src=..., <!--
FENCE = re.compile(r"<<<[^\n]*?>>>")  # marks untrusted content in the text rendering
CSS = re.compile(r"[{}]|@media|font-family|margin:|padding:")


async def test_answer_sizes_and_a_newsletter_read_as_plain_text(
    bench_env: dict[str, str], tmp_path: Path
) -> None:
    async with mcp_session(bench_env, tmp_path / "sizes.log") as session:

        async def newest_id(**args: Any) -> str:
            found = structured(await session.call_tool("search_emails", {**args, "limit": 1}))
            return str(found["emails"][0]["id"])

        calls: dict[str, tuple[str, dict[str, Any]]] = {
            "search_emails, 20 results": ("search_emails", {"subject": "contract", "limit": 20}),
            "get_email typical": ("get_email", {"id": await newest_id(subject=LANDMARKS.typical)}),
            "get_email newsletter (HTML)": (
                "get_email",
                {"id": await newest_id(sender=LANDMARKS.newsletter_sender)},
            ),
            "get_email_thread, 6 messages": (
                "get_email_thread",
                {"id": await newest_id(subject=LANDMARKS.thread)},
            ),
            "get_folders, 26 folders": ("get_folders", {}),
            "get_calendar_events, one week": (
                "get_calendar_events",
                {"start": "2026-03-09", "end": "2026-03-15"},
            ),
            # A page of a three-month range (series summed up in the text).
            "get_calendar_events, three months": (
                "get_calendar_events",
                {"start": "2026-03-01", "end": "2026-05-31"},
            ),
        }
        answers = {
            name: await session.call_tool(tool, args) for name, (tool, args) in calls.items()
        }

    assert len(structured(answers["search_emails, 20 results"])["emails"]) == 20
    newsletter = answers["get_email newsletter (HTML)"]
    body = structured(newsletter)["body"]
    assert "Weekly digest No." in body and "Unsubscribe" in body
    assert not TAG.search(body) and not CSS.search(body), body[:500]
    text = FENCE.sub("", text_of(newsletter))
    assert not TAG.search(text) and not CSS.search(text), text[:500]

    for name, answer in answers.items():
        size = answer_size(answer)
        fences = sum(len(m.encode()) for m in FENCE.findall(text_of(answer)))
        json_bytes = len(json.dumps(structured(answer), ensure_ascii=False).encode())
        target = "; target < 4096" if name.startswith("search_emails") else ""
        REPORT.figure(
            f"answer text: {name}",
            size.bytes,
            "bytes",
            f"~{size.tokens_by_bytes:.0f} tokens by bytes/4, ~{size.tokens_by_words:.0f} by "
            f"words; {fences} bytes of it untrusted-content fences; structured JSON "
            f"{json_bytes} bytes{target}",
        )
