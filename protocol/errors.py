"""One error hierarchy for the whole product.

Workers translate library exceptions into these at one boundary each; the
supervisor turns them into MCP tool errors in exactly one place. Every message
is a sentence a person can act on, and never contains a credential.
"""

from __future__ import annotations

from typing import ClassVar, Literal

ErrorKind = Literal[
    "invalid_argument",
    "not_found",
    "already_exists",
    "auth_failed",
    "server_timeout",
    "unavailable",
    "worker_crashed",
    "conflict",
    "refused",
    "rate_limited",
    "protocol_error",
    "config",
    "internal",
]


class MailError(Exception):
    """Base of every error the product reports to the user.

    ``may_have_happened`` is set on writes whose outcome is unknown (the
    connection died after the server may have acted), so the user is told to
    check before retrying.
    """

    kind: ClassVar[ErrorKind] = "internal"
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, may_have_happened: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.may_have_happened = may_have_happened

    def __str__(self) -> str:
        return self.message


class InvalidArgument(MailError):
    kind = "invalid_argument"


class NotFound(MailError):
    kind = "not_found"


class AlreadyExists(MailError):
    kind = "already_exists"


class AuthFailed(MailError):
    kind = "auth_failed"


class ServerTimeout(MailError, TimeoutError):
    kind = "server_timeout"
    retryable = True


class Unavailable(MailError):
    kind = "unavailable"
    retryable = True


class WorkerCrashed(MailError):
    kind = "worker_crashed"
    retryable = True


class Conflict(MailError):
    kind = "conflict"


class Refused(MailError):
    """The server understood the request and said no (an IMAP NO or BAD)."""

    kind = "refused"


class RateLimited(MailError):
    """Too many requests to one protocol in a short time (our own limit, not the server's)."""

    kind = "rate_limited"
    retryable = True


class ProtocolViolation(MailError):
    kind = "protocol_error"


class ConfigError(MailError):
    kind = "config"


class InternalError(MailError):
    kind = "internal"


# A server, or the worker speaking to it, could not be reached: nothing got through, and
# the same call may work later (a cached answer may stand in meanwhile).
UNREACHED: tuple[type[MailError], ...] = (Unavailable, ServerTimeout, WorkerCrashed)

_BY_KIND: dict[str, type[MailError]] = {
    cls.kind: cls
    for cls in (
        InvalidArgument,
        NotFound,
        AlreadyExists,
        AuthFailed,
        ServerTimeout,
        Unavailable,
        WorkerCrashed,
        Conflict,
        Refused,
        RateLimited,
        ProtocolViolation,
        ConfigError,
        InternalError,
    )
}


def error_from_kind(kind: str, message: str, *, may_have_happened: bool = False) -> MailError:
    """Rebuild an error that crossed the pipe; unknown kinds become InternalError."""
    cls = _BY_KIND.get(kind, InternalError)
    return cls(message, may_have_happened=may_have_happened)
