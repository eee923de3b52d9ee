"""The answer of every cache-validation request (``folder_fingerprint`` and the like)."""

from __future__ import annotations

import msgspec


class Fingerprint(msgspec.Struct, frozen=True):
    """A token that is equal to an earlier one exactly when nothing it covers changed."""

    fingerprint: str
