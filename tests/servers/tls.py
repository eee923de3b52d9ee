"""The test suite's servers are the sandbox's (supervisor/sandbox/)."""

from supervisor.sandbox.tls import Certificates, make_certificates

__all__ = ["Certificates", "make_certificates"]
