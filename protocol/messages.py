"""The messages that cross the pipe between the supervisor and a worker.

Two tagged unions of frozen Structs, one per direction. Tool arguments and
results travel as ``msgspec.Raw`` msgpack so the runtime can route a request
without knowing its tool; the handler decodes them with the tool's own Struct.
New fields must get defaults so old and new processes stay compatible.
"""

from __future__ import annotations

import msgspec

from protocol.contract import EVERY_WORKER, Contract


class Configure(msgspec.Struct, tag="configure", frozen=True):
    """First message to a worker: its settings, credentials included.

    Credentials travel here rather than in argv or the environment, where
    ``ps`` and ``/proc/<pid>/environ`` would show them.
    """

    settings: msgspec.Raw


class Request(msgspec.Struct, tag="request", frozen=True):
    """Run ``tool`` with ``args``; give up at ``deadline`` (Unix time, seconds)."""

    id: int
    tool: str
    args: msgspec.Raw
    deadline: float


class Cancel(msgspec.Struct, tag="cancel", frozen=True):
    """The supervisor no longer waits for request ``id``."""

    id: int


class Ping(msgspec.Struct, tag="ping", frozen=True):
    """Still alive? Answered by the Pong with the same ``id``: the supervisor matches
    them by id, so a late Pong never counts as the answer to a newer Ping."""

    id: int


class Shutdown(msgspec.Struct, tag="shutdown", frozen=True):
    """Finish in-flight requests, log out, exit."""


class Ready(msgspec.Struct, tag="ready", frozen=True):
    """The worker is configured and accepts requests."""

    pid: int


class Result(msgspec.Struct, tag="result", frozen=True):
    """A tool's answer.

    ``validator`` is a freshness token (protocol.fingerprint) for caching it;
    ``tags`` name what it depends on, so writes can drop it from the cache.
    """

    id: int
    value: msgspec.Raw
    validator: str | None = None
    tags: list[str] = []


class Failure(msgspec.Struct, tag="error", frozen=True):
    """A request failed; ``kind`` is a protocol.errors.ErrorKind."""

    id: int
    kind: str
    message: str
    retryable: bool = False
    may_have_happened: bool = False


class Progress(msgspec.Struct, tag="progress", frozen=True):
    id: int
    progress: float
    total: float | None = None
    message: str | None = None


class Pong(msgspec.Struct, tag="pong", frozen=True):
    """Answer to the Ping with the same ``id``, with the worker's pool and request metrics."""

    id: int
    metrics: dict[str, int | float | str] = {}


class NoArgs(msgspec.Struct, frozen=True):
    """Arguments of a request that takes none (``NOOP``)."""


NOOP = Contract("noop", EVERY_WORKER, NoArgs, type(None))
"""A request every worker answers at once with nil: the cost of the pipe itself."""


ToWorker = Configure | Request | Cancel | Ping | Shutdown
FromWorker = Ready | Result | Failure | Progress | Pong
