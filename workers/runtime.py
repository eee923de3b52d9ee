"""The serve loop every worker shares.

A worker reads one Configure message, opens its resources (a connection pool),
answers Ready, then serves requests concurrently up to a limit until the pipe
closes or a Shutdown arrives. Each request runs under its own cancel scope and
deadline; a handler's exception becomes one Failure frame, never a dead worker.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, suppress
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Generic, TypeVar

import anyio
import msgspec
import structlog

from protocol import messages
from protocol.contract import Contract, routes_for
from protocol.errors import InternalError, InvalidArgument, MailError, ServerTimeout
from protocol.framing import MessageChannel
from protocol.logs import configure_logging, register_secret
from workers.pipe import claim_stdio

StateT = TypeVar("StateT")
SettingsT = TypeVar("SettingsT", bound=msgspec.Struct)

log = structlog.get_logger()

CONFIGURE_TIMEOUT = 30.0
SHUTDOWN_GRACE = 5.0


@dataclass
class CallContext:
    """What a handler may use besides its arguments: progress and the deadline."""

    request_id: int
    deadline: float
    _send: Callable[[messages.FromWorker], Awaitable[None]]
    validator: str | None = None
    """Set by a handler whose answer the supervisor may cache (protocol.fingerprint)."""
    tags: list[str] = field(default_factory=list)
    """What the answer depends on, e.g. ``imap:folder:INBOX``; writes invalidate by tag."""

    def remaining(self) -> float:
        """Seconds left before the supervisor stops waiting."""
        return max(0.0, self.deadline - time.time())

    async def progress(self, done: float, total: float | None = None, message: str = "") -> None:
        await self._send(messages.Progress(self.request_id, done, total, message or None))


Handler = Callable[[Any, StateT, CallContext], Awaitable[Any]]
Routes = Mapping[str, tuple[Contract[Any, Any], Handler[StateT]]]
F = TypeVar("F", bound=Callable[..., Any])


def serves(contract: Contract[Any, Any]) -> Callable[[F], F]:
    """Marks a handler as the one that answers ``contract`` (see ``pool_worker``)."""

    def mark(handler: F) -> F:
        handler.serves = contract  # type: ignore[attr-defined]
        return handler

    return mark


def handlers_in(*modules: ModuleType) -> dict[Contract[Any, Any], Any]:
    """Every handler marked with ``serves`` in ``modules``; one contract, one handler."""
    found: dict[Contract[Any, Any], Any] = {}
    for module in modules:
        for value in vars(module).values():
            contract = getattr(value, "serves", None)
            if not isinstance(contract, Contract):
                continue
            if found.get(contract, value) is not value:
                raise TypeError(f"two handlers serve {contract.worker}'s {contract.name}")
            found[contract] = value
    return found


@dataclass(frozen=True)
class WorkerSpec(Generic[SettingsT, StateT]):
    """Everything that makes one worker different from another."""

    name: str
    settings_type: type[SettingsT]
    open_state: Callable[[SettingsT], AbstractAsyncContextManager[StateT]]
    # From protocol.contract.routes_for: every contract of this worker, with its handler.
    routes: Routes[StateT]
    metrics: Callable[[StateT], Mapping[str, int | float | str]]
    max_concurrency: Callable[[SettingsT], int] = lambda _settings: 8


def pool_worker(
    name: str,
    settings_type: type[SettingsT],
    open_state: Callable[[SettingsT], AbstractAsyncContextManager[StateT]],
    contracts: Iterable[Contract[Any, Any]],
    *modules: ModuleType,
) -> WorkerSpec[SettingsT, StateT]:
    """A worker whose state has a connection ``pool`` and whose settings size it: it
    serves every contract of ``name`` in ``contracts`` with the handlers marked in
    ``modules``, and refuses to start when one is missing (``routes_for``)."""
    return WorkerSpec(
        name=name,
        settings_type=settings_type,
        open_state=open_state,
        routes=routes_for(name, contracts, handlers_in(*modules)),
        metrics=lambda state: getattr(state, "pool").metrics(),  # noqa: B009
        max_concurrency=lambda settings: getattr(settings, "pool").max_concurrency,  # noqa: B009
    )


@dataclass
class _Counters:
    served: int = 0
    failed: int = 0
    in_flight: dict[int, anyio.CancelScope] = field(default_factory=dict)


def resident_bytes() -> int:
    """This process's resident memory now (Linux), else its peak (other systems)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import resource  # not on Windows
    except ImportError:
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


class WorkerRuntime(Generic[SettingsT, StateT]):
    """Serves one supervisor over one message channel."""

    def __init__(
        self,
        spec: WorkerSpec[SettingsT, StateT],
        channel: MessageChannel[messages.ToWorker, messages.FromWorker],
    ) -> None:
        self._spec = spec
        self._channel = channel
        self._counters = _Counters()
        self._encoder = msgspec.msgpack.Encoder()

    async def serve(self) -> None:
        """Run until the pipe closes or Shutdown arrives."""
        with anyio.fail_after(CONFIGURE_TIMEOUT):
            first = await self._channel.receive()
        if not isinstance(first, messages.Configure):
            log.error("runtime.no_configure", got=type(first).__name__)
            return
        settings = msgspec.msgpack.decode(first.settings, type=self._spec.settings_type)
        register_secret(getattr(settings, "password", None))
        async with AsyncExitStack() as resources:
            try:
                state = await resources.enter_async_context(self._spec.open_state(settings))
            except MailError as exc:
                # Said at once, in the worker's words (a refused login, a wrong setting):
                # the supervisor decides whether a restart could help.
                log.warning("runtime.boot_failed", kind=exc.kind, error=exc.message)
                await self._channel.send(_failure(0, exc))
                return
            await self._channel.send(messages.Ready(pid=os.getpid()))
            log.info("runtime.ready")
            limiter = anyio.CapacityLimiter(self._spec.max_concurrency(settings))
            async with anyio.create_task_group() as tg:
                await self._dispatch_until_closed(tg, state, limiter)
                # Let in-flight requests finish, but not forever.
                tg.cancel_scope.deadline = anyio.current_time() + SHUTDOWN_GRACE
        log.info("runtime.stopped", served=self._counters.served)

    async def _dispatch_until_closed(
        self, tg: anyio.abc.TaskGroup, state: StateT, limiter: anyio.CapacityLimiter
    ) -> None:
        async for message in self._messages():
            match message:
                case messages.Request():
                    tg.start_soon(self._run_request, message, state, limiter)
                case messages.Cancel(id=request_id):
                    scope = self._counters.in_flight.get(request_id)
                    if scope is not None:
                        scope.cancel()
                case messages.Ping(id=ping_id):
                    await self._channel.send(messages.Pong(ping_id, self._metrics(state)))
                case messages.Shutdown():
                    log.info("runtime.shutdown_requested")
                    return
                case messages.Configure():
                    log.warning("runtime.configure_ignored")

    async def _messages(self) -> AsyncIterator[messages.ToWorker]:
        while True:
            message = await self._channel.receive()
            if message is None:
                log.info("runtime.pipe_closed")
                return
            yield message

    def _metrics(self, state: StateT) -> dict[str, int | float | str]:
        metrics: dict[str, int | float | str] = {
            "requests_served": self._counters.served,
            "requests_failed": self._counters.failed,
            "requests_in_flight": len(self._counters.in_flight),
            "rss_bytes": resident_bytes(),
        }
        metrics.update(self._spec.metrics(state))
        return metrics

    async def _run_request(
        self, request: messages.Request, state: StateT, limiter: anyio.CapacityLimiter
    ) -> None:
        with (
            anyio.CancelScope() as scope,
            structlog.contextvars.bound_contextvars(call_id=request.id, tool=request.tool),
        ):
            self._counters.in_flight[request.id] = scope
            try:
                reply = await self._answer(request, state, limiter)
            finally:
                del self._counters.in_flight[request.id]
            if isinstance(reply, messages.Failure):
                self._counters.failed += 1
            self._counters.served += 1
            await self._channel.send(reply)

    async def _answer(
        self, request: messages.Request, state: StateT, limiter: anyio.CapacityLimiter
    ) -> messages.Result | messages.Failure:
        if request.tool == messages.NOOP.name:
            return messages.Result(request.id, msgspec.Raw(_NIL))
        route = self._spec.routes.get(request.tool)
        if route is None:
            return _failure(request.id, InternalError(f"This worker has no tool {request.tool!r}."))
        contract, handler = route
        context = CallContext(request.id, request.deadline, self._channel.send)
        started = time.perf_counter()
        try:
            with anyio.fail_after(context.remaining()):
                args = msgspec.msgpack.decode(request.args, type=contract.args)
                async with limiter:
                    value = await handler(args, state, context)
        except MailError as exc:
            log.info("request.failed", kind=exc.kind, error=exc.message)
            return _failure(request.id, exc)
        except TimeoutError:
            if contract.writes:  # the server may have done it after all: never "try again"
                late = ServerTimeout(
                    "The server did not confirm the change in time; it may or may not have "
                    "happened. Check before trying again.",
                    may_have_happened=True,
                )
                return _failure(request.id, late)
            return _failure(
                request.id,
                ServerTimeout("The server did not answer in time; try again in a moment."),
            )
        except msgspec.ValidationError as exc:
            return _failure(request.id, InvalidArgument(f"Invalid arguments: {exc}."))
        except Exception:
            log.exception("request.crashed")
            return _failure(
                request.id,
                InternalError(
                    f"{request.tool} failed unexpectedly inside the {self._spec.name} worker; "
                    "the details are in the server log."
                ),
            )
        log.debug("request.done", seconds=round(time.perf_counter() - started, 4))
        undeclared = [
            t for t in context.tags if not any(k.covers(t) for k in contract.tags_allowed())
        ]
        if undeclared:
            # Kept (dropping would leave stale answers cached), but the contract is wrong.
            log.error("request.undeclared_tags", tags=undeclared)
        return messages.Result(
            request.id, msgspec.Raw(self._encoder.encode(value)), context.validator, context.tags
        )


_NIL = msgspec.msgpack.encode(None)


def _failure(request_id: int, error: MailError) -> messages.Failure:
    return messages.Failure(
        request_id,
        error.kind,
        error.message,
        retryable=error.retryable,
        may_have_happened=error.may_have_happened,
    )


def run_worker(spec: WorkerSpec[SettingsT, StateT]) -> None:
    """Entry point of ``python -m workers.<name>``: serve on stdin/stdout."""
    configure_logging(
        f"worker.{spec.name}",
        os.environ.get("MAILBOX_LOG_LEVEL", "info"),
        os.environ.get("MAILBOX_LOG_FORMAT", "console"),
    )
    receive, send = claim_stdio()
    # What the worker imported lives as long as it does: frozen, the cyclic collector
    # never traverses it again while the worker serves, nor once more at its exit.
    gc.freeze()

    async def main() -> None:
        channel: MessageChannel[messages.ToWorker, messages.FromWorker] = MessageChannel(
            receive,
            send,
            messages.ToWorker,  # type: ignore[arg-type]
        )
        await WorkerRuntime(spec, channel).serve()

    with suppress(KeyboardInterrupt):
        anyio.run(main)
