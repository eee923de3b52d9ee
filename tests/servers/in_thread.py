"""Small stand-in servers (``socketserver`` based) served from a thread of the test process."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

S = TypeVar("S", bound=socketserver.BaseServer)


@contextmanager
def served_in_a_thread(server: S, poll_interval: float = 0.05) -> Iterator[S]:
    """Serve ``server`` until the block ends; then stop it and close its socket."""
    thread = threading.Thread(target=server.serve_forever, args=(poll_interval,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
