"""The worker serve loop, driven over real pipes with small handlers."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import msgspec
import pytest

from protocol import messages
from protocol.contract import Contract, routes_for
from protocol.errors import AuthFailed, NotFound
from protocol.framing import MessageChannel
from workers.pipe import FdReceiveStream, FdSendStream
from workers.runtime import CallContext, WorkerRuntime, WorkerSpec

pytestmark = pytest.mark.anyio


class Settings(msgspec.Struct):
    concurrency: int = 4


class Nap(msgspec.Struct):
    seconds: float = 0.0
    value: str = ""


class Said(msgspec.Struct):
    value: str


async def nap(args: Nap, state: dict[str, int], ctx: CallContext) -> Said:
    state["calls"] += 1
    await anyio.sleep(args.seconds)
    ctx.validator = f"v{state['calls']}"
    return Said(args.value)


async def boom(args: Nap, state: dict[str, int], ctx: CallContext) -> Said:
    raise RuntimeError("a bug with a /secret/path")


async def missing(args: Nap, state: dict[str, int], ctx: CallContext) -> Said:
    raise NotFound("No message with that id.")


@asynccontextmanager
async def open_state(settings: Settings) -> AsyncIterator[dict[str, int]]:
    yield {"calls": 0}


NAP = Contract("nap", "test", Nap, Said)
BOOM = Contract("boom", "test", Nap, Said)
MISSING = Contract("missing", "test", Nap, Said)

SPEC: WorkerSpec[Settings, dict[str, int]] = WorkerSpec(
    name="test",
    settings_type=Settings,
    open_state=open_state,
    routes=routes_for("test", (NAP, BOOM, MISSING), {NAP: nap, BOOM: boom, MISSING: missing}),
    metrics=lambda state: {"calls": state["calls"]},
    max_concurrency=lambda settings: settings.concurrency,
)


@asynccontextmanager
async def configured_worker(
    spec: WorkerSpec[Settings, dict[str, int]],
) -> AsyncIterator[MessageChannel[messages.FromWorker, messages.ToWorker]]:
    """A runtime serving ``spec`` over real pipes, sent its Configure; our end of the pipes."""
    to_worker_r, to_worker_w = os.pipe()
    from_worker_r, from_worker_w = os.pipe()
    worker_side: MessageChannel[messages.ToWorker, messages.FromWorker] = MessageChannel(
        FdReceiveStream(to_worker_r),
        FdSendStream(from_worker_w),
        messages.ToWorker,  # type: ignore[arg-type]
    )
    ours: MessageChannel[messages.FromWorker, messages.ToWorker] = MessageChannel(
        FdReceiveStream(from_worker_r),
        FdSendStream(to_worker_w),
        messages.FromWorker,  # type: ignore[arg-type]
    )
    async with anyio.create_task_group() as tg:
        tg.start_soon(WorkerRuntime(spec, worker_side).serve)
        await ours.send(messages.Configure(msgspec.Raw(msgspec.msgpack.encode(Settings()))))
        yield ours


@asynccontextmanager
async def running_worker() -> AsyncIterator[MessageChannel[messages.FromWorker, messages.ToWorker]]:
    async with configured_worker(SPEC) as ours:
        with anyio.fail_after(5):
            assert isinstance(await ours.receive(), messages.Ready)
        yield ours
        with anyio.fail_after(10):
            await ours.send(messages.Shutdown())


def request(call_id: int, tool: str, timeout: float = 5.0, **args: object) -> messages.Request:
    return messages.Request(
        call_id, tool, msgspec.Raw(msgspec.msgpack.encode(args)), time.time() + timeout
    )


async def test_requests_run_concurrently_and_answer_by_id() -> None:
    async with running_worker() as worker:
        with anyio.fail_after(5):
            await worker.send(request(1, "nap", seconds=0.3, value="slow"))
            await worker.send(request(2, "nap", seconds=0.0, value="fast"))
            first, second = await worker.receive(), await worker.receive()
    assert isinstance(first, messages.Result) and first.id == 2
    assert isinstance(second, messages.Result) and second.id == 1
    assert msgspec.msgpack.decode(second.value, type=Said) == Said("slow")
    assert first.validator is not None


async def test_a_request_past_its_deadline_gets_a_timeout_error() -> None:
    async with running_worker() as worker:
        with anyio.fail_after(5):
            await worker.send(request(1, "nap", timeout=0.2, seconds=30))
            reply = await worker.receive()
    assert isinstance(reply, messages.Failure) and reply.kind == "server_timeout"


async def test_a_handler_bug_is_one_failure_and_the_worker_keeps_serving() -> None:
    async with running_worker() as worker:
        with anyio.fail_after(5):
            await worker.send(request(1, "boom"))
            crashed = await worker.receive()
            await worker.send(request(2, "nap", value="still here"))
            after = await worker.receive()
    assert isinstance(crashed, messages.Failure) and crashed.kind == "internal"
    assert "/secret/path" not in crashed.message
    assert isinstance(after, messages.Result) and after.id == 2


async def test_a_mail_error_keeps_its_kind_and_sentence() -> None:
    async with running_worker() as worker:
        with anyio.fail_after(5):
            await worker.send(request(1, "missing"))
            reply = await worker.receive()
    assert reply == messages.Failure(1, "not_found", "No message with that id.")


async def test_bad_arguments_are_reported_not_crashed_on() -> None:
    async with running_worker() as worker:
        with anyio.fail_after(5):
            await worker.send(request(1, "nap", seconds="soon"))
            reply = await worker.receive()
    assert isinstance(reply, messages.Failure) and reply.kind == "invalid_argument"


async def test_a_cancelled_request_gets_no_reply() -> None:
    async with running_worker() as worker:
        with anyio.fail_after(5):
            await worker.send(request(1, "nap", seconds=30))
            await anyio.sleep(0.05)
            await worker.send(messages.Cancel(1))
            await worker.send(request(2, "nap", value="next"))
            reply = await worker.receive()
    assert isinstance(reply, messages.Result) and reply.id == 2


async def test_a_ping_is_answered_with_metrics() -> None:
    async with running_worker() as worker:
        with anyio.fail_after(5):
            await worker.send(request(1, "nap"))
            await worker.receive()
            await worker.send(messages.Ping(9))
            pong = await worker.receive()
    assert isinstance(pong, messages.Pong) and pong.id == 9
    assert pong.metrics["calls"] == 1 and pong.metrics["requests_served"] == 1


async def test_an_unknown_tool_is_an_error_reply() -> None:
    async with running_worker() as worker:
        with anyio.fail_after(5):
            await worker.send(request(1, "no_such_tool"))
            reply = await worker.receive()
    assert isinstance(reply, messages.Failure) and "no tool 'no_such_tool'" in reply.message


@asynccontextmanager
async def refused_login(settings: Settings) -> AsyncIterator[dict[str, int]]:
    raise AuthFailed("The IMAP server refused the login for anna@example.org.")
    yield {}  # pragma: no cover - never reached


async def test_a_start_refused_by_the_server_is_answered_in_its_words_not_as_a_crash() -> None:
    async with configured_worker(dataclasses.replace(SPEC, open_state=refused_login)) as ours:
        with anyio.fail_after(5):
            answer = await ours.receive()
    assert isinstance(answer, messages.Failure) and answer.kind == "auth_failed"
    assert answer.message.startswith("The IMAP server refused the login")
