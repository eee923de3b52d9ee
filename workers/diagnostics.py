"""What the three workers' parts of ``--diagnose`` share.

A ``Checklist`` runs one worker's checks in order, times each, and after the
first failure records the rest as skipped. The network steps every protocol
starts with (name lookup, TCP connect, TLS handshake; ``reach`` runs them) live
here, with the advice, in plain words, for what goes wrong in them, and the
sentence for a refused login.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio

from protocol.diagnosis import Check, DiagnoseResult, skipped
from protocol.errors import MailError
from protocol.settings import ImapSettings, SmtpSettings
from workers.tls import client_tls_context, verification_failure

LOGIN_ADVICE = (
    "Put an app password in MAILBOX_PASSWORD (or have MAILBOX_PASSWORD_COMMAND print it), not "
    "the password you sign in to the website with: mailbox.org makes them under Settings > "
    "Security > App passwords, and most providers want one for mail programs. Check also that "
    "MAILBOX_EMAIL is your full address."
)
RETRY_ADVICE = (
    "Run --diagnose again in a minute; if it keeps failing, the server may be down: check "
    "your provider's status page."
)
CERTIFICATE_WARNING_DAYS = 14


@dataclass(frozen=True)
class Endpoint:
    """A server to check, and how a person would name the settings that lead to it."""

    host: str
    port: int
    host_hint: str  # the setting to change for a wrong name, with the usual value
    port_hint: str  # the setting to change for a wrong port, with the usual value
    ca_file: str | None
    timeout: float

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def of(cls, settings: ImapSettings | SmtpSettings, host_hint: str, port_hint: str) -> Endpoint:
        """The server a mail worker's settings name, checked with their CA and timeout."""
        return cls(
            settings.host,
            settings.port,
            host_hint,
            port_hint,
            settings.ca_file,
            settings.pool.connect_timeout,
        )


class Failed(Exception):
    """A check failed: what happened (``detail``) and what to do (``advice``)."""

    def __init__(self, detail: str, advice: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.advice = advice


@dataclass(frozen=True)
class Note:
    """A check that passed with a limit worth knowing: shown as a warning."""

    detail: str
    advice: str


Outcome = str | Note


def unexpected(exc: BaseException) -> Failed:
    """The failure for an error no step expected (its text only when it is ours)."""
    if isinstance(exc, MailError):
        return Failed(exc.message.rstrip("."), RETRY_ADVICE)
    return Failed(f"unexpected error ({type(exc).__name__})", RETRY_ADVICE)


def login_refused(host: str, username: str, said: str = "", advice: str = LOGIN_ADVICE) -> Failed:
    """The failure for a server turning the login away; ``said``: the server's reason."""
    return Failed(
        f"{host} refused the login for {username}" + (f" ({said})" if said else ""), advice
    )


class Checklist:
    """Runs the checks of ``plan`` in order; once one fails, the rest are skipped."""

    def __init__(
        self, plan: tuple[str, ...], explain: Callable[[BaseException], Failed] = unexpected
    ) -> None:
        self._plan = plan
        self._explain = explain
        self.checks: list[Check] = []
        self.failed: str | None = None

    async def step(self, name: str, run: Callable[[], Awaitable[Outcome]]) -> bool:
        """Run one check unless an earlier one failed; True when it passed."""
        assert name in self._plan, name
        if self.failed is not None:
            return False
        start = time.perf_counter()
        try:
            outcome = await run()
        except Exception as exc:
            failure = exc if isinstance(exc, Failed) else self._explain(exc)
            self.checks.append(
                Check(name, False, failure.detail, _since(start), advice=failure.advice)
            )
            self.failed = name
            return False
        if isinstance(outcome, Note):
            self.checks.append(Check(name, True, outcome.detail, _since(start), outcome.advice))
        else:
            self.checks.append(Check(name, True, outcome, _since(start)))
        return True

    async def steps(self, *steps: tuple[str, Callable[[], Awaitable[Outcome]]]) -> None:
        """Run ``steps`` in order, each as ``step`` (so once one fails the rest are skipped)."""
        for name, run in steps:
            await self.step(name, run)

    async def blocking(self, name: str, run: Callable[[], Outcome]) -> bool:
        """A step that blocks (socket calls, imapclient), run in a thread."""
        return await self.step(name, lambda: anyio.to_thread.run_sync(run))

    def result(self) -> DiagnoseResult:
        done = {check.name for check in self.checks}
        because = self.failed or "an earlier check"
        rest = [skipped(name, because) for name in self._plan if name not in done]
        return DiagnoseResult([*self.checks, *rest])


# -- the network steps: ``reach`` runs the blocking functions after it in threads -------


async def reach(
    checks: Checklist, protocol: str, end: Endpoint, *, tls: bool = True, plain: str = ""
) -> None:
    """The checks ``<protocol> dns``, ``<protocol> connect`` and, with ``tls``,
    ``<protocol> tls``: the name lookup, a TCP connection, and a TLS handshake over it.
    The connection is closed after them; without ``tls`` the caller checks TLS its own
    way. ``plain``: why this connection goes without TLS, the tls check's detail."""
    raw: list[socket.socket] = []

    def tcp() -> str:
        raw.append(connect(end))
        return f"connected to {end.where}"

    try:
        await checks.blocking(f"{protocol} dns", lambda: resolve(end))
        await checks.blocking(f"{protocol} connect", tcp)
        if tls:
            await checks.blocking(f"{protocol} tls", lambda: plain or handshake(end, raw[0]))
    finally:
        close_quietly(raw[0] if raw else None)


def resolve(end: Endpoint) -> str:
    """The name lookup. Raises Failed."""
    try:
        infos = socket.getaddrinfo(end.host, end.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise Failed(
            f"the name {end.host} could not be found ({reason})",
            f"Check the spelling of {end.host_hint}, and that this computer is online.",
        ) from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    return f"{end.host} is {', '.join(addresses[:3])}"


def connect(end: Endpoint) -> socket.socket:
    """A TCP connection to the server. Raises Failed."""
    try:
        return socket.create_connection((end.host, end.port), timeout=end.timeout)
    except ConnectionRefusedError:
        raise Failed(
            f"{end.where} refused the connection",
            f"Check {end.port_hint}: nothing accepts connections on port {end.port} of "
            f"{end.host}, or a firewall turns them away.",
        ) from None
    except TimeoutError:
        raise Failed(
            f"{end.where} did not answer within {end.timeout:.0f} s",
            f"A firewall or the network may be blocking port {end.port}: check "
            f"{end.port_hint}, and try again from another network.",
        ) from None
    except OSError as exc:
        raise Failed(
            f"could not connect to {end.where} ({exc.strerror or type(exc).__name__})",
            f"Check that this computer is online; if it is, check {end.host_hint}.",
        ) from None


def handshake(end: Endpoint, raw: socket.socket) -> Outcome:
    """TLS over ``raw`` with the settings every worker uses. Raises Failed."""
    try:
        context = client_tls_context(end.ca_file)
        with context.wrap_socket(raw, server_hostname=end.host) as tls:
            return describe_tls(tls.version(), tls.getpeercert())
    except (OSError, ValueError) as exc:
        raise tls_failure(exc, end) from None


def tls_failure(exc: BaseException, end: Endpoint) -> Failed:
    """What went wrong in a TLS handshake, and what to do about it."""
    reason = verification_failure(exc)
    if reason is not None:
        detail = f"the certificate of {end.where} could not be verified ({reason})"
        if "mismatch" in reason.lower() or "doesn't match" in reason.lower():
            return Failed(
                detail,
                f"The certificate was issued for another name: check {end.host_hint}, "
                "and use the server's own name.",
            )
        if "expired" in reason.lower():
            return Failed(
                detail,
                "Check that this computer's date and time are right; if they are, the "
                "provider must renew its certificate.",
            )
        return Failed(
            detail,
            "If the server uses a private certificate authority, set MAILBOX_CA_FILE to that "
            "authority's certificate (a PEM file); if not, something on this network intercepts "
            "the connection: try another network.",
        )
    if isinstance(exc, TimeoutError):
        return Failed(
            f"the TLS handshake with {end.where} did not finish within {end.timeout:.0f} s",
            f"Check {end.port_hint}: this port may not speak TLS.",
        )
    text = exc.reason if isinstance(exc, ssl.SSLError) and exc.reason else None
    return Failed(
        f"the TLS handshake with {end.where} failed ({text or type(exc).__name__})",
        f"Check {end.port_hint}: this port may not speak TLS.",
    )


def describe_tls(version: str | None, cert: dict[str, Any] | None) -> Outcome:
    """'TLSv1.3, certificate for imap.mailbox.org from Sectigo, valid until 2026-09-01'."""
    cert = cert or {}
    subject = _names(cert.get("subject", ()))
    issuer = _names(cert.get("issuer", ()))
    alt_names = [value for kind, value in cert.get("subjectAltName", ()) if kind == "DNS"]
    name = subject.get("commonName") or (alt_names[0] if alt_names else "an unnamed server")
    by = issuer.get("organizationName") or issuer.get("commonName") or "an unnamed authority"
    detail = f"{version or 'TLS'}, certificate for {name} from {by}"
    expires = _expiry(cert)
    if expires is None:
        return detail
    detail += f", valid until {expires:%Y-%m-%d}"
    days = (expires - datetime.now(UTC)).days
    if days < CERTIFICATE_WARNING_DAYS:
        return Note(
            detail,
            f"The server's certificate expires in {max(days, 0)} days; the provider must renew "
            "it, or connections will fail from then on.",
        )
    return detail


def close_quietly(sock: socket.socket | None) -> None:
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _names(rdns: Any) -> dict[str, str]:
    return {str(key): str(value) for rdn in rdns for key, value in rdn}


def _expiry(cert: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromtimestamp(ssl.cert_time_to_seconds(str(cert["notAfter"])), UTC)
    except (KeyError, ValueError, OverflowError):
        return None


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 4)
