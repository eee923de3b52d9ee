"""Benchmark (``tox -e bench``): the supervisor-to-worker pipe round trip (target p50 < 0.3 ms).

A WorkerHandle in this process drives a real IMAP worker, as the supervisor does,
and sends the built-in no-op request, which the worker answers itself without
touching IMAP. The floor is the same kind of frame echoed back by ``cat`` through
anyio's process pipes: what the operating system and the event loop cost alone.
"""

from __future__ import annotations

import struct

import anyio
import msgspec
import pytest

from protocol.messages import NOOP, NoArgs
from tests.integration.test_imap_worker import running_imap_worker
from tests.perf.bench import REPORT, timed
from tests.servers.dovecot import Account, DovecotServer

pytestmark = pytest.mark.anyio

ROUNDS = 2000


async def echoed_by_cat(rounds: int) -> list[float]:
    body = msgspec.msgpack.encode({"id": 1, "tool": NOOP.name, "args": {}})
    frame = struct.pack(">I", len(body)) + body
    async with await anyio.open_process(["cat"]) as cat:
        assert cat.stdin is not None and cat.stdout is not None
        stdin, stdout = cat.stdin, cat.stdout

        async def round_trip() -> None:
            await stdin.send(frame)
            got = b""
            while len(got) < len(frame):
                got += await stdout.receive()

        samples = await timed(round_trip, rounds)
        await stdin.aclose()
    return samples


async def test_a_noop_round_trip_through_the_worker_pipe(
    dovecot: DovecotServer, account: Account
) -> None:
    async with running_imap_worker(dovecot, account) as handle:
        samples = await timed(lambda: handle.call(NOOP, NoArgs(), timeout=5), ROUNDS)
        await handle.refresh_metrics()
        served = int(handle.metrics["requests_served"])
    assert served >= ROUNDS + 1
    REPORT.latency(
        "pipe round trip: no-op to IMAP worker (goal < 0.3 ms)",
        samples,
        await echoed_by_cat(ROUNDS),
        floor="the same size of frame echoed by cat through anyio pipes",
    )
