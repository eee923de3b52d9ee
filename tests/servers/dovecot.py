"""The test suite's servers are the sandbox's (supervisor/sandbox/)."""

from supervisor.sandbox.dovecot import Account, DovecotServer, dovecot_available

__all__ = ["Account", "DovecotServer", "dovecot_available"]
