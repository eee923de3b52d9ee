"""One worker process and the loop that keeps one running: spawn, boot, heartbeat, reap.

``run()`` spawns ``python -m workers.<name>``, sends its settings, waits for Ready,
then reads every frame (a reply goes to the call waiting for its id, a Pong to the
Ping with its id), pings for liveness and replaces a worker grown past its memory
ceiling. A dead worker's calls fail and a new one starts after a backoff; too many
restarts in a window open a circuit for this worker only. A worker that cannot start
for a reason a restart cannot fix (no settings, or a ConfigError or AuthFailed in
answer to them) is left stopped, its calls answered with that reason, until
``recycle`` starts it with new settings. The calls are supervisor.worker_handle's.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
import msgspec
import structlog
from anyio.abc import Process

from protocol import messages
from protocol.errors import MailError, Unavailable, error_from_kind
from protocol.framing import MessageChannel
from supervisor.child_process import kill, reap, spawn_worker, stop_before_ready
from supervisor.ping_book import PingBook
from supervisor.restart_policy import (
    DEFAULT_POLICY,
    MemoryCeiling,
    RestartBudget,
    RestartPolicy,
    restart_cannot_fix,
)

log = structlog.get_logger()

Channel = MessageChannel[messages.FromWorker, messages.ToWorker]
ProgressCallback = Callable[[float, float | None, str | None], Awaitable[None]]

_PIPE_ERRORS = (anyio.BrokenResourceError, anyio.ClosedResourceError, MailError)


@dataclass
class PendingCall:
    """A request sent to the worker; ``reply`` stays None if the worker died under it."""

    on_progress: ProgressCallback | None = None
    done: anyio.Event = field(default_factory=anyio.Event)
    reply: messages.Result | messages.Failure | None = None


class WorkerProcess:
    """Keeps one worker process running and owns its pipe."""

    def __init__(
        self,
        name: str,
        settings: Callable[[], Awaitable[msgspec.Struct]],
        policy: RestartPolicy = DEFAULT_POLICY,
        *,
        label: str,
        log_level: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.label = label
        self._settings = settings
        self._policy = policy
        self._log_level = log_level
        self.clock = clock
        self._budget = RestartBudget(policy, clock)
        self._encoder = msgspec.msgpack.Encoder()
        self._pings = PingBook()
        self._ready = anyio.Event()
        self._boot_asked = anyio.Event()  # set by recycle() or aclose() while stopped
        self._closing = False
        self._recycling: str | None = None  # why the running worker is being replaced
        self._ceiling = MemoryCeiling(name, policy.max_rss_bytes)
        self._running_with: msgspec.Struct | None = None  # settings of the current worker
        self._process: Process | None = None
        self.channel: Channel | None = None  # the pipe of a ready worker
        self.pending: dict[int, PendingCall] = {}
        self.stopped: MailError | None = None  # why no worker runs (a restart cannot fix it)
        self.metrics: dict[str, int | float | str] = {}
        self.recycled = 0
        self.started_at: float | None = None
        self.pid: int | None = None

    @property
    def restarts(self) -> int:
        """Restarts after a crash, a hang or a failed start (not planned replacements)."""
        return self._budget.restarts

    def __repr__(self) -> str:
        return f"<WorkerProcess {self.name} {self.state()} pid={self.pid} restarts={self.restarts}>"

    def state(self) -> str:
        """ready, starting, not configured, or paused after failures."""
        if self.stopped is not None:
            return "not configured"
        paused = self._budget.paused_for()
        if paused > 0:
            return f"paused for {paused:.0f} s after repeated failures"
        return "ready" if self.channel is not None else "starting"

    # -- the supervising loop -------------------------------------------------------

    async def run(self) -> None:
        """Keep a worker running until ``aclose``; never raises for a worker failure."""
        while not self._closing:
            await self._run_one()
            self._fail_pending()
            if self.stopped is not None and not self._closing:
                await self._boot_asked.wait()  # until recycle() or aclose()
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
                "worker.restart", worker=self.name, restarts=self.restarts, backoff=round(delay, 3)
            )
            await anyio.sleep(delay)

    async def _run_one(self) -> None:
        """Spawn one worker and serve it until it exits (or leave it stopped)."""
        try:
            settings = await self._settings()
        except MailError as exc:
            self._running_with = None
            self._stop_for(exc)
            return
        self._running_with = settings
        process, channel = await self._spawn()
        booted = False
        try:
            booted = await self._boot(channel, process, settings)
            if booted:
                await self._serve(channel, process)
        except _PIPE_ERRORS as exc:
            self._log_pipe_error(exc)
        finally:
            self.channel = None
            self._wake_waiters()
            with anyio.CancelScope(shield=True):
                if booted:
                    await reap(process, self._policy.shutdown_timeout)
                else:
                    await stop_before_ready(process)

    async def _spawn(self) -> tuple[Process, Channel]:
        process = await self._start_process()
        assert process.stdin is not None and process.stdout is not None
        channel: Channel = MessageChannel(process.stdout, process.stdin, messages.FromWorker)  # type: ignore[arg-type]
        self._process, self.pid = process, process.pid
        return process, channel

    async def _start_process(self) -> Process:
        """The operating-system process of a new worker (tests start stand-ins)."""
        return await spawn_worker(self.name, self._log_level)

    async def _boot(self, channel: Channel, process: Process, settings: msgspec.Struct) -> bool:
        """Send the settings and wait for Ready; True once the worker is ready.

        A worker may answer the settings with a Failure instead: if a restart cannot
        fix it, the worker is left stopped with that reason.
        """
        await channel.send(messages.Configure(msgspec.Raw(self._encoder.encode(settings))))
        first: messages.FromWorker | None = None
        with anyio.move_on_after(self._policy.boot_timeout):
            first = await channel.receive()
        match first:
            case messages.Ready():
                log.info("worker.ready", worker=self.name, pid=process.pid)
                self.started_at = self.clock()
                self._ceiling.started()
                self.channel = channel
                self._wake_waiters()
                return True
            case messages.Failure(kind=kind, message=message):
                error = error_from_kind(kind, message)
                if restart_cannot_fix(error):
                    self._stop_for(error)
                    return False
                log.error("worker.boot_failed", worker=self.name, pid=process.pid, error=message)
            case _ if not self._closing:  # else stopped on purpose before it was ready
                log.error("worker.boot_failed", worker=self.name, pid=process.pid)
        return False

    def _stop_for(self, error: MailError) -> None:
        """Leave the worker stopped: every call gets ``error`` until ``recycle``."""
        log.error("worker.stopped", worker=self.name, kind=error.kind, error=error.message)
        self.stopped = error
        self._boot_asked = anyio.Event()
        self._wake_waiters()

    async def _serve(self, channel: Channel, process: Process) -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._heartbeat, channel, process)
            try:
                await self._read_frames(channel)
            except _PIPE_ERRORS as exc:  # here: out of the task group it would be a group
                self._log_pipe_error(exc)
            finally:
                tg.cancel_scope.cancel()

    async def _read_frames(self, channel: Channel) -> None:
        while True:
            message = await channel.receive()
            if message is None:
                if self._closing:
                    log.info("worker.exited", worker=self.name, pid=self.pid)
                else:
                    log.warning("worker.exited", worker=self.name, pid=self.pid)
                return
            match message:
                case messages.Result(id=call_id) | messages.Failure(id=call_id):
                    pending = self.pending.get(call_id)
                    if pending is None:
                        continue  # a late reply to a call that already gave up
                    pending.reply = message
                    pending.done.set()
                case messages.Progress(id=call_id):
                    pending = self.pending.get(call_id)
                    if pending is not None and pending.on_progress is not None:
                        await pending.on_progress(message.progress, message.total, message.message)
                case messages.Pong(id=ping_id):
                    if not self._pings.answer(ping_id):
                        log.debug("worker.stale_pong", worker=self.name, ping=ping_id)
                        continue
                    self.metrics = dict(message.metrics)
                    await self._recycle_if_too_big(channel)

    def _wake_waiters(self) -> None:
        """Wake every call waiting for readiness so it re-checks the state."""
        woken, self._ready = self._ready, anyio.Event()
        woken.set()

    def _fail_pending(self) -> None:
        for pending in self.pending.values():
            if pending.reply is None:
                pending.done.set()  # reply None means: the worker died under it

    def _log_pipe_error(self, exc: BaseException) -> None:
        if not self._closing:
            log.warning("worker.pipe_error", worker=self.name, error=str(exc) or type(exc).__name__)

    # -- heartbeat and memory -------------------------------------------------------

    async def _heartbeat(self, channel: Channel, process: Process) -> None:
        """Kill a worker that stops answering pings; the supervising loop restarts it."""
        try:
            while await self._ping(channel, self._policy.ping_timeout):
                await anyio.sleep(self._policy.ping_interval)
        except _PIPE_ERRORS as exc:
            self._log_pipe_error(exc)
            return
        log.error("worker.unresponsive", worker=self.name, pid=process.pid)
        kill(process)

    async def _ping(self, channel: Channel, timeout: float) -> bool:
        """Send one Ping; True if the Pong with its id came within ``timeout``."""
        ping_id, answered = self._pings.new()
        try:
            with anyio.move_on_after(timeout):
                await channel.send(messages.Ping(ping_id))
                await answered.wait()
            return answered.is_set()
        finally:
            self._pings.forget(ping_id)

    async def refresh_metrics(self, timeout: float = 2.0) -> None:
        """Ask the worker for fresh metrics now, instead of at the next heartbeat."""
        channel = self.channel
        if channel is not None:
            with contextlib.suppress(*_PIPE_ERRORS):
                await self._ping(channel, timeout)

    async def _recycle_if_too_big(self, channel: Channel) -> None:
        rss = self.metrics.get("rss_bytes", 0)
        if not isinstance(rss, int) or not self._ceiling.exceeded(rss) or self.pending:
            return
        limit_mb = self._ceiling.limit // 2**20
        log.warning("worker.too_big", worker=self.name, rss_mb=rss // 2**20, limit_mb=limit_mb)
        await self._ask_to_stop(channel, "memory")

    # -- planned replacement --------------------------------------------------------

    async def recycle(self, reason: str) -> None:
        """Replace the worker by a fresh one (with fresh settings), without counting a
        failure; a worker left stopped is started again.

        Calls in flight on the old worker fail as if it had crashed: reads are retried.
        """
        if self.stopped is not None:
            self.stopped = None
            self._recycling = reason
            self._boot_asked.set()
            return
        channel = self.channel
        if channel is not None:
            await self._ask_to_stop(channel, reason)

    async def outdated(self) -> bool:
        """Whether a worker started now would get other settings than the current one
        (a password the password command printed since), or could start at all after
        its settings could not be made."""
        try:
            fresh = await self._settings()
        except MailError:
            return False
        return fresh != self._running_with

    async def _ask_to_stop(self, channel: Channel, reason: str) -> None:
        # No await before the channel is withdrawn: no new call can start on this worker.
        self._recycling = reason
        self.withdraw(channel)
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            await channel.send(messages.Shutdown())

    def withdraw(self, channel: Channel) -> None:
        """No new call goes to ``channel`` (the worker is leaving, or its pipe broke)."""
        if self.channel is channel:
            self.channel = None

    # -- the calls' view --------------------------------------------------------------

    async def ready_channel(self) -> Channel:
        """The pipe of a ready worker, waiting while one starts.

        Raises the error the worker was stopped with (a restart cannot fix it), or
        Unavailable while the circuit is open or the server shuts down.
        """
        while True:
            if self.stopped is not None:
                raise error_from_kind(self.stopped.kind, self.stopped.message)
            if self._closing:
                raise Unavailable("The server is shutting down.")
            remaining = self._budget.paused_for()
            if remaining > 0:
                raise Unavailable(
                    f"The {self.label} worker failed repeatedly and is paused for {remaining:.0f} s "
                    "so it does not hammer the server; the server log says why."
                )
            if self.channel is not None:
                return self.channel
            await self._ready.wait()

    # -- ending ----------------------------------------------------------------------

    async def aclose(self) -> None:
        """Ask the worker to finish and log out; kill it if it does not exit in time.

        A worker still starting is stopped at once (it has no session to log out of):
        waiting for it would hold up the exit by the whole shutdown timeout.
        """
        self._closing = True
        self._boot_asked.set()
        channel, process = self.channel, self._process
        with anyio.CancelScope(shield=True):
            if channel is not None:
                with anyio.move_on_after(1):
                    try:
                        await channel.send(messages.Shutdown())
                        await channel.aclose()
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                        pass
            if process is not None and process.returncode is None:
                if channel is None and self._recycling is None:
                    await stop_before_ready(process)
                else:
                    await reap(process, self._policy.shutdown_timeout)
