"""TLS on every connection (DESIGN.md section 9): a certificate must come from a CA we
trust and name the host we asked for, and a required STARTTLS cannot be stripped
by someone on the network. Each refusal is one sentence and nothing is sent.

The test certificate names localhost, 127.0.0.1 and ::1 (tests/servers/tls.py), so
a FaultProxy listening on 127.0.0.2 reaches the right server under a name the
certificate does not cover; Linux routes all of 127.0.0.0/8 to loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import trustme

from tests.faults.proxy import FaultProxy
from tests.mcp_client import error_text, mcp_session
from tests.servers.dav import DavServer
from tests.servers.dovecot import Account, DovecotServer
from tests.servers.smtp import SmtpServer

pytestmark = [pytest.mark.anyio, pytest.mark.tool_families("mail", "calendar")]

CALL_LIMIT = 60.0  # a refusal comes long before this, even on a busy machine
UNNAMED_HOST = "127.0.0.2"  # loopback, but not in the test certificate
MESSAGE = {"to": ["anna@example.test"], "subject": "Must not go", "body": "secret plans"}
# One call per protocol, each the first to open a connection of its worker.
FIRST_CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "imap": ("get_folders", {}),
    "smtp": ("send_email", MESSAGE),
    "caldav": ("list_calendars", {}),
}


async def refusal(session: Any, tool: str, args: dict[str, Any]) -> str:
    with anyio.fail_after(CALL_LIMIT):
        return error_text(await session.call_tool(tool, args))


def one_sentence(text: str) -> bool:
    return "\n" not in text and "Traceback" not in text and 20 < len(text) < 600


async def assert_each_first_call_refuses_the_certificate(
    env: dict[str, str], tmp_path: Path, smtp: SmtpServer
) -> None:
    """Each protocol's first call is refused for the server's certificate, in one sentence,
    and no mail and no password reached the SMTP server."""
    sent_before, logins_before = len(smtp.received), len(smtp.logins)
    async with mcp_session(env, tmp_path / "err.log") as session:
        answers = {
            protocol: await refusal(session, tool, args)
            for protocol, (tool, args) in FIRST_CALLS.items()
        }
    for protocol, text in answers.items():
        assert "certificate" in text.lower(), (protocol, text)
        assert one_sentence(text), (protocol, text)
    assert len(smtp.received) == sent_before
    assert smtp.logins[logins_before:] == []  # the password never left


@pytest.fixture
def untrusted_ca_file(tmp_path: Path) -> Path:
    """A CA of its own, which issued none of the test servers' certificates."""
    path = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def unnamed_proxies(
    dovecot: DovecotServer, smtp: SmtpServer, dav_servers: dict[str, DavServer]
) -> Iterator[dict[str, FaultProxy]]:
    """IMAP, SMTP and CalDAV, each reached through 127.0.0.2."""
    targets = {
        "imap": dovecot.imaps_port,
        "smtp": smtp.tls_port,
        "caldav": dav_servers["radicale"].port,
    }
    proxies = {
        name: FaultProxy("127.0.0.1", port, host=UNNAMED_HOST) for name, port in targets.items()
    }
    for proxy in proxies.values():
        proxy.start()
    yield proxies
    for proxy in proxies.values():
        proxy.close()


async def test_certificates_from_a_ca_we_do_not_trust_are_refused_and_nothing_is_sent(
    server_env: dict[str, str],
    tmp_path: Path,
    smtp: SmtpServer,
    untrusted_ca_file: Path,
) -> None:
    server_env["MAILBOX_CA_FILE"] = str(untrusted_ca_file)
    await assert_each_first_call_refuses_the_certificate(server_env, tmp_path, smtp)


async def test_certificates_that_do_not_name_the_host_are_refused_and_nothing_is_sent(
    server_env: dict[str, str],
    tmp_path: Path,
    smtp: SmtpServer,
    unnamed_proxies: dict[str, FaultProxy],
) -> None:
    server_env.update(
        {
            "MAILBOX_IMAP_HOST": UNNAMED_HOST,
            "MAILBOX_IMAP_PORT": str(unnamed_proxies["imap"].port),
            "MAILBOX_SMTP_HOST": UNNAMED_HOST,
            "MAILBOX_SMTP_PORT": str(unnamed_proxies["smtp"].port),
            "MAILBOX_CALDAV_URL": f"https://{UNNAMED_HOST}:{unnamed_proxies['caldav'].port}/",
        }
    )
    await assert_each_first_call_refuses_the_certificate(server_env, tmp_path, smtp)
    for protocol, proxy in unnamed_proxies.items():
        # The right server was reached: the refusal is the name check, not a dead route.
        assert proxy.connections_accepted >= 1, protocol


async def test_a_starttls_offer_stripped_on_the_way_is_refused_and_nothing_goes_in_plaintext(
    server_env: dict[str, str], tmp_path: Path, smtp: SmtpServer, account: Account
) -> None:
    with FaultProxy("127.0.0.1", smtp.starttls_port) as proxy:
        # A man in the middle: the EHLO answer offers a plaintext login instead of STARTTLS.
        proxy.rewrite("down", b"STARTTLS", b"AUTH PLAIN LOGIN")
        # A tripwire: a client that carried on without TLS would send its password next
        # (aiosmtplib's default, STARTTLS only if offered, does); the chunk never arrives.
        proxy.cut_when(b"AUTH", "up", after=False)
        server_env["MAILBOX_SMTP_PORT"] = str(proxy.port)
        server_env["MAILBOX_SMTP_SECURITY"] = "starttls"
        sent_before = len(smtp.received)
        async with mcp_session(server_env, tmp_path / "err.log") as session:
            text = await refusal(session, "send_email", MESSAGE | {"to": [account.email]})
        assert proxy.connections_accepted >= 1
        assert not proxy.fired.is_set(), "the client sent AUTH over the unencrypted connection"
    assert "STARTTLS" in text and one_sentence(text)
    assert len(smtp.received) == sent_before


@pytest.mark.parametrize("protocol", ["smtp", "caldav"])
async def test_a_certificate_error_points_at_mailbox_ca_file_on_every_protocol(
    protocol: str, server_env: dict[str, str], tmp_path: Path, untrusted_ca_file: Path
) -> None:
    server_env["MAILBOX_CA_FILE"] = str(untrusted_ca_file)
    tool, args = FIRST_CALLS[protocol]
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        text = await refusal(session, tool, args)
    assert "MAILBOX_CA_FILE" in text
