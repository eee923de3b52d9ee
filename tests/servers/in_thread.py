"""Small stand-in servers (``socketserver`` based) served from a thread of the test process."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from typing import TypeVar

S = TypeVar("S", bound=socketserver.BaseServer)


def served_in_a_thread(server: S, poll_interval: float = 0.05) -> Iterator[S]:
    """A fixture's body (``yield from``): serve ``server`` through the test, then stop it
    and close its socket."""
    thread = threading.Thread(target=server.serve_forever, args=(poll_interval,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
