"""A clock the test moves by hand, passed where the code under test takes its clock."""

from __future__ import annotations


class FakeClock:
    """Reads ``now`` (seconds, any origin); the test adds to it instead of sleeping."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
