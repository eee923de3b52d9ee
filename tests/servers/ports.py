"""The test suite's servers are the sandbox's (supervisor/sandbox/)."""

from supervisor.sandbox.ports import free_port, terminate, wait_for_port

__all__ = ["free_port", "terminate", "wait_for_port"]
