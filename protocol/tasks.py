"""The tasks family: to-dos (VTODO) in the CalDAV task lists.

The DAV worker (``workers/dav``) serves these contracts beside the calendar's.
"""

from __future__ import annotations

from typing import Any

from protocol.contract import Contract

TASK_CONTRACTS: tuple[Contract[Any, Any], ...] = ()
