"""The test suite's servers are the sandbox's (supervisor/sandbox/)."""

from supervisor.sandbox.smtp import Delivery, SmtpBehaviour, SmtpServer

__all__ = ["Delivery", "SmtpBehaviour", "SmtpServer"]
