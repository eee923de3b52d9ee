"""The ManageSieve client and its pool (workers/sieve/) against the real Dovecot (Pigeonhole),
and against small fake servers for what a real one never does."""

from __future__ import annotations

import email
import email.policy
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import pytest
from anyio.abc import SocketAttribute, SocketStream

from protocol.errors import (
    AuthFailed,
    InvalidArgument,
    NotFound,
    ProtocolViolation,
    Refused,
    ServerTimeout,
    Unavailable,
)
from protocol.settings import PoolSettings
from tests.imap_client import other_client
from tests.servers.dovecot import Account, DovecotServer
from tests.servers.ports import free_port
from workers.sieve.client import ScriptInfo, SieveClient, SieveEndpoint, connect
from workers.sieve.pool import SievePool

pytestmark = pytest.mark.anyio

INVOICE_RULE = (
    'require "fileinto";\r\nif header :contains "subject" "invoice" { fileinto "Taxes"; }\r\n'
)


def endpoint(
    dovecot: DovecotServer, port: int, account: Account, **changes: object
) -> SieveEndpoint:
    settings: dict[str, object] = {
        "host": "localhost",
        "port": port,
        "username": account.email,
        "password": account.password,
        "ca_file": str(dovecot.certificates.ca_file),
        "connect_timeout": 5.0,
        "read_timeout": 10.0,
        **changes,
    }
    return SieveEndpoint(**settings)  # type: ignore[arg-type]


@pytest.fixture
async def sieve(
    dovecot: DovecotServer, managesieve_port: int, account: Account
) -> AsyncIterator[SieveClient]:
    async with await connect(endpoint(dovecot, managesieve_port, account)) as client:
        yield client


def message(to: Account, subject: str, sender: str = "anna@example.test") -> bytes:
    return (
        f"From: Anna <{sender}>\r\nTo: {to.email}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{secrets.token_hex(8)}@example.test>\r\n\r\nHello.\r\n"
    ).encode()


# Logging in


async def test_a_session_starts_tls_logs_in_and_reads_what_the_server_offers(
    sieve: SieveClient,
) -> None:
    assert {"fileinto", "vacation"} <= sieve.capabilities.sieve
    assert "PLAIN" in sieve.capabilities.sasl
    assert "Pigeonhole" in sieve.capabilities.implementation
    assert not sieve.capabilities.starttls  # offered only before TLS
    assert await sieve.capability() == sieve.capabilities
    assert await sieve.list_scripts() == []
    await sieve.noop()
    assert repr(sieve) == f"<SieveClient localhost:{sieve._endpoint.port} open>"


async def test_a_wrong_password_is_auth_failed_in_a_plain_sentence(
    dovecot: DovecotServer, managesieve_port: int, account: Account
) -> None:
    wrong = "wrong-" + secrets.token_urlsafe(12)
    with pytest.raises(AuthFailed) as refused:
        await connect(endpoint(dovecot, managesieve_port, account, password=wrong))
    assert str(refused.value) == (
        f"The Sieve server localhost refused the login for {account.email}; check "
        "MAILBOX_EMAIL and the app password (MAILBOX_PASSWORD or MAILBOX_PASSWORD_COMMAND)."
    )
    assert wrong not in repr(refused.value.__context__) and refused.value.__cause__ is None


async def test_a_certificate_the_system_store_does_not_trust_is_refused(
    dovecot: DovecotServer, managesieve_port: int, account: Account
) -> None:
    with pytest.raises(Unavailable) as refused:
        await connect(endpoint(dovecot, managesieve_port, account, ca_file=None))
    assert "could not be verified" in str(refused.value)
    assert "MAILBOX_CA_FILE" in str(refused.value)


async def test_a_closed_port_is_unavailable(dovecot: DovecotServer, account: Account) -> None:
    with pytest.raises(Unavailable) as refused:
        await connect(endpoint(dovecot, free_port(), account))
    assert "nothing accepted the connection on that port" in str(refused.value)
    assert "MAILBOX_SIEVE_HOST and MAILBOX_SIEVE_PORT" in str(refused.value)


# Servers that are not what they should be: a fake speaking just enough ManageSieve.


@dataclass
class FakeServer:
    port: int = 0
    received: bytearray = field(default_factory=bytearray)


GREETING_WITHOUT_STARTTLS = (
    b'"IMPLEMENTATION" "Fake"\r\n"SASL" "PLAIN"\r\n"SIEVE" "fileinto"\r\n"VERSION" "1.0"\r\n'
    b'OK "Ready."\r\n'
)
GREETING = GREETING_WITHOUT_STARTTLS.replace(b'"VERSION"', b'"STARTTLS"\r\n"VERSION"')


@asynccontextmanager
async def fake_server(greeting: bytes, answers: dict[bytes, bytes]) -> AsyncIterator[FakeServer]:
    """Greets, then answers each command starting with a key of ``answers`` (and
    says nothing to others); records everything it received."""
    server = FakeServer()

    async def serve(stream: SocketStream) -> None:
        async with stream:
            await stream.send(greeting)
            try:
                while True:
                    data = await stream.receive()
                    server.received += data
                    for command, answer in answers.items():
                        if data.startswith(command):
                            await stream.send(answer)
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                pass

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    server.port = listener.extra(SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tasks:
        tasks.start_soon(listener.serve, serve)
        yield server
        tasks.cancel_scope.cancel()


FAKE_LOGIN = {"username": "someone@example.test", "password": "fake-" + secrets.token_hex(8)}


def fake_endpoint(server: FakeServer, **changes: object) -> SieveEndpoint:
    settings: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.port,
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        **FAKE_LOGIN,
        **changes,
    }
    return SieveEndpoint(**settings)  # type: ignore[arg-type]


async def test_a_server_without_starttls_is_never_sent_the_password() -> None:
    async with fake_server(GREETING_WITHOUT_STARTTLS, {b"LOGOUT": b'OK "Bye."\r\n'}) as server:
        with pytest.raises(ProtocolViolation) as refused:
            await connect(fake_endpoint(server))
    assert str(refused.value) == (
        f"The Sieve server 127.0.0.1:{server.port} does not offer STARTTLS, so the password "
        "was not sent; check MAILBOX_SIEVE_HOST and MAILBOX_SIEVE_PORT (ManageSieve is "
        "usually port 4190)."
    )
    assert b"AUTHENTICATE" not in server.received
    assert FAKE_LOGIN["password"].encode() not in server.received


@pytest.mark.parametrize(
    ("starttls_answer", "said"),
    [
        pytest.param(
            b'NO "Not today."\r\n',
            "refused to start TLS, so the password was not sent",
            id="refused",
        ),
        # An attacker in the path appends an answer to the OK, to be read as if from inside TLS.
        pytest.param(
            b'OK "Begin TLS."\r\nOK "Logged in."\r\n',
            "sent data before TLS began",
            id="data-before-the-handshake",
        ),
    ],
)
async def test_a_starttls_that_does_not_begin_cleanly_ends_the_session_before_the_password(
    starttls_answer: bytes, said: str
) -> None:
    async with fake_server(GREETING, {b"STARTTLS": starttls_answer}) as server:
        with pytest.raises(ProtocolViolation) as refused:
            await connect(fake_endpoint(server))
    assert said in str(refused.value)
    assert b"AUTHENTICATE" not in server.received


async def test_a_server_that_stops_answering_times_out() -> None:
    async with fake_server(GREETING, {}) as server:
        with anyio.fail_after(10), pytest.raises(ServerTimeout) as slow:
            await connect(fake_endpoint(server, connect_timeout=0.5))
    assert str(slow.value) == (
        f"The Sieve server 127.0.0.1:{server.port} did not answer within 0.5 s; try again."
    )


async def test_a_greeting_we_cannot_read_is_a_protocol_violation() -> None:
    async with fake_server(b'* OK "IMAP, not ManageSieve"\r\n', {}) as server:
        with pytest.raises(ProtocolViolation) as unreadable:
            await connect(fake_endpoint(server))
    assert "sent an answer we could not read" in str(unreadable.value)


async def test_literals_in_any_answer_are_read_and_oversized_ones_refused() -> None:
    # Servers may send any string as a literal, {n} or {n+}, even inside a response code.
    greeting = (
        b'"IMPLEMENTATION" {9}\r\nFake\r\nOne\r\n"SIEVE" {8+}\r\nfileinto\r\n"STARTTLS"\r\n'
        b'"SASL" "PLAIN"\r\nOK (TAG {1}\r\nx) "Ready."\r\n'
    )
    answers = {b"STARTTLS": b'NO {13}\r\nNot\r\n"today".\r\n'}
    async with fake_server(greeting, answers) as server:
        with pytest.raises(ProtocolViolation) as refused:
            await connect(fake_endpoint(server))
    assert "refused to start TLS" in str(refused.value)  # so the greeting was understood
    async with fake_server(b'"IMPLEMENTATION" {99999999999}\r\n', {}) as server:
        with pytest.raises(ProtocolViolation) as unreadable:
            await connect(fake_endpoint(server))
    assert str(unreadable.value) == (
        f"The Sieve server 127.0.0.1:{server.port} sent an answer we could not read "
        "(a literal larger than we accept)."
    )


# Scripts


async def test_a_script_is_stored_checked_activated_and_read_back(sieve: SieveClient) -> None:
    assert await sieve.check_script(INVOICE_RULE) == ""
    assert await sieve.put_script("rules", INVOICE_RULE) == ""
    await sieve.put_script("spare", "keep;\r\n")
    assert sorted(await sieve.list_scripts(), key=lambda s: s.name) == [
        ScriptInfo("rules", active=False),
        ScriptInfo("spare", active=False),
    ]
    await sieve.set_active("rules")
    assert ScriptInfo("rules", active=True) in await sieve.list_scripts()
    assert await sieve.get_script("rules") == INVOICE_RULE
    # Replacing the active script keeps it active.
    await sieve.put_script("rules", INVOICE_RULE + "keep;\r\n")
    assert ScriptInfo("rules", active=True) in await sieve.list_scripts()
    assert await sieve.have_space("rules", 1000)
    assert not await sieve.have_space("rules", 50 * 1024 * 1024)
    await sieve.delete_script("spare")
    assert [s.name for s in await sieve.list_scripts()] == ["rules"]


async def test_a_broken_script_is_refused_with_the_servers_reason_as_a_sentence(
    sieve: SieveClient,
) -> None:
    broken = 'require "fileinto";\r\nif header :contains "subject" "x" { fileinto "A"\r\n'
    with pytest.raises(Refused) as checked:
        await sieve.check_script(broken)
    text = str(checked.value)
    assert text.startswith("The Sieve server found the script invalid: line ")
    assert "error" in text and text.endswith(".")
    assert "\n" not in text and "\r" not in text and "{1" not in text
    with pytest.raises(Refused):
        await sieve.put_script("rules", broken)
    assert await sieve.list_scripts() == []
    assert not sieve.broken  # a refusal leaves the session usable
    await sieve.noop()


async def test_a_missing_script_is_not_found(sieve: SieveClient) -> None:
    with pytest.raises(NotFound) as missing:
        await sieve.get_script("nothing here")
    assert str(missing.value).startswith(
        "The Sieve server refused to read the script 'nothing here'"
    )
    with pytest.raises(NotFound):
        await sieve.set_active("nothing here")


async def test_the_active_script_cannot_be_deleted(sieve: SieveClient) -> None:
    await sieve.put_script("rules", INVOICE_RULE)
    await sieve.set_active("rules")
    with pytest.raises(Refused) as refused:
        await sieve.delete_script("rules")
    assert "refused to delete the script 'rules'" in str(refused.value)


async def test_a_large_script_with_non_ascii_text_and_name_round_trips(sieve: SieveClient) -> None:
    name = 'Regeln für "Ärger" \\ ✉'
    filler = "".join(f"# Zeile {n}: Grüße, ½ € — ✓\r\n" for n in range(3500))
    script = (
        'require "fileinto";\r\n'
        + filler
        + 'if header :contains "subject" "Rechnung für März" { fileinto "Steuern/2024"; }\r\n'
    )
    assert len(script.encode()) > 100_000
    assert await sieve.check_script(script) == ""
    await sieve.put_script(name, script)
    assert await sieve.list_scripts() == [ScriptInfo(name, active=False)]
    assert await sieve.get_script(name) == script


async def test_names_that_could_end_a_command_are_refused_before_sending(
    sieve: SieveClient,
) -> None:
    for name in ("", "two\r\nLOGOUT", "nul\x00", "tab\tname"):
        with pytest.raises(InvalidArgument):
            await sieve.put_script(name, "keep;\r\n")
    assert await sieve.list_scripts() == []


async def test_a_closed_session_says_so_and_closing_twice_is_fine(sieve: SieveClient) -> None:
    await sieve.logout()
    assert sieve.broken
    with pytest.raises(Unavailable):
        await sieve.list_scripts()
    await sieve.aclose()


# Sieve at delivery


async def test_an_active_rule_files_a_delivered_message_into_its_folder(
    dovecot: DovecotServer, sieve: SieveClient, account: Account
) -> None:
    with other_client(dovecot, account) as imap:
        imap.create_folder("Taxes")
    await sieve.put_script("rules", INVOICE_RULE)
    await sieve.set_active("rules")
    dovecot.deliver(account, message(account, "Your invoice for March"))
    dovecot.deliver(account, message(account, "Lunch?"))
    with other_client(dovecot, account) as imap:
        imap.select_folder("Taxes", readonly=True)
        taxes = [m[b"ENVELOPE"].subject for m in imap.fetch(imap.search(), ["ENVELOPE"]).values()]
        imap.select_folder("INBOX", readonly=True)
        inbox = [m[b"ENVELOPE"].subject for m in imap.fetch(imap.search(), ["ENVELOPE"]).values()]
    assert taxes == [b"Your invoice for March"]
    assert inbox == [b"Lunch?"]


async def test_a_vacation_rule_replies_through_sieves_sendmail(
    dovecot: DovecotServer, sieve: SieveClient, account: Account
) -> None:
    sender = f"anna-{secrets.token_hex(4)}@example.test"
    script = (
        'require "vacation";\r\n'
        'vacation :days 1 :subject "Away until Monday" "I am away; back on Monday.";\r\n'
    )
    await sieve.put_script("rules", script)
    await sieve.set_active("rules")
    dovecot.deliver(account, message(account, "Are you there?", sender), sender=sender)
    replies = [sent for sent in dovecot.sent_by_sieve() if sent.recipients == [sender]]
    assert len(replies) == 1
    assert replies[0].sender == "<>"  # an auto-reply never gets an answer back
    reply = email.message_from_bytes(replies[0].message, policy=email.policy.default)
    assert reply["Subject"] == "Away until Monday"
    assert reply["Auto-Submitted"].startswith("auto-replied")
    assert account.email in reply["From"]
    assert reply.get_content().strip() == "I am away; back on Monday."


# The pool


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make_pool(ep: SieveEndpoint, clock: FakeClock, **pool: float) -> SievePool:
    settings = PoolSettings(min_size=0, max_size=2, **pool)  # type: ignore[arg-type]
    return SievePool(lambda: connect(ep), settings, clock=clock)


async def test_the_pool_reuses_a_session_and_checks_one_that_idled(
    dovecot: DovecotServer, managesieve_port: int, account: Account
) -> None:
    clock = FakeClock()
    pool = make_pool(endpoint(dovecot, managesieve_port, account), clock, idle_check_after=60)
    async with pool.connection() as first:
        await first.put_script("rules", "keep;\r\n")
    async with pool.connection() as second:
        assert second is first
    clock.now = 61
    async with pool.connection() as third:
        assert third is first
    assert repr(pool) == "<SievePool in_use=0 idle=1>"
    assert pool.metrics()["pool_opened"] == 1
    assert pool.metrics()["pool_noop_checks"] == 1
    await pool.aclose()
    assert first.broken and pool.metrics()["pool_idle"] == 0


async def test_the_pool_keeps_a_session_after_a_refusal_and_drops_a_broken_one(
    dovecot: DovecotServer, managesieve_port: int, account: Account
) -> None:
    pool = make_pool(endpoint(dovecot, managesieve_port, account), FakeClock())
    with pytest.raises(NotFound):
        async with pool.connection() as first:
            await first.get_script("missing")
    async with pool.connection() as second:
        assert second is first
        second._wire.mark_broken()  # as a timeout would leave it
    async with pool.connection() as third:
        assert third is not first
        assert await third.list_scripts() == []
    assert pool.metrics()["pool_opened"] == 2
    assert pool.metrics()["pool_failures"] == 1
    await pool.aclose()


async def test_the_pool_tries_no_second_login_after_a_refused_one(
    dovecot: DovecotServer, managesieve_port: int, account: Account
) -> None:
    wrong = "wrong-" + secrets.token_urlsafe(12)
    pool = make_pool(endpoint(dovecot, managesieve_port, account, password=wrong), FakeClock())
    for _ in range(2):
        with pytest.raises(AuthFailed) as refused:
            async with pool.connection():
                pass
    assert "No further ManageSieve logins are tried" in str(refused.value)
    assert pool.metrics()["pool_opened"] == 0
    assert pool.metrics()["logins_not_tried"] == 1
    await pool.aclose()
