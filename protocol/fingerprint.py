"""Cache validation, the same for every worker.

A worker that answers a cacheable read sets a freshness *token* on its Result:
an opaque string saying what the answer depended on (which folders, which
calendar) and how that looked at the time. Before serving a hit, the supervisor
sends the token back in a ``check_fresh`` request; the worker re-reads that
state in one cheap round trip and says whether it is unchanged.
"""

from __future__ import annotations

import msgspec

from protocol.contract import Contract, TagKind


class FreshnessArgs(msgspec.Struct, frozen=True):
    token: str


class Freshness(msgspec.Struct, frozen=True):
    fresh: bool


def freshness_check(worker: str) -> Contract[FreshnessArgs, Freshness]:
    """The ``check_fresh`` request of ``worker``: is a cached answer's token still true?"""
    return Contract("check_fresh", worker, FreshnessArgs, Freshness)


# Cache tags: what an answer depends on. Writes invalidate by them.
IMAP_FOLDERS = TagKind("imap:folders")  # the folder list, and anything across all folders
IMAP_FOLDER = TagKind("imap:folder")  # one folder, by its server name
