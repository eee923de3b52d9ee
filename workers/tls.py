"""The one way every worker builds a TLS context."""

from __future__ import annotations

import ssl


def client_tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Verify certificates and host names, TLS 1.2 or newer.

    ``ca_file`` adds to the system store rather than replacing it, so a private
    CA can be trusted without distrusting the public ones.
    """
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context
