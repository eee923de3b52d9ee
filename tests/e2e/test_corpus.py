"""Every message of the shared public corpus goes through get_email without harm.

``../shared/corpus/mail`` holds real-world and deliberately broken messages from
other projects' test suites (see its README). Each must give a useful result or
one clear error for that message, never a crashed worker or a hang.
"""

from __future__ import annotations

import email
import itertools
import json
import mailbox
import re
from pathlib import Path

import anyio
import pytest

from tests.ci import unavailable
from tests.imap_client import other_client
from tests.mcp_client import REPO, mcp_session, structured
from tests.server_env import NO_RATE_LIMITS
from tests.servers.dovecot import Account, DovecotServer

pytestmark = [pytest.mark.anyio, pytest.mark.tool_families("mail")]

CORPUS = REPO.parent / "shared" / "corpus" / "mail"


def shared_files(folder: Path, pattern: str) -> list[Path]:
    """The corpus files ``pattern`` names under ``folder``. The corpus lives beside the
    checkout (../shared), not in it: without it a fresh clone skips these tests, saying
    so, and CI (which always has it) fails."""
    files = sorted(folder.glob(pattern))
    if not files:
        unavailable(
            f"the shared mail corpus is not beside this checkout (no {pattern} under {folder})"
        )
    return files


async def test_every_corpus_message_is_read_or_refused_clearly(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    files = shared_files(CORPUS, "*/*.eml")
    with other_client(dovecot, account) as imap:
        imap.create_folder("Corpus")
        for path in files:
            imap.append("Corpus", path.read_bytes())
    server_env |= NO_RATE_LIMITS | {"MAILBOX_LOG_FORMAT": "json"}
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


MBOX_CORPUS = REPO.parent / "shared" / "corpus" / "mbox" / "imaptest"
ID = re.compile(r"<[^<>\s]+>")


def mbox_messages(path: Path) -> list[bytes]:
    box = mailbox.mbox(str(path), create=False)
    try:
        return [box.get_bytes(key) for key in box.iterkeys()]
    finally:
        box.close()


async def test_every_imaptest_mailbox_searches_reads_and_threads_without_harm(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    boxes = shared_files(MBOX_CORPUS, "*.mbox")
    with other_client(dovecot, account) as imap:
        for path in boxes:
            imap.create_folder(f"mbox/{path.stem}")
            for raw in mbox_messages(path):
                imap.append(f"mbox/{path.stem}", raw)
    server_env |= NO_RATE_LIMITS | {"MAILBOX_LOG_FORMAT": "json"}
    log = tmp_path / "err.log"
    failures: dict[str, str] = {}
    async with mcp_session(server_env, log) as session:
        for path in boxes:
            folder = f"mbox/{path.stem}"
            listing = structured(
                await session.call_tool("search_emails", {"folder": folder, "limit": 200})
            )
            assert listing["total"] == len(mbox_messages(path)), folder
            for summary in listing["emails"]:
                for tool in ("get_email", "get_email_thread"):
                    with anyio.fail_after(30):
                        result = await session.call_tool(tool, {"id": summary["id"]})
                    if result.is_error:
                        failures[f"{tool} {summary['id']}"] = result.content[0].text  # type: ignore[union-attr]
    events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert [e for e in events if e.get("event") in ("worker.restart", "request.crashed")] == []
    assert failures == {}


def conversations(raws: list[bytes]) -> list[frozenset[int]]:
    """The oracle: messages (by index) linked when their Message-ID, In-Reply-To and
    References share an id, closed transitively."""
    ids = []
    for raw in raws:
        headers = email.message_from_bytes(raw)
        names = ("Message-ID", "In-Reply-To", "References")
        ids.append({i for n in names for v in headers.get_all(n, []) for i in ID.findall(str(v))})
    groups = [{n} for n in range(len(raws))]
    merged = True
    while merged:
        merged = False
        for a, b in itertools.combinations(range(len(groups)), 2):
            if (
                groups[a]
                and groups[b]
                and set().union(*(ids[i] for i in groups[a]))
                & set().union(*(ids[i] for i in groups[b]))
            ):
                groups[a] |= groups[b]
                groups[b] = set()
                merged = True
    return [frozenset(g) for g in groups if g]


async def test_threads_of_the_imaptest_mailboxes_are_exactly_the_linked_messages(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    boxes = {path.stem: mbox_messages(path) for path in shared_files(MBOX_CORPUS, "thread*.mbox")}
    with other_client(dovecot, account) as imap:
        for name, raws in boxes.items():
            imap.create_folder(name)
            for raw in raws:
                imap.append(name, raw)
    server_env |= NO_RATE_LIMITS
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        for name, raws in boxes.items():
            listing = structured(
                await session.call_tool("search_emails", {"folder": name, "limit": 200})
            )
            key_of: dict[int, str] = {}
            got: dict[int, set[str]] = {}
            for summary in listing["emails"]:
                index = int(summary["id"].rsplit(".", 1)[1]) - 1  # UIDs follow append order
                thread = structured(
                    await session.call_tool("get_email_thread", {"id": summary["id"], "limit": 200})
                )
                got[index] = {m["message_id"] or m["id"] for m in thread["messages"]}
                own = next(m for m in thread["messages"] if m["id"] == summary["id"])
                key_of[index] = own["message_id"] or own["id"]
            for group in conversations(raws):
                expected = {key_of[i] for i in group}
                for index in group:
                    assert got[index] == expected, (name, index)
