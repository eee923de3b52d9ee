"""``python -m workers.sieve``: serve the filter tools on stdin/stdout."""

from __future__ import annotations

from protocol import filters as api
from workers.runtime import pool_worker, run_worker
from workers.sieve import diagnose, handlers

SPEC = pool_worker(
    api.SIEVE,
    api.SieveSettings,
    handlers.open_sieve_state,
    api.FILTER_CONTRACTS,
    handlers,
    diagnose,
)

if __name__ == "__main__":
    run_worker(SPEC)
