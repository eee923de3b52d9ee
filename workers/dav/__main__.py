"""``python -m workers.dav``: serve calendar tools on stdin/stdout."""

from __future__ import annotations

from protocol import calendar as api
from protocol.settings import DavSettings
from workers.dav import diagnose, handlers, write_tools
from workers.runtime import pool_worker, run_worker

SPEC = pool_worker(
    api.DAV,
    DavSettings,
    handlers.open_dav_state,
    api.CALENDAR_CONTRACTS,
    handlers,
    write_tools,
    diagnose,
)

if __name__ == "__main__":
    run_worker(SPEC)
