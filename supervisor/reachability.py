"""Whether a protocol's server answered lately, so writes fail fast while it does not.

A change sent to a server that is not answering waits out the whole call
deadline and then cannot say whether it happened. Once a call has found the
server unreachable, writes are refused at once (for a short while, or until
any call gets through again); reads still go, and they find out when it is back.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from protocol.errors import MailError, ServerTimeout, Unavailable

OFFLINE_WINDOW = 20.0  # seconds a failure counts before writes are tried again anyway


class Reachability:
    def __init__(
        self,
        label: str,
        window: float = OFFLINE_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._label = label
        self._window = window
        self._clock = clock
        self._failure: tuple[float, str] | None = None
        self.writes_refused = 0

    def __repr__(self) -> str:
        return f"<Reachability {self._label} offline={self._failure is not None}>"

    def note(self, error: MailError | None) -> None:
        """Record a call's outcome: None for success, else the error it raised."""
        if error is None:
            self._failure = None
        elif isinstance(error, Unavailable | ServerTimeout) and not error.may_have_happened:
            # "May have been sent" means the server was reached: not a reason to hold writes.
            self._failure = (self._clock(), error.message)

    def check_write(self) -> None:
        """Raises Unavailable when the server was found unreachable a moment ago."""
        if self._failure is None:
            return
        since, message = self._failure
        age = self._clock() - since
        if age > self._window:
            self._failure = None
            return
        self.writes_refused += 1
        raise Unavailable(
            f"Nothing was changed: the {self._label} server could not be reached {age:.0f} s ago "
            f"({message.rstrip('.')}). Try again when it answers; reading works again first."
        )
