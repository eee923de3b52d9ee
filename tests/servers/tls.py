"""The test suite's servers are the sandbox's (supervisor/sandbox/)."""

from supervisor.sandbox.tls import TestCertificates, make_certificates

__all__ = ["TestCertificates", "make_certificates"]
