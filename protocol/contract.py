"""One definition of every request that crosses a worker pipe, tool or internal step.

A ``Contract`` names the request, the worker that serves it, the Structs its
arguments and answer decode into, whether it changes anything, and which cache
tags its answers carry or its writes make stale. Each family module exports one
table of them; the supervisor's tool registry and each worker's routes are both
built from those tables, so a request name is written exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

A = TypeVar("A", bound=msgspec.Struct)
R = TypeVar("R")
H = TypeVar("H")

# Who serves a contract that no worker serves: composite tools that span workers
# (send_email) and tools about the server itself (server_status).
SUPERVISOR = "supervisor"
# Who serves a contract that every worker answers itself (the pipe's own NOOP).
EVERY_WORKER = "*"


@dataclass(frozen=True)
class TagKind:
    """A kind of cache tag: what an answer depends on (``imap:folder``), optionally
    narrowed to one thing (``imap:folder:INBOX``). Writes drop answers by tag."""

    name: str

    def of(self, key: str) -> str:
        """The tag for one thing of this kind."""
        return f"{self.name}:{key}"

    @property
    def tag(self) -> str:
        """The tag for this kind as a whole (the folder list, the calendar list)."""
        return self.name

    def covers(self, tag: str) -> bool:
        return tag == self.name or tag.startswith(f"{self.name}:")


@dataclass(frozen=True)
class Contract(Generic[A, R]):
    """A request: its name, who serves it, what it takes and gives, what it changes."""

    name: str
    worker: str
    args: type[A]
    result: type[R]
    writes: bool = False
    # A read that writes for some arguments (get_email with mark_read).
    writes_when: Callable[[A], bool] | None = None
    # The tag kinds its answers may carry (a cacheable read) ...
    reads: tuple[TagKind, ...] = ()
    # ... and those its writes may make stale.
    changes: tuple[TagKind, ...] = ()
    # The request that revalidates a cached answer of this one (protocol.fingerprint).
    revalidated_by: Contract[Any, Any] | None = None
    # Whether a call may be sent again after the worker died under it. Reads may;
    # writes never; a few reads with side effects elsewhere (a diagnosis logs in) not.
    retry: bool | None = None

    def writes_for(self, args: A) -> bool:
        """Whether this call changes anything on the server."""
        return self.writes or (self.writes_when is not None and self.writes_when(args))

    @property
    def retried(self) -> bool:
        return (not self.writes) if self.retry is None else self.retry

    @property
    def cacheable(self) -> bool:
        return self.revalidated_by is not None

    def tags_allowed(self) -> tuple[TagKind, ...]:
        return self.reads + self.changes


@dataclass(frozen=True)
class Reads:
    """The cached reads of one family that all run in ``worker``, whose answers carry
    tags of ``reads`` and are revalidated by ``revalidated_by``:
    ``Reads(...)(name, args, result)`` is the contract of one of them."""

    worker: str
    reads: tuple[TagKind, ...]
    revalidated_by: Contract[Any, Any]

    def __call__(self, name: str, args: type[A], result: type[R]) -> Contract[A, R]:
        return Contract(
            name, self.worker, args, result, reads=self.reads, revalidated_by=self.revalidated_by
        )


@dataclass(frozen=True)
class Writes:
    """The writes of one family that all run in ``worker`` and may make ``changes``
    stale: ``Writes(...)(name, args, result)`` is the contract of one of them."""

    worker: str
    changes: tuple[TagKind, ...]

    def __call__(self, name: str, args: type[A], result: type[R]) -> Contract[A, R]:
        return Contract(name, self.worker, args, result, writes=True, changes=self.changes)


def routes_for(
    worker: str,
    contracts: Iterable[Contract[Any, Any]],
    handlers: Mapping[Contract[Any, Any], H],
) -> dict[str, tuple[Contract[Any, Any], H]]:
    """A worker's routes, checked: every contract of ``worker`` has exactly one handler
    and every handler a contract of ``worker``. Raises at import when one is missing."""
    mine = [c for c in contracts if c.worker == worker]
    names = [c.name for c in mine]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise TypeError(f"{worker}: contracts named twice: {', '.join(twice)}")
    unserved = [c.name for c in mine if c not in handlers]
    foreign = [c.name for c in handlers if c not in mine]
    if unserved or foreign:
        raise TypeError(
            f"{worker}: contracts without a handler: {unserved or 'none'}; "
            f"handlers without a contract of this worker: {foreign or 'none'}"
        )
    return {c.name: (c, handlers[c]) for c in mine}
