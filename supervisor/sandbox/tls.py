"""The sandbox's throwaway certificate authority and loopback server certificate."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Certificates:
    """Where the CA's certificate and the servers' certificate and key were written."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def client_context(self) -> ssl.SSLContext:
        """A client's TLS context that trusts this CA alone: certificates and host names
        verified, TLS 1.2 or newer, as the workers require of a real server."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca_file))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context


def make_certificates(folder: Path) -> Certificates:
    """A CA and a certificate for localhost and 127.0.0.1, written under ``folder``."""
    import trustme  # the [sandbox] extra: run.py says so when it is missing

    ca = trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1", "::1")
    folder.mkdir(parents=True, exist_ok=True)
    paths = Certificates(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    ca.cert_pem.write_to_path(str(paths.ca_file))
    server.cert_chain_pems[0].write_to_path(str(paths.cert_file))
    for extra in server.cert_chain_pems[1:]:
        extra.write_to_path(str(paths.cert_file), append=True)
    server.private_key_pem.write_to_path(str(paths.key_file))
    return paths
