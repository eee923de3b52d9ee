"""One worker process as the supervisor sees it: spawn, call, watch, restart.

``run()`` is the supervising loop (started in the supervisor's task group): it
spawns ``python -m workers.<name>``, sends the settings over the pipe, waits
for Ready, routes replies to waiting calls by id, pings for liveness, and when
the process dies fails the calls in flight and starts a new one after a
backoff. Too many restarts in a window open a circuit for this worker only.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import anyio
import msgspec
import structlog
from anyio.abc import Process

from protocol.contract import Contract
from protocol.errors import (
    AuthFailed,
    MailError,
    ServerTimeout,
    Unavailable,
    WorkerCrashed,
    error_from_kind,
)
from protocol.framing import MessageChannel
from protocol.messages import (
    Cancel,
    Configure,
    Failure,
    FromWorker,
    Ping,
    Pong,
    Progress,
    Ready,
    Request,
    Result,
    Shutdown,
    ToWorker,
)
from protocol.status import WorkerStatus
from supervisor.rate_limit import TokenBucket
from supervisor.reachability import Reachability
from supervisor.restart_policy import DEFAULT_POLICY, RestartBudget, RestartPolicy

R = TypeVar("R")
log = structlog.get_logger()

ProgressCallback = Callable[[float, float | None, str | None], Awaitable[None]]

# How long a worker that is still starting gets to end by itself at shutdown.
BOOTING_GRACE = 0.5

_PIPE_ERRORS = (anyio.BrokenResourceError, anyio.ClosedResourceError, MailError)

# Environment variables a worker must not inherit: credentials go over the pipe.
_SECRET_VARIABLES = ("MAILBOX_PASSWORD", "MAILBOX_PASSWORD_COMMAND")


@dataclass(frozen=True)
class Answer(Generic[R]):
    """A worker's decoded answer and what the cache needs to know of it."""

    value: R
    validator: str | None = None  # a freshness token (protocol.fingerprint)
    tags: tuple[str, ...] = ()  # what it depends on, or for a write what it changed
    size: int = 0  # bytes on the pipe


@dataclass
class _Pending:
    done: anyio.Event = field(default_factory=anyio.Event)
    reply: Result | Failure | None = None
    on_progress: ProgressCallback | None = None


def queue_budget(timeout: float) -> float:
    """How long a call may wait for its turn under the rate limit: its whole deadline but
    the time the work itself needs (half of it, 10 s at most)."""
    return max(0.0, timeout - min(10.0, timeout / 2))


class WorkerHandle:
    """Talks to one worker process and keeps one running."""

    def __init__(
        self,
        name: str,
        settings: Callable[[], Awaitable[msgspec.Struct]],
        policy: RestartPolicy = DEFAULT_POLICY,
        *,
        label: str | None = None,
        log_level: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        rate_limit: TokenBucket | None = None,
        refresh_credentials: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self.name = name
        self._rate_limit = rate_limit
        self._refresh_credentials = refresh_credentials
        self._recycling: str | None = None
        self._boot_rss: int | None = None  # from the first Pong: the size a worker starts at
        self._log_level = log_level
        self.label = label or name.upper()
        self.reachability = Reachability(self.label)
        self._settings = settings
        self._policy = policy
        self._clock = clock
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._channel: MessageChannel[FromWorker, ToWorker] | None = None
        self._process: Process | None = None
        self._ready = anyio.Event()
        self._pong = anyio.Event()
        self._closing = False
        self._budget = RestartBudget(policy, clock)
        self._fatal: MailError | None = None
        self._encoder = msgspec.msgpack.Encoder()
        self.recycled = 0
        self.started_at: float | None = None
        self.pid: int | None = None
        self.metrics: dict[str, int | float | str] = {}

    @property
    def restarts(self) -> int:
        """Restarts after a crash, a hang or a failed start (not planned replacements)."""
        return self._budget.restarts

    def __repr__(self) -> str:
        state = "ready" if self._channel is not None else "starting"
        return f"<WorkerHandle {self.name} {state} pid={self.pid} restarts={self.restarts}>"

    # -- supervising loop ---------------------------------------------------------

    async def run(self) -> None:
        """Keep a worker running until ``aclose``; never raises for a worker failure."""
        while not self._closing:
            await self._run_one()
            self._fail_pending()
            if self._closing:
                break
            if self._recycling is not None:
                # Replaced on purpose (memory, new password): not a failure, no backoff.
                log.info("worker.recycled", worker=self.name, reason=self._recycling)
                self._recycling = None
                self.recycled += 1
                continue
            delay = self._budget.plan(self.name)
            log.warning(
                "worker.restart",
                worker=self.name,
                restarts=self.restarts,
                backoff=round(delay, 3),
            )
            await anyio.sleep(delay)

    async def _run_one(self) -> bool:
        """Spawn one worker and serve it until it exits; True if it got to Ready."""
        try:
            settings = await self._settings()
        except MailError as exc:
            # Configuration problems are not fixed by restarting: report them to every call.
            self._fatal = exc
            self._wake_waiters()
            await anyio.sleep_forever()
        env = {k: v for k, v in os.environ.items() if k not in _SECRET_VARIABLES}
        if self._log_level:
            env["MAILBOX_LOG_LEVEL"] = self._log_level
        process = await anyio.open_process(
            [sys.executable, "-u", "-m", f"workers.{self.name}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # inherit: the worker's logs go straight to our stderr
            env=env,
        )
        assert process.stdin is not None and process.stdout is not None
        channel: MessageChannel[FromWorker, ToWorker] = MessageChannel(
            process.stdout,
            process.stdin,
            FromWorker,  # type: ignore[arg-type]
        )
        self._process, self.pid = process, process.pid
        booted = False
        try:
            await channel.send(Configure(msgspec.Raw(self._encoder.encode(settings))))
            with anyio.move_on_after(self._policy.boot_timeout):
                first = await channel.receive()
                booted = isinstance(first, Ready)
            if not booted:
                if not self._closing:  # else stopped on purpose before it was ready
                    log.error("worker.boot_failed", worker=self.name, pid=process.pid)
                return False
            log.info("worker.ready", worker=self.name, pid=process.pid)
            self.started_at = self._clock()
            self._boot_rss = None
            self._channel = channel
            self._ready.set()
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._heartbeat, channel, process)
                try:
                    await self._read_replies(channel)
                except _PIPE_ERRORS as exc:
                    self._log_pipe_error(exc)
                finally:
                    tg.cancel_scope.cancel()
            return True
        except _PIPE_ERRORS as exc:
            self._log_pipe_error(exc)
            return booted
        finally:
            self._channel = None
            self._wake_waiters()
            with anyio.CancelScope(shield=True):
                if self._closing and not booted:
                    await self._stop_booting(process)
                else:
                    await self._reap(process)

    def _wake_waiters(self) -> None:
        """Wake every call waiting for readiness so it re-checks the state."""
        woken, self._ready = self._ready, anyio.Event()
        woken.set()

    async def _read_replies(self, channel: MessageChannel[FromWorker, ToWorker]) -> None:
        while True:
            message = await channel.receive()
            if message is None:
                if self._closing:
                    log.info("worker.exited", worker=self.name, pid=self.pid)
                else:
                    log.warning("worker.exited", worker=self.name, pid=self.pid)
                return
            match message:
                case Result(id=call_id) | Failure(id=call_id):
                    pending = self._pending.get(call_id)
                    if pending is None:
                        continue  # a late reply to a call that already gave up
                    pending.reply = message
                    pending.done.set()
                case Progress(id=call_id):
                    pending = self._pending.get(call_id)
                    if pending is not None and pending.on_progress is not None:
                        await pending.on_progress(message.progress, message.total, message.message)
                case Pong():
                    self.metrics = dict(message.metrics)
                    self._pong.set()
                    await self._recycle_if_too_big(channel)
                case Ready():
                    pass

    async def _heartbeat(
        self, channel: MessageChannel[FromWorker, ToWorker], process: Process
    ) -> None:
        """Kill a worker that stops answering pings; the supervising loop restarts it."""
        try:
            await self._ping_forever(channel, process)
        except _PIPE_ERRORS as exc:
            self._log_pipe_error(exc)

    def _log_pipe_error(self, exc: BaseException) -> None:
        if not self._closing:
            log.warning("worker.pipe_error", worker=self.name, error=str(exc) or type(exc).__name__)

    async def _ping_forever(
        self, channel: MessageChannel[FromWorker, ToWorker], process: Process
    ) -> None:
        for ping_id in itertools.count(1):
            self._pong = anyio.Event()
            await channel.send(Ping(ping_id))
            with anyio.move_on_after(self._policy.ping_timeout):
                await self._pong.wait()
            if not self._pong.is_set():
                log.error("worker.unresponsive", worker=self.name, pid=process.pid)
                process.kill()
                return
            await anyio.sleep(self._policy.ping_interval)

    async def _reap(self, process: Process, grace: float | None = None) -> None:
        with anyio.move_on_after(self._policy.shutdown_timeout if grace is None else grace):
            await process.wait()
            return
        process.kill()
        await process.wait()

    async def _stop_booting(self, process: Process) -> None:
        """A worker that never got to Ready has nothing to log out of: close its pipe,
        which ends it once it reads, and kill it if it has not ended at once."""
        if process.stdin is not None:
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                await process.stdin.aclose()
        await self._reap(process, BOOTING_GRACE)

    async def _recycle_if_too_big(self, channel: MessageChannel[FromWorker, ToWorker]) -> None:
        rss = self.metrics.get("rss_bytes", 0)
        limit = self._policy.max_rss_bytes
        if not limit or not isinstance(rss, int):
            return
        if self._boot_rss is None:
            self._boot_rss = rss
            if rss > limit:
                # Replacing it would only start another just as big, again and again.
                log.warning(
                    "worker.ceiling_below_fresh_size",
                    worker=self.name,
                    rss_mb=rss // 2**20,
                    limit_mb=limit // 2**20,
                )
            return
        if rss <= limit or self._boot_rss > limit or self._pending:
            return
        log.warning(
            "worker.too_big", worker=self.name, rss_mb=rss // 2**20, limit_mb=limit // 2**20
        )
        await self._ask_to_stop(channel, "memory")

    async def recycle(self, reason: str) -> None:
        """Replace the worker by a fresh one (with fresh settings), without counting a failure.

        Calls in flight on the old worker fail as if it had crashed: reads are retried.
        """
        channel = self._channel
        if channel is not None:
            await self._ask_to_stop(channel, reason)

    async def _ask_to_stop(
        self, channel: MessageChannel[FromWorker, ToWorker], reason: str
    ) -> None:
        # No await before the channel is withdrawn: no new call can start on this worker.
        self._recycling = reason
        if self._channel is channel:
            self._channel = None
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            await channel.send(Shutdown())

    async def refresh_metrics(self, timeout: float = 2.0) -> None:
        """Ask the worker for fresh metrics now, instead of at the next heartbeat."""
        channel = self._channel
        if channel is None:
            return
        # A new event: the one the heartbeat last used may already be set.
        self._pong = pong = anyio.Event()
        with anyio.move_on_after(timeout), contextlib.suppress(*_PIPE_ERRORS):
            await channel.send(Ping(0))
            await pong.wait()

    def status(self) -> WorkerStatus:
        """What server_status and --diagnose show: state, process, restarts, pool metrics."""
        if self._fatal is not None:
            state = "not configured"
        elif self._budget.paused_for() > 0:
            state = f"paused for {self._budget.paused_for():.0f} s after repeated failures"
        elif self._channel is not None:
            state = "ready"
        else:
            state = "starting"
        metrics = {**self.metrics, "calls_waiting": len(self._pending)}
        if self._rate_limit is not None:
            metrics.update(self._rate_limit.metrics())
        metrics["writes_refused_offline"] = self.reachability.writes_refused
        uptime = self._clock() - self.started_at if self.started_at and self.ready else None
        return WorkerStatus(
            name=self.name,
            state=state,
            pid=self.pid,
            restarts=self.restarts,
            recycled=self.recycled,
            uptime_s=round(uptime, 1) if uptime is not None else None,
            metrics=metrics,
        )

    def _fail_pending(self) -> None:
        for pending in self._pending.values():
            if pending.reply is None:
                pending.done.set()  # reply None means: the worker died under it

    # -- calls ----------------------------------------------------------------------

    async def call(
        self,
        contract: Contract[Any, R],
        args: msgspec.Struct,
        *,
        timeout: float,
        on_progress: ProgressCallback | None = None,
        follow_up: bool = False,
    ) -> Answer[R]:
        """Run ``contract`` in the worker; reads are retried once if the worker dies under
        them (``Contract.retried``).

        ``follow_up``: a step of a call already under way whose first part happened (the
        Sent copy of a message that went out): neither the rate limit nor a recent
        failure holds it back, since not doing it loses more than trying.

        Raises the MailError the worker reported, WorkerCrashed (for a write, marked as
        possibly applied), ServerTimeout or Unavailable.
        """
        if contract.writes and not follow_up:
            self.reachability.check_write()
        if self._rate_limit is not None and not follow_up:
            queued = time.monotonic()
            await self._rate_limit.acquire(max_wait=queue_budget(timeout))
            timeout -= time.monotonic() - queued
        try:
            answer = await self._call_retrying_reads(contract, args, timeout, on_progress)
        except MailError as exc:
            self.reachability.note(exc)
            if not isinstance(exc, AuthFailed) or not await self._credentials_changed():
                raise
            # A refused login sent nothing, so even a write may go once more.
            await self.recycle("new password")
            answer = await self._call_retrying_reads(contract, args, timeout, on_progress)
        self.reachability.note(None)
        return answer

    async def _credentials_changed(self) -> bool:
        """After a refused login: did the password command (run again once per session)
        give a different password?"""
        if self._refresh_credentials is None or not await self._refresh_credentials():
            return False
        log.info("worker.new_credentials", worker=self.name)
        return True

    async def _call_retrying_reads(
        self,
        contract: Contract[Any, R],
        args: msgspec.Struct,
        timeout: float,
        on_progress: ProgressCallback | None,
    ) -> Answer[R]:
        tool = contract.name
        attempts = 2 if contract.retried else 1
        for attempt in range(1, attempts + 1):
            try:
                reply = await self._call_once(tool, args, timeout, on_progress)
            except WorkerCrashed:
                if attempt < attempts:
                    log.info("worker.retry_read", worker=self.name, tool=tool)
                    continue
                if not contract.writes:
                    raise
                raise WorkerCrashed(
                    f"The {self.label} worker stopped while running {tool}; the action may or may "
                    "not have happened. Check the mailbox before trying again.",
                    may_have_happened=True,
                ) from None
            return Answer(
                msgspec.msgpack.decode(reply.value, type=contract.result),
                validator=reply.validator,
                tags=tuple(reply.tags),
                size=len(reply.value),
            )
        raise AssertionError("unreachable")

    async def _call_once(
        self,
        tool: str,
        args: msgspec.Struct,
        timeout: float,
        on_progress: ProgressCallback | None,
    ) -> Result:
        deadline = time.time() + timeout
        call_id = next(self._ids)
        pending = _Pending(on_progress=on_progress)
        sent = False
        try:
            with anyio.fail_after(timeout + self._policy.reply_grace):
                channel = await self._wait_ready()
                self._pending[call_id] = pending
                payload = msgspec.Raw(self._encoder.encode(args))
                try:
                    await channel.send(Request(call_id, tool, payload, deadline))
                    sent = True
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    # The process is gone but the reader has not noticed yet: make
                    # sure a retry waits for the replacement instead of this pipe.
                    if self._channel is channel:
                        self._channel = None
                    raise WorkerCrashed(f"The {self.label} worker stopped; try again.") from None
                await pending.done.wait()
        except TimeoutError:
            if sent:
                await self._cancel_remote(call_id)
            raise ServerTimeout(
                f"{tool} did not finish within {timeout:.0f} s; the {self.label} server may be slow "
                "or unreachable. Try again, or ask for less at once."
            ) from None
        except BaseException:
            if sent:
                await self._cancel_remote(call_id)
            raise
        finally:
            self._pending.pop(call_id, None)
        reply = pending.reply
        if reply is None:
            raise WorkerCrashed(f"The {self.label} worker stopped while running {tool}; try again.")
        if isinstance(reply, Failure):
            raise error_from_kind(
                reply.kind, reply.message, may_have_happened=reply.may_have_happened
            )
        return reply

    async def _cancel_remote(self, call_id: int) -> None:
        channel = self._channel
        if channel is None:
            return
        with (
            anyio.CancelScope(shield=True),
            anyio.move_on_after(1),
            contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError),
        ):
            await channel.send(Cancel(call_id))

    async def _wait_ready(self) -> MessageChannel[FromWorker, ToWorker]:
        while True:
            if self._fatal is not None:
                raise self._fatal
            if self._closing:
                raise Unavailable("The server is shutting down.")
            remaining = self._budget.paused_for()
            if remaining > 0:
                raise Unavailable(
                    f"The {self.label} worker failed repeatedly and is paused for {remaining:.0f} s "
                    "so it does not hammer the server; the server log says why."
                )
            if self._channel is not None:
                return self._channel
            await self._ready.wait()

    # -- shutdown -------------------------------------------------------------------

    async def aclose(self) -> None:
        """Ask the worker to finish and log out; kill it if it does not exit in time.

        A worker still starting is stopped at once (it has no session to log out of):
        waiting for it would hold up the exit by the whole shutdown timeout.
        """
        self._closing = True
        channel, process = self._channel, self._process
        with anyio.CancelScope(shield=True):
            if channel is not None:
                with anyio.move_on_after(1):
                    try:
                        await channel.send(Shutdown())
                        await channel.aclose()
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                        pass
            if process is not None and process.returncode is None:
                if channel is None and self._recycling is None:
                    await self._stop_booting(process)
                else:
                    await self._reap(process)

    @property
    def ready(self) -> bool:
        return self._channel is not None
