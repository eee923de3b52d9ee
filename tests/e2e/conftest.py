"""Fixtures of these tests beside tests/conftest.py's."""

from tests.mailbox import mailbox

__all__ = ["mailbox"]
