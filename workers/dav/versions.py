"""Freshness tokens of DAV collections (calendars, task lists, address books): the
version (ctag or sync-token) of each, by path. A cached answer stands while every
collection it read still has the version it had."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

import msgspec


class Versioned(Protocol):
    @property
    def path(self) -> str: ...

    @property
    def version(self) -> str: ...


def versions_token(collections: Iterable[Versioned]) -> str:
    """The token of an answer that read ``collections``."""
    versions = {c.path: c.version for c in collections}
    return base64.urlsafe_b64encode(msgspec.msgpack.encode(versions)).decode()


async def still_current(token: str, listing: Callable[[], Awaitable[Iterable[Versioned]]]) -> bool:
    """Whether every collection ``token`` names has the version it had, as ``listing``
    (called only for a token we gave out) finds them now."""
    try:
        wanted = msgspec.msgpack.decode(base64.urlsafe_b64decode(token), type=dict[str, str])
    except (ValueError, msgspec.DecodeError):
        return False
    now = {c.path: c.version for c in await listing()}
    # A collection without a ctag or sync-token can never be proved unchanged.
    return all(v and now.get(path) == v for path, v in wanted.items())
