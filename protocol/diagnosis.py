"""The internal ``diagnose`` request every worker answers for ``--diagnose``."""

from __future__ import annotations

import msgspec


class DiagnoseArgs(msgspec.Struct, frozen=True):
    pass


class Check(msgspec.Struct, frozen=True):
    """One line of the health check: what was tried, whether it worked, how long it took."""

    name: str
    ok: bool
    detail: str
    seconds: float


class DiagnoseResult(msgspec.Struct, frozen=True):
    checks: list[Check]
