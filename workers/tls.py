"""The one way every worker builds a TLS context."""

from __future__ import annotations

import re
import ssl

from workers.exception_chain import exception_chain

_VERIFY_REASON = re.compile(r"certificate verify failed:?([^()]*)")


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


def certificate_problem(exc: BaseException, where: str, host_setting: str) -> str | None:
    """A sentence for a failed certificate check anywhere in ``exc``'s chain, else None.

    The advice depends on what failed.
    """
    reason = verification_failure(exc)
    if reason is None:
        return None
    if "mismatch" in reason.lower():
        advice = f"it was issued for another name; check {host_setting}"
    else:
        advice = "if the server uses a private CA, point MAILBOX_CA_FILE at it"
    return f"The TLS certificate of {where} could not be verified ({reason}); {advice}."


def verification_failure(exc: BaseException) -> str | None:
    """Why the certificate check failed, if it did anywhere in ``exc``'s chain; else None.

    Libraries wrap the ssl error (niquests, aiosmtplib), sometimes only as text.
    """
    chain = exception_chain(exc)
    for current in chain:
        if isinstance(current, ssl.SSLCertVerificationError):
            return (
                str(current.verify_message or current.reason or "") or "certificate verify failed"
            )
    for current in chain:
        if "CERTIFICATE_VERIFY_FAILED" in str(current):
            found = _VERIFY_REASON.search(str(current))
            return (found.group(1).strip(" :") if found else "") or "certificate verify failed"
    return None
