"""Cache validation, the same for every worker.

A worker that answers a cacheable read sets a freshness *token* on its Result:
an opaque string saying what the answer depended on (which folders, which
calendar) and how that looked at the time. Before serving a hit, the supervisor
sends the token back in a ``check_fresh`` request; the worker re-reads that
state in one cheap round trip and says whether it is unchanged.
"""

from __future__ import annotations

import msgspec


class FreshnessArgs(msgspec.Struct, frozen=True):
    token: str


class Freshness(msgspec.Struct, frozen=True):
    fresh: bool


# Cache tags: what an answer depends on. Writes invalidate by them.
IMAP_TAG_PREFIX = "imap:"
IMAP_FOLDERS_TAG = "imap:folders"  # the folder list, and anything across all folders


def imap_folder_tag(raw_name: str) -> str:
    """One folder, by its server name."""
    return f"imap:folder:{raw_name}"
