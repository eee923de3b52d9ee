"""Translate imapclient, imaplib, socket and ssl errors into protocol.errors.

This is the only place in the IMAP worker that knows library exception types.
"""

from __future__ import annotations

import ast
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

import imapclient.exceptions as imap_exc

from protocol import errors
from workers.tls import certificate_problem

_RESP_CODE = re.compile(r"^\s*\[[A-Z-]+\]\s*")
# imaplib's own form: "UID command error: BAD [b'Error in IMAP command UID SORT: ...']".
_IMAPLIB_ERROR = re.compile(r"^[A-Za-z ]+ command error: [A-Z]+ \[(.*)\]\s*$", re.DOTALL)
# Dovecot names the command it refuses, and appends how long it took.
_COMMAND_ECHO = re.compile(r"^Error in IMAP command [^:]*:\s*")
_TIMING = re.compile(r"\s*\(\d+(?:\.\d+)?(?: \+ \d+(?:\.\d+)?)* secs\)\.?\s*$")


def is_connection_broken(exc: BaseException) -> bool:
    """True when the connection can no longer be trusted and must be discarded.

    A timeout desynchronises the protocol (the answer may still arrive), so it
    counts as broken too. An IMAP NO/BAD does not.
    """
    if isinstance(exc, imap_exc.IMAPClientAbortError | imap_exc.ProtocolError):
        return True
    if isinstance(exc, OSError | EOFError):
        return True
    return bool(
        isinstance(exc, errors.Unavailable | errors.ServerTimeout | errors.ProtocolViolation)
    )


def server_text(exc: BaseException) -> str:
    """The human part of an IMAP NO/BAD answer: without the command echo, the response
    code, the server's timing, or the library's quoting of bytes."""
    text = str(exc)
    wrapped = _IMAPLIB_ERROR.match(text)
    if wrapped:
        text = _unquoted(wrapped.group(1))
    elif ":" in text and text.split(":", 1)[0].endswith("failed"):
        text = text.split(":", 1)[1]
    text = text.strip().strip("'\"").removeprefix("b'").strip()
    text = _TIMING.sub("", _COMMAND_ECHO.sub("", _RESP_CODE.sub("", text).strip()))
    text = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(text.split()).rstrip(".")


def _unquoted(listed: str) -> str:
    """The text of imaplib's list of response lines (``b'...', b'...'``)."""
    try:
        lines = ast.literal_eval(f"[{listed}]")
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return listed
    return " ".join(
        line.decode("utf-8", "replace") if isinstance(line, bytes) else str(line) for line in lines
    )


def translate(exc: BaseException, host: str, port: int, username: str) -> errors.MailError:
    """The MailError a person should read for ``exc``."""
    where = f"{host}:{port}"
    if isinstance(exc, errors.MailError):
        return exc
    if isinstance(exc, imap_exc.LoginError):
        return errors.AuthFailed(
            f"The IMAP server {host} refused the login for {username}; check MAILBOX_EMAIL "
            "and the app password in MAILBOX_PASSWORD (or MAILBOX_PASSWORD_COMMAND)."
        )
    if isinstance(exc, socket.timeout | TimeoutError):
        return errors.ServerTimeout(
            f"The IMAP server {where} did not answer in time; check the network and try again."
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return errors.Unavailable(str(certificate_problem(exc, where, "MAILBOX_IMAP_HOST")))
    if isinstance(exc, ssl.SSLError):
        return errors.Unavailable(f"The TLS handshake with {where} failed ({exc.reason}).")
    if isinstance(exc, socket.gaierror):
        return errors.Unavailable(
            f"The IMAP host name {host} could not be resolved; check MAILBOX_IMAP_HOST."
        )
    if isinstance(exc, ConnectionRefusedError):
        return errors.Unavailable(
            f"The IMAP server {where} refused the connection; check MAILBOX_IMAP_HOST and "
            "MAILBOX_IMAP_PORT."
        )
    if isinstance(exc, imap_exc.IMAPClientAbortError | OSError | EOFError):
        return errors.Unavailable(
            f"The connection to the IMAP server {where} was lost ({_short(exc)}); try again."
        )
    if isinstance(exc, imap_exc.ProtocolError):
        return errors.ProtocolViolation(
            f"The IMAP server {where} sent an answer we could not read."
        )
    if isinstance(exc, imap_exc.IMAPClientError):
        return errors.Refused(f"The IMAP server refused the request: {server_text(exc)}.")
    raise exc


def _short(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


@contextmanager
def imap_errors(host: str, port: int, username: str) -> Iterator[None]:
    """Re-raise library errors as MailErrors."""
    try:
        yield
    except (imap_exc.IMAPClientError, OSError, EOFError) as exc:
        raise translate(exc, host, port, username) from exc


@contextmanager
def refused_as(message: str) -> Iterator[None]:
    """The server refusing a command (NO, BAD) becomes Refused with ``message``, a
    sentence in our words; a lost connection stays what it is."""
    try:
        yield
    except imap_exc.IMAPClientError as exc:
        if isinstance(exc, imap_exc.IMAPClientAbortError):
            raise
        raise errors.Refused(message) from exc


@contextmanager
def missing_folder_as_not_found(display: str) -> Iterator[None]:
    """The server refusing a command on a folder (SELECT, STATUS) means, for a folder
    name the user gave, that there is no such folder."""
    try:
        yield
    except imap_exc.IMAPClientError as exc:
        if isinstance(exc, imap_exc.IMAPClientAbortError):
            raise
        raise errors.NotFound(
            f"There is no folder named '{display}'; get_folders lists the folders."
        ) from exc
