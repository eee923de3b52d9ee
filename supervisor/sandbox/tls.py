"""A throwaway certificate authority and a loopback server certificate (trustme)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class TestCertificates:
    __test__ = False  # a fixture value, not a test class

    ca_file: Path
    cert_file: Path
    key_file: Path


def make_certificates(folder: Path) -> TestCertificates:
    """A CA and a certificate for localhost and 127.0.0.1, written under ``folder``."""
    ca = trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1", "::1")
    folder.mkdir(parents=True, exist_ok=True)
    paths = TestCertificates(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    ca.cert_pem.write_to_path(str(paths.ca_file))
    server.cert_chain_pems[0].write_to_path(str(paths.cert_file))
    for extra in server.cert_chain_pems[1:]:
        extra.write_to_path(str(paths.cert_file), append=True)
    server.private_key_pem.write_to_path(str(paths.key_file))
    return paths
