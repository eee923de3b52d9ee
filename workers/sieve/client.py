"""An async ManageSieve client (RFC 5804) on anyio: STARTTLS required, then PLAIN.

Why our own and not sievelib: sievelib's client is blocking socket code with no
deadline of its own, so a worker would need a thread per session, could not
cancel a call, and a server that stops answering (or trickles bytes) could hold
a call for ever; its STARTTLS is also opt-in, off unless asked for. The
protocol is a dozen line-based commands: here every wait for the server runs
under ``anyio.fail_after``, the password is sent only inside TLS whose
certificate and host name were verified (``workers.tls``), and every failure is
one of protocol.errors with a sentence (workers/sieve/client_errors.py).

The wire (lines, literals, deadlines, when a session is broken) is
workers/sieve/connection.py; the grammar is workers/sieve/protocol_parse.py.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from types import TracebackType

import anyio

from protocol.errors import AuthFailed, ProtocolViolation, Unavailable
from protocol.filters import SieveSettings
from workers.sieve import client_errors as errors
from workers.sieve.connection import Lines, SieveConnection
from workers.sieve.protocol_parse import (
    Response,
    Token,
    checked_name,
    encode_string,
    safe_sentence,
    strings_of,
)
from workers.tls import client_tls_context


@dataclass(frozen=True)
class SieveEndpoint:
    """Where and as whom to log in; the password never appears in a repr."""

    host: str
    username: str
    password: str = field(repr=False)
    port: int = 4190
    ca_file: str | None = None
    connect_timeout: float = 15.0
    read_timeout: float = 60.0

    @classmethod
    def of(cls, settings: SieveSettings) -> SieveEndpoint:
        return cls(
            host=settings.host,
            username=settings.username,
            password=settings.password,
            port=settings.port,
            ca_file=settings.ca_file,
            connect_timeout=settings.pool.connect_timeout,
            read_timeout=settings.pool.read_timeout,
        )

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Capabilities:
    """What the server announced (RFC 5804 section 1.7)."""

    implementation: str = ""
    sieve: frozenset[str] = frozenset()  # Sieve extensions, lower case: "fileinto", "vacation"
    sasl: frozenset[str] = frozenset()  # login methods, upper case
    starttls: bool = False
    version: str = ""
    other: tuple[tuple[str, str], ...] = ()  # NOTIFY, MAXREDIRECTS, OWNER, LANGUAGE, ...

    @classmethod
    def from_lines(cls, lines: list[list[Token]]) -> Capabilities:
        values: dict[str, str] = {}
        for line in lines:
            words = strings_of(line)
            if words:
                values[words[0].upper()] = " ".join(words[1:])
        known = ("IMPLEMENTATION", "SIEVE", "SASL", "STARTTLS", "VERSION")
        return cls(
            implementation=values.get("IMPLEMENTATION", ""),
            sieve=frozenset(values.get("SIEVE", "").lower().split()),
            sasl=frozenset(values.get("SASL", "").upper().split()),
            starttls="STARTTLS" in values,
            version=values.get("VERSION", ""),
            other=tuple((key, value) for key, value in values.items() if key not in known),
        )


@dataclass(frozen=True)
class ScriptInfo:
    name: str
    active: bool


async def connect(endpoint: SieveEndpoint) -> SieveClient:
    """A logged-in session: greeting, STARTTLS (required), verified TLS, AUTHENTICATE PLAIN.

    Raises Unavailable (no connection, TLS failed), ServerTimeout,
    ProtocolViolation (no STARTTLS or no PLAIN offered: the password is not sent),
    or AuthFailed (the login was refused).
    """
    try:
        with anyio.fail_after(endpoint.connect_timeout):
            stream = await anyio.connect_tcp(endpoint.host, endpoint.port)
    except TimeoutError:
        raise errors.timed_out(
            endpoint.where, endpoint.connect_timeout, may_have_happened=False
        ) from None
    except OSError as exc:
        raise errors.connect_failure(exc, endpoint.where) from None
    client = SieveClient(endpoint, SieveConnection(stream, endpoint.where, endpoint.read_timeout))
    try:
        await client._start()
    except BaseException:
        client._wire.mark_broken()  # no LOGOUT to a server we would not log in to
        await client.aclose()
        raise
    return client


class SieveClient:
    """One ManageSieve session; made by ``connect``, closed by ``aclose`` (or ``async with``)."""

    def __init__(self, endpoint: SieveEndpoint, connection: SieveConnection) -> None:
        self._endpoint = endpoint
        self._wire = connection
        self._wire.secrets = (endpoint.password,)
        self.capabilities = Capabilities()

    def __repr__(self) -> str:
        state = "closed" if self._wire.closed else "broken" if self._wire.broken else "open"
        return f"<SieveClient {self._endpoint.where} {state}>"

    @property
    def broken(self) -> bool:
        """True when the session cannot be trusted any more and must be closed."""
        return self._wire.broken

    async def __aenter__(self) -> SieveClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    # The commands (RFC 5804 section 2). Each raises MailErrors only.

    async def capability(self) -> Capabilities:
        """Ask again what the server offers (CAPABILITY)."""
        lines, _ = await self._expect_ok(b"CAPABILITY\r\n", "list its capabilities")
        self.capabilities = Capabilities.from_lines(lines)
        return self.capabilities

    async def list_scripts(self) -> list[ScriptInfo]:
        """Every script's name, and which one is active (at most one)."""
        lines, _ = await self._expect_ok(b"LISTSCRIPTS\r\n", "list the scripts")
        scripts = []
        for line in lines:
            if not line or not isinstance(line[0], bytes):
                raise self._wire.unreadable("a script list line without a name")
            words = strings_of(line)
            scripts.append(ScriptInfo(words[0], any(w.upper() == "ACTIVE" for w in words[1:])))
        return scripts

    async def get_script(self, name: str) -> str:
        """The text of script ``name``. Raises NotFound when there is none so named."""
        command = b"GETSCRIPT " + encode_string(checked_name(name)) + b"\r\n"
        lines, _ = await self._expect_ok(command, f"read the script '{name}'")
        if len(lines) != 1 or len(lines[0]) != 1 or not isinstance(lines[0][0], bytes):
            raise self._wire.unreadable("a script that was not one string")
        try:
            return lines[0][0].decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolViolation(
                f"The Sieve script '{name}' is not valid UTF-8, so it cannot be edited here; "
                "it was left as it is."
            ) from None

    async def check_script(self, content: str) -> str:
        """Have the server validate ``content`` without storing it (CHECKSCRIPT).

        Returns the server's warnings as a sentence ("" when none); raises Refused
        with the server's reason when the script is invalid.
        """
        return await self._store(b"CHECKSCRIPT " + encode_string(content) + b"\r\n", writing=False)

    async def put_script(self, name: str, content: str) -> str:
        """Store ``content`` as script ``name``, replacing one so named (an active one stays
        active). Returns the server's warnings ("" when none); raises Refused with the
        server's reason when the script is invalid."""
        command = (
            b"PUTSCRIPT "
            + encode_string(checked_name(name))
            + b" "
            + encode_string(content)
            + b"\r\n"
        )
        return await self._store(command, writing=True)

    async def set_active(self, name: str) -> None:
        """Make ``name`` the active script (which switches off the one active before)."""
        command = b"SETACTIVE " + encode_string(checked_name(name)) + b"\r\n"
        await self._expect_ok(command, f"activate the script '{name}'", writing=True)

    async def delete_script(self, name: str) -> None:
        """Delete the script ``name``; servers refuse to delete the active one."""
        command = b"DELETESCRIPT " + encode_string(checked_name(name)) + b"\r\n"
        await self._expect_ok(command, f"delete the script '{name}'", writing=True)

    async def have_space(self, name: str, size: int) -> bool:
        """Whether a script ``name`` of ``size`` bytes would fit the account's quota."""
        command = b"HAVESPACE " + encode_string(checked_name(name)) + b" %d\r\n" % max(0, size)
        _, answer = await self._wire.call(command)
        if answer.status == "OK":
            return True
        if (answer.code or "").startswith("QUOTA"):
            return False
        raise errors.refusal(answer, "check the space for a script", self._wire.secrets)

    async def noop(self) -> None:
        """One round trip: proves an idle session still works."""
        await self._expect_ok(b"NOOP\r\n", "answer NOOP")

    async def logout(self) -> None:
        """Say LOGOUT and close; never raises (the session is over either way)."""
        await self.aclose()

    async def aclose(self) -> None:
        """LOGOUT if the session is healthy, then close; shielded, bounded, never raises."""
        await self._wire.aclose()

    # The session's start: greeting, STARTTLS, login.

    async def _start(self) -> None:
        endpoint, wire = self._endpoint, self._wire
        lines, _ = await self._expect_ok(None, "greet", timeout=endpoint.connect_timeout)
        if not Capabilities.from_lines(lines).starttls:
            raise ProtocolViolation(
                f"The Sieve server {endpoint.where} does not offer STARTTLS, so the password "
                f"was not sent; check {errors.HOST_SETTINGS} (ManageSieve is usually port 4190)."
            )
        _, answer = await wire.call(b"STARTTLS\r\n", timeout=endpoint.connect_timeout)
        if answer.status != "OK":
            raise ProtocolViolation(
                f"The Sieve server {endpoint.where} refused to start TLS, so the password "
                "was not sent."
            )
        context = client_tls_context(endpoint.ca_file)
        await wire.start_tls(endpoint.host, context, endpoint.connect_timeout)
        # RFC 5804 section 2.2: after the handshake the server lists its capabilities again.
        lines, _ = await self._expect_ok(None, "greet over TLS", timeout=endpoint.connect_timeout)
        self.capabilities = Capabilities.from_lines(lines)
        await self._authenticate()

    async def _authenticate(self) -> None:
        endpoint = self._endpoint
        if "PLAIN" not in self.capabilities.sasl:
            raise ProtocolViolation(
                f"The Sieve server {endpoint.where} offers no login method we support "
                "(PLAIN), so the password was not sent."
            )
        secret = f"\0{endpoint.username}\0{endpoint.password}".encode()
        token = base64.b64encode(secret).decode("ascii")
        self._wire.secrets = (endpoint.password, token)
        command = b'AUTHENTICATE "PLAIN" ' + encode_string(token) + b"\r\n"
        lines, answer = await self._wire.call(command, timeout=endpoint.connect_timeout)
        if lines:
            # A challenge after our complete PLAIN response: we have nothing more to say.
            self._wire.mark_broken()
            raise ProtocolViolation(
                f"The Sieve server {endpoint.where} asked for more than a PLAIN login."
            )
        if answer.status == "OK":
            return
        if answer.code == "TRYLATER":
            raise Unavailable(
                f"The Sieve server {endpoint.where} cannot log you in now; try again later."
            )
        raise AuthFailed(
            f"The Sieve server {endpoint.host} refused the login for {endpoint.username}; check "
            "MAILBOX_EMAIL and the app password (MAILBOX_PASSWORD or MAILBOX_PASSWORD_COMMAND)."
        )

    async def _store(self, command: bytes, *, writing: bool) -> str:
        _, answer = await self._wire.call(command, writing=writing)
        if answer.status != "OK":
            raise errors.invalid_script(answer, self._wire.secrets)
        return safe_sentence(answer.text, self._wire.secrets) if answer.code else ""

    async def _expect_ok(
        self, command: bytes | None, doing: str, *, writing: bool = False, timeout: float = 0
    ) -> tuple[Lines, Response]:
        lines, answer = await self._wire.call(command, writing=writing, timeout=timeout)
        if answer.status != "OK":
            raise errors.refusal(answer, doing, self._wire.secrets)
        return lines, answer
