"""What a failed ManageSieve exchange means, in sentences a person can act on.

The one place in the Sieve worker that turns network, TLS and protocol failures
and a server's ``NO`` into protocol.errors. A server's own words pass only
through ``safe_sentence`` (one printable line, bounded, the password blanked).
"""

from __future__ import annotations

import socket
import ssl

from protocol.errors import (
    AlreadyExists,
    MailError,
    NotFound,
    Refused,
    ServerTimeout,
    Unavailable,
)
from workers.exception_chain import exception_chain
from workers.sieve.protocol_parse import Response, safe_sentence
from workers.tls import certificate_problem

HOST_SETTINGS = "MAILBOX_SIEVE_HOST and MAILBOX_SIEVE_PORT"


def connect_failure(exc: BaseException, where: str) -> MailError:
    """Opening the TCP connection to ``where`` (host:port) failed with ``exc``."""
    causes = exception_chain(exc)
    if any(isinstance(cause, socket.gaierror) for cause in causes):
        reason = "the host name could not be resolved"
    elif any(isinstance(cause, ConnectionRefusedError) for cause in causes):
        reason = "nothing accepted the connection on that port"
    elif any(isinstance(cause, TimeoutError) for cause in causes):
        reason = "it did not answer in time"
    else:
        reason = "the network could not reach it"
    return Unavailable(
        f"Could not connect to the Sieve server {where} ({reason}); check {HOST_SETTINGS}."
    )


def tls_failure(exc: BaseException, where: str) -> MailError:
    """The TLS handshake after STARTTLS failed with ``exc``."""
    problem = certificate_problem(exc, where, "MAILBOX_SIEVE_HOST")
    if problem is not None:
        return Unavailable(problem)
    reason = exc.reason if isinstance(exc, ssl.SSLError) and exc.reason else "it was cut off"
    return Unavailable(f"The TLS handshake with the Sieve server {where} failed ({reason}).")


def lost(where: str, *, may_have_happened: bool) -> MailError:
    return Unavailable(
        f"The connection to the Sieve server {where} was lost; try again."
        + (_CHECK_FIRST if may_have_happened else ""),
        may_have_happened=may_have_happened,
    )


def timed_out(where: str, seconds: float, *, may_have_happened: bool) -> MailError:
    return ServerTimeout(
        f"The Sieve server {where} did not answer within {seconds:g} s; try again."
        + (_CHECK_FIRST if may_have_happened else ""),
        may_have_happened=may_have_happened,
    )


_CHECK_FIRST = " The change may have been made: look at the filters before repeating it."


def said_bye(response: Response, where: str, secrets: tuple[str, ...]) -> MailError:
    """The server ended the session (``BYE``), e.g. shutting down or after an idle time."""
    text = safe_sentence(response.text, secrets)
    return Unavailable(
        f"The Sieve server {where} closed the connection"
        + (f" ({text})" if text else "")
        + "; try again."
    )


def refusal(response: Response, doing: str, secrets: tuple[str, ...]) -> MailError:
    """A ``NO`` to the request to ``doing`` ("save the script 'x'"), by its response code."""
    text = safe_sentence(response.text, secrets)
    sentence = f"The Sieve server refused to {doing}" + (f": {text}." if text else ".")
    code = response.code or ""
    if code == "NONEXISTENT":
        return NotFound(sentence)
    if code == "ALREADYEXISTS":
        return AlreadyExists(sentence)
    if code == "TRYLATER":
        return Unavailable(sentence + " Try again in a few minutes.")
    if code.startswith("QUOTA"):
        return Refused(sentence + " The server's storage limit for filters is reached.")
    return Refused(sentence)


def invalid_script(response: Response, secrets: tuple[str, ...]) -> MailError:
    """A ``NO`` to CHECKSCRIPT or PUTSCRIPT: the server's reason is the point."""
    if response.code == "TRYLATER" or (response.code or "").startswith("QUOTA"):
        return refusal(response, "store the script", secrets)
    text = safe_sentence(response.text, secrets) or "no reason given"
    return Refused(f"The Sieve server found the script invalid: {text}.")
