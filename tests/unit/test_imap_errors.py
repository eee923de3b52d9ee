"""Library errors become one plain sentence each."""

from __future__ import annotations

import socket
import ssl

import imapclient.exceptions as imap_exc
import pytest

from protocol.errors import AuthFailed, ProtocolViolation, Refused, ServerTimeout, Unavailable
from workers.imap.errors import imap_errors, is_connection_broken, translate


def t(exc: BaseException) -> object:
    return translate(exc, "imap.example.test", 993, "anna@example.test")


def test_a_refused_login_tells_the_user_to_check_the_app_password() -> None:
    error = t(imap_exc.LoginError("[AUTHENTICATIONFAILED] Authentication failed."))
    assert isinstance(error, AuthFailed)
    assert "anna@example.test" in error.message and "app password" in error.message


@pytest.mark.parametrize(
    ("exc", "kind", "words"),
    [
        (TimeoutError("timed out"), ServerTimeout, "did not answer in time"),
        (ConnectionRefusedError(111, "refused"), Unavailable, "refused the connection"),
        (socket.gaierror(-2, "Name or service not known"), Unavailable, "could not be resolved"),
        (imap_exc.IMAPClientAbortError("socket error: EOF"), Unavailable, "was lost"),
        (imap_exc.ProtocolError("junk"), ProtocolViolation, "could not read"),
        (
            imap_exc.IMAPClientError("create failed: [ALREADYEXISTS] Mailbox exists."),
            Refused,
            "Mailbox exists",
        ),
    ],
)
def test_library_errors_are_translated(exc: BaseException, kind: type, words: str) -> None:
    error = t(exc)
    assert isinstance(error, kind)
    assert words in str(error)


def test_a_certificate_error_points_at_the_ca_setting() -> None:
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed")
    exc.verify_message = "self-signed certificate"
    error = t(exc)
    assert isinstance(error, Unavailable) and "MAILBOX_CA_FILE" in error.message


def test_the_boundary_reraises_translated_errors() -> None:
    with pytest.raises(Unavailable), imap_errors("h", 993, "u"):
        raise imap_exc.IMAPClientAbortError("gone")


def test_a_timeout_breaks_the_connection_but_a_refusal_does_not() -> None:
    assert is_connection_broken(TimeoutError())
    assert is_connection_broken(ServerTimeout("slow"))
    assert not is_connection_broken(Refused("no"))
    assert not is_connection_broken(imap_exc.IMAPClientError("NO"))


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (
            "UID command error: BAD [b'Error in IMAP command UID SORT: Invalid search date "
            "parameter (0.001 + 0.000 secs).']",
            "Invalid search date parameter",
        ),
        ("create failed: [ALREADYEXISTS] Mailbox exists.", "Mailbox exists"),
        (
            "select failed: [NONEXISTENT] Mailbox doesn't exist: Nope (0.001 + 0.000 secs).",
            "Mailbox doesn't exist: Nope",
        ),
        (
            "APPEND command error: NO [b'[OVERQUOTA] Quota exceeded \\xc3\\xbc\\x00']",
            "Quota exceeded ü",
        ),
    ],
)
def test_a_server_refusal_is_read_without_library_quoting_command_echo_or_timing(
    raw: str, said: str
) -> None:
    error = t(imap_exc.IMAPClientError(raw))
    assert isinstance(error, Refused)
    assert error.message == f"The IMAP server refused the request: {said}."
