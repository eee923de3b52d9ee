"""Benchmark (``tox -e bench``): resident memory of the supervisor and each worker.

Idle: after start and one call served by each worker (get_folders for IMAP,
list_calendars for CalDAV, create_draft for SMTP's composer); target: the four
processes together under 200 MB. Then during get_attachment saving the seeded
30 MB attachment: RSS sampled every 10 ms while it runs, and the high-water mark
(VmHWM) after. Process ids come from server_status (workers) and their parent
(the supervisor). The download is also timed beside a bare imapclient floor that
fetches the same 2 MB pieces, decodes them and writes the file.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.imap_client import other_client
from tests.mcp_client import mcp_session, structured
from tests.perf.bench import REPORT, BenchAccount, Memory, memory_of, parent_of, timed
from tests.perf.imap_floors import Imap
from tests.perf.seed_mail import LANDMARKS, LARGE_ATTACHMENT_BYTES
from tests.servers.dovecot import DovecotServer

pytestmark = pytest.mark.anyio

CHUNK = 2 * 1024 * 1024  # what the worker asks for at a time (workers/imap/attachment.py)
DOWNLOADS = 3
SAMPLE_EVERY = 0.01


def save_part(imap: Imap, uid: int, part: str, path: Path) -> str:
    """The part fetched in CHUNK pieces, base64-decoded as it comes, written to ``path``;
    returns the SHA-256 of what was written."""
    digest = hashlib.sha256()
    pending = b""
    start = 0
    with open(path, "wb") as out:
        while True:
            item = imap.fetch([uid], [f"BODY.PEEK[{part}]<{start}.{CHUNK}>"])[uid]
            chunk = next(v for k, v in item.items() if k.startswith(f"BODY[{part}]".encode()))
            start += len(chunk)
            pending += b"".join(chunk.split())
            whole = len(pending) - len(pending) % 4
            data, pending = base64.b64decode(pending[:whole]), pending[whole:]
            digest.update(data)
            out.write(data)
            if len(chunk) < CHUNK:
                return digest.hexdigest()


def processes(status: Any) -> dict[str, int]:
    """Process ids by name: the supervisor and each running worker."""
    workers = {w["name"]: w["pid"] for w in status["workers"] if w["pid"]}
    assert set(workers) == {"imap", "smtp", "dav"}, status["workers"]
    (supervisor,) = {parent_of(pid) for pid in workers.values()}
    return {"supervisor": supervisor, **workers}


async def test_memory_idle_and_while_saving_a_30_mb_attachment(
    bench_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, bench_account: BenchAccount
) -> None:
    downloads = Path(bench_env["MAILBOX_DOWNLOAD_DIR"])
    with other_client(dovecot, bench_account.account) as imap:
        imap.select_folder("INBOX", readonly=True)
        uid = int(imap.sort(["ARRIVAL"], ["SUBJECT", LANDMARKS.large])[-1])
        floor_path = tmp_path / "floor.zip"

        async def floor_save() -> str:
            return save_part(imap, uid, "2", floor_path)

        floor = await timed(floor_save, DOWNLOADS)
        expected = save_part(imap, uid, "2", floor_path)
    assert floor_path.stat().st_size == LARGE_ATTACHMENT_BYTES

    async with mcp_session(bench_env, tmp_path / "memory.log") as session:
        structured(await session.call_tool("get_folders", {}))
        structured(await session.call_tool("list_calendars", {}))
        draft = {"to": ["ben@acme.example"], "subject": "Memory check", "body": "Hello."}
        structured(await session.call_tool("create_draft", draft))
        pids = processes(structured(await session.call_tool("server_status", {})))
        idle = {name: memory_of(pid) for name, pid in pids.items()}

        found = await session.call_tool("search_emails", {"subject": LANDMARKS.large, "limit": 1})
        args = {"id": structured(found)["emails"][0]["id"], "part": "2", "save": True}
        peak = {name: 0.0 for name in pids}
        saved: list[Any] = []

        async def download() -> None:
            saved.append(structured(await session.call_tool("get_attachment", args)))

        async def sample_until_saved() -> None:
            while not saved:
                for name, pid in pids.items():
                    peak[name] = max(peak[name], memory_of(pid).rss_mb)
                await anyio.sleep(SAMPLE_EVERY)

        async with anyio.create_task_group() as tg:
            tg.start_soon(download)
            tg.start_soon(sample_until_saved)
        after = {name: memory_of(pid) for name, pid in pids.items()}
        ours = await timed(lambda: session.call_tool("get_attachment", args), DOWNLOADS)

    path = Path(saved[0]["path"])
    assert path.parent == downloads and path.stat().st_size == LARGE_ATTACHMENT_BYTES
    assert hashlib.sha256(path.read_bytes()).hexdigest() == expected
    report_memory(idle, peak, after)
    REPORT.latency(
        "get_attachment save, 30 MB",
        ours,
        floor,
        floor="2 MB partial FETCHes, base64 decode, write the file",
    )


def report_memory(
    idle: dict[str, Memory], peak: dict[str, float], after: dict[str, Memory]
) -> None:
    for name in idle:
        REPORT.figure(
            f"RSS idle: {name}", idle[name].rss_mb, "MB", f"peak so far {idle[name].hwm_mb:.0f} MB"
        )
    total = sum(m.rss_mb for m in idle.values())
    REPORT.figure("RSS idle: all four processes", total, "MB", "target < 200 MB")
    for name in idle:
        REPORT.figure(
            f"RSS while saving 30 MB: {name}",
            peak[name],
            "MB",
            f"sampled peak; VmHWM after {after[name].hwm_mb:.0f} MB",
        )
    REPORT.figure("RSS while saving 30 MB: all four (sampled peaks)", sum(peak.values()), "MB")
