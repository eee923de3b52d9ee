"""One worker as its callers see it: calls with deadlines, retries and cancel.

``WorkerHandle.call`` runs a contract in the worker that supervisor.worker_process
keeps running: the request goes over the pipe of the ready worker and the call
waits for the reply with its id. A read is retried once if the worker dies under
it; a write never is (its error says whether it may have happened). A call that
gives up cancels its request in the worker.

A refused login, or a worker left stopped because it could not start, gets a
second chance only with new settings: the password command is run again (at most
every few seconds, supervisor.password) and, if the worker would now start with
another password, it is started again with it and the call tried once more.
Without new settings the call answers the reason, and no login is tried.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anyio
import msgspec
import structlog

from protocol.contract import Contract
from protocol.errors import MailError, ServerTimeout, WorkerCrashed, error_from_kind
from protocol.messages import Cancel, Failure, Request, Result
from protocol.status import WorkerStatus
from supervisor.rate_limit import TokenBucket
from supervisor.reachability import Reachability
from supervisor.restart_policy import DEFAULT_POLICY, RestartPolicy, restart_cannot_fix
from supervisor.worker_process import PendingCall, ProgressCallback, WorkerProcess

__all__ = ["Answer", "ProgressCallback", "WorkerHandle", "queue_budget"]

R = TypeVar("R")
log = structlog.get_logger()


@dataclass(frozen=True)
class Answer(Generic[R]):
    """A worker's decoded answer and what the cache needs to know of it."""

    value: R
    validator: str | None = None  # a freshness token (protocol.fingerprint)
    tags: tuple[str, ...] = ()  # what it depends on, or for a write what it changed
    size: int = 0  # bytes on the pipe


def queue_budget(timeout: float) -> float:
    """How long a call may wait for its turn under the rate limit: its whole deadline but
    the time the work itself needs (half of it, 10 s at most)."""
    return max(0.0, timeout - min(10.0, timeout / 2))


class WorkerHandle:
    """Runs calls in one worker, and keeps one running (``run``, ``aclose``)."""

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
        self.label = label or name.upper()
        self.reachability = Reachability(self.label)
        self._process = WorkerProcess(
            name, settings, policy, label=self.label, log_level=log_level, clock=clock
        )
        self._policy = policy
        self._rate_limit = rate_limit
        self._refresh_credentials = refresh_credentials
        self._ids = itertools.count(1)
        self._encoder = msgspec.msgpack.Encoder()

    def __repr__(self) -> str:
        state = self._process.state()
        return f"<WorkerHandle {self.name} {state} pid={self.pid} restarts={self.restarts}>"

    # -- the process, as callers see it ---------------------------------------------

    async def run(self) -> None:
        """Keep a worker running until ``aclose``; never raises for a worker failure."""
        await self._process.run()

    async def aclose(self) -> None:
        """Ask the worker to finish and log out; kill it if it does not exit in time."""
        await self._process.aclose()

    async def recycle(self, reason: str) -> None:
        """Replace the worker by a fresh one (with fresh settings), without counting a failure.

        Calls in flight on the old worker fail as if it had crashed: reads are retried.
        """
        await self._process.recycle(reason)

    async def refresh_metrics(self, timeout: float = 2.0) -> None:
        """Ask the worker for fresh metrics now, instead of at the next heartbeat."""
        await self._process.refresh_metrics(timeout)

    @property
    def ready(self) -> bool:
        return self._process.channel is not None

    @property
    def restarts(self) -> int:
        """Restarts after a crash, a hang or a failed start (not planned replacements)."""
        return self._process.restarts

    @property
    def recycled(self) -> int:
        return self._process.recycled

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def metrics(self) -> dict[str, int | float | str]:
        """The pool and request metrics of the worker's latest Pong."""
        return self._process.metrics

    def status(self) -> WorkerStatus:
        """What server_status and --diagnose show: state, process, restarts, pool metrics."""
        metrics = {**self.metrics, "calls_waiting": len(self._process.pending)}
        if self._rate_limit is not None:
            metrics.update(self._rate_limit.metrics())
        metrics["writes_refused_offline"] = self.reachability.writes_refused
        started = self._process.started_at
        uptime = self._process.clock() - started if started is not None and self.ready else None
        return WorkerStatus(
            name=self.name,
            state=self._process.state(),
            pid=self.pid,
            restarts=self.restarts,
            recycled=self.recycled,
            uptime_s=round(uptime, 1) if uptime is not None else None,
            metrics=metrics,
        )

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

        Raises the MailError the worker reported (or was stopped with), WorkerCrashed
        (for a write, marked as possibly applied), ServerTimeout or Unavailable.
        """
        if contract.writes and not follow_up:
            self.reachability.check_write()
        if self._rate_limit is not None and not follow_up:
            queued = time.monotonic()
            await self._rate_limit.acquire(max_wait=queue_budget(timeout))
            timeout -= time.monotonic() - queued
        deadline = time.monotonic() + timeout
        try:
            answer = await self._call_retrying_reads(contract, args, timeout, on_progress)
        except MailError as exc:
            self.reachability.note(exc)
            if not restart_cannot_fix(exc) or not await self._started_with_new_settings(deadline):
                raise
            # A refused login or a worker that could not start did nothing: even a
            # write may go once more, in the time this call has left.
            left = deadline - time.monotonic()
            answer = await self._call_retrying_reads(contract, args, left, on_progress)
        self.reachability.note(None)
        return answer

    async def _started_with_new_settings(self, deadline: float) -> bool:
        """After a failure a restart cannot fix: run the password command again (it is
        throttled) and, if the worker would now start with other settings, start it
        again with them. True if it was.

        A rerun waiting for a keyring (or for another call's rerun) is given up at the
        call's ``deadline``, which kills the command: False then, and the call answers
        the failure it has.
        """
        outdated = False
        with anyio.move_on_after(deadline - time.monotonic()):
            if self._refresh_credentials is not None:
                await self._refresh_credentials()
            outdated = await self._process.outdated()
        if not outdated:
            return False
        log.info("worker.new_credentials", worker=self.name)
        await self._process.recycle("new password")
        return True

    async def _call_retrying_reads(
        self,
        contract: Contract[Any, R],
        args: msgspec.Struct,
        timeout: float,
        on_progress: ProgressCallback | None,
    ) -> Answer[R]:
        attempts = 2 if contract.retried else 1
        for attempt in range(1, attempts + 1):
            try:
                reply = await self._call_once(contract, args, timeout, on_progress)
            except WorkerCrashed:
                if attempt < attempts:
                    log.info("worker.retry_read", worker=self.name, tool=contract.name)
                    continue
                if not contract.writes:
                    raise
                raise WorkerCrashed(
                    f"The {self.label} worker stopped while making the change; it may or may not "
                    "have happened. Check before trying again.",
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
        contract: Contract[Any, Any],
        args: msgspec.Struct,
        timeout: float,
        on_progress: ProgressCallback | None,
    ) -> Result:
        deadline = time.time() + timeout
        call_id = next(self._ids)
        pending = PendingCall(on_progress)
        sent = False
        try:
            with anyio.fail_after(timeout + self._policy.reply_grace):
                channel = await self._process.ready_channel()
                self._process.pending[call_id] = pending
                payload = msgspec.Raw(self._encoder.encode(args))
                try:
                    await channel.send(Request(call_id, contract.name, payload, deadline))
                    sent = True
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    # The process is gone but the reader has not noticed yet: make
                    # sure a retry waits for the replacement instead of this pipe.
                    self._process.withdraw(channel)
                    raise WorkerCrashed(f"The {self.label} worker stopped; try again.") from None
                await pending.done.wait()
        except TimeoutError:
            if sent:
                await self._cancel_remote(call_id)
            # Names no request: the model knows tools, not the steps inside them.
            if contract.writes:
                raise ServerTimeout(
                    f"The {self.label} server did not confirm the change within {timeout:.0f} s; "
                    "it may or may not have happened. Check before trying again.",
                    may_have_happened=True,
                ) from None
            raise ServerTimeout(
                f"The {self.label} server did not answer within {timeout:.0f} s; it may be slow "
                "or unreachable. Try again, or ask for less at once."
            ) from None
        except BaseException:
            if sent:
                await self._cancel_remote(call_id)
            raise
        finally:
            self._process.pending.pop(call_id, None)
        reply = pending.reply
        if reply is None:
            raise WorkerCrashed(f"The {self.label} worker stopped while working on it; try again.")
        if isinstance(reply, Failure):
            raise error_from_kind(
                reply.kind, reply.message, may_have_happened=reply.may_have_happened
            )
        return reply

    async def _cancel_remote(self, call_id: int) -> None:
        channel = self._process.channel
        if channel is None:
            return
        with (
            anyio.CancelScope(shield=True),
            anyio.move_on_after(1),
            contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError),
        ):
            await channel.send(Cancel(call_id))
