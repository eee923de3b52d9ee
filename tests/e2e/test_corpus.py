"""Every message of the shared public corpus goes through get_email without harm.

``../shared/corpus/mail`` holds real-world and deliberately broken messages from
other projects' test suites (see its README). Each must give a useful result or
one clear error for that message, never a crashed worker or a hang.
"""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from tests.imap_client import other_client
from tests.mcp_client import REPO, mcp_session, structured
from tests.servers.dovecot import Account, DovecotServer

pytestmark = pytest.mark.anyio

CORPUS = REPO.parent / "shared" / "corpus" / "mail"


def corpus_files() -> list[Path]:
    files = sorted(CORPUS.glob("*/*.eml"))
    if not files:
        pytest.fail(f"the shared corpus is missing: expected .eml files under {CORPUS}")
    return files


async def test_every_corpus_message_is_read_or_refused_clearly(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    files = corpus_files()
    with other_client(dovecot, account) as imap:
        imap.create_folder("Corpus")
        for path in files:
            imap.append("Corpus", path.read_bytes())
    server_env["MAILBOX_LOG_FORMAT"] = "json"
    log = tmp_path / "err.log"
    outcomes: dict[str, str] = {}
    async with mcp_session(server_env, log) as session:
        listing = structured(
            await session.call_tool("search_emails", {"folder": "Corpus", "limit": 200})
        )
        assert listing["total"] == len(files)
        for summary in listing["emails"]:
            with anyio.fail_after(30):
                result = await session.call_tool(
                    "get_email", {"id": summary["id"], "max_chars": 2000}
                )
            text = result.content[0].text  # type: ignore[union-attr]
            outcomes[summary["id"]] = "error: " + text if result.is_error else "ok"
    events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    crashes = [e for e in events if e.get("event") in ("worker.restart", "request.crashed")]
    assert crashes == []
    failures = {k: v for k, v in outcomes.items() if v != "ok"}
    assert failures == {}
