"""The session cache: in memory, bounded by entries and bytes, LRU, tagged.

An entry carries the validator token the worker computed together with the
answer (e.g. a digest of the folders' UIDNEXT/MESSAGES/HIGHESTMODSEQ); the
caller proves the token is still current before serving a hit. Writes drop
every entry carrying one of the tags they touch.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from protocol.contract import TagKind


@dataclass(frozen=True)
class CacheEntry:
    value: Any
    size: int
    stored_at: float
    expires_at: float
    tags: frozenset[str]
    validator: str | None

    def age(self, now: float) -> float:
        return now - self.stored_at


class SessionCache:
    """LRU cache with per-entry TTL, size accounting and tag invalidation."""

    def __init__(
        self,
        max_entries: int,
        max_bytes: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: OrderedDict[Hashable, CacheEntry] = OrderedDict()
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._clock = clock
        self._bytes = 0
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def __repr__(self) -> str:
        return f"<SessionCache entries={len(self._entries)} bytes={self._bytes}>"

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, key: Hashable) -> CacheEntry | None:
        """The live entry for ``key``, or None if absent or expired."""
        entry = self._entries.get(key)
        if entry is None or entry.expires_at <= self._clock():
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry

    def get_stale(self, key: Hashable) -> CacheEntry | None:
        """The entry for ``key`` even if expired (for serving when offline)."""
        return self._entries.get(key)

    def put(
        self,
        key: Hashable,
        value: Any,
        *,
        size: int,
        ttl: float,
        tags: Iterable[str] = (),
        validator: str | None = None,
    ) -> None:
        """Store ``value``; entries larger than the whole budget are not kept."""
        self._drop(key)
        if ttl <= 0 or size > self._max_bytes or self._max_entries == 0:
            return
        now = self._clock()
        self._entries[key] = CacheEntry(value, size, now, now + ttl, frozenset(tags), validator)
        self._bytes += size
        while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
            oldest = next(iter(self._entries))
            self._drop(oldest)
            self.evictions += 1

    def invalidate(self, *tags: str) -> int:
        """Drop every entry carrying any of ``tags``; returns how many."""
        wanted = set(tags)
        doomed = [key for key, entry in self._entries.items() if entry.tags & wanted]
        for key in doomed:
            self._drop(key)
        return len(doomed)

    def invalidate_kinds(self, *kinds: TagKind) -> int:
        """Drop every entry with a tag of any of ``kinds`` (a write of unknown reach)."""
        doomed = [
            key
            for key, entry in self._entries.items()
            if any(kind.covers(tag) for kind in kinds for tag in entry.tags)
        ]
        for key in doomed:
            self._drop(key)
        return len(doomed)

    def discard(self, key: Hashable) -> None:
        self._drop(key)

    def _drop(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size
