"""A message is data from a stranger (DESIGN.md section 9): whatever bytes arrive in the
mailbox, get_email answers, with the message or one clear sentence, and the IMAP
worker never dies of it.

Hypothesis appends arbitrary bytes and MIME-like soup to INBOX through a second
client and reads each through one MCP session, held open in a blocking portal
across all examples (a session costs seconds; hypothesis runs its body many times).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from imapclient.exceptions import IMAPClientError

from tests.imap_client import other_client
from tests.mcp_client import mcp_session, structured, text_of
from tests.servers.dovecot import Account, DovecotServer

pytestmark = pytest.mark.tool_families("mail")


CALL_LIMIT = 60.0
APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]")
CRASHES = ("unexpectedly", "internal error", "error executing tool", "traceback")

HEADER_NAMES = [
    b"From",
    b"To",
    b"Cc",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"References",
    b"MIME-Version",
    b"Content-Type",
    b"Content-Transfer-Encoding",
    b"Content-Disposition",
]
TRICKY_VALUES = [
    b"=?utf-8?b?w7zDpA==?=",
    b"=?x-no-such-charset?q?=FF=FE?=",
    b"=?utf-8?q?never closed",
    b"(" * 300 + b"a@b.example",  # the nesting that sends email.policy.default into recursion
    b'"unterminated <a@b.example',
    b"multipart/mixed; boundary=",
    b'multipart/mixed; boundary="b"',
    b'text/plain; charset="x-no-such"',
    b"message/rfc822",
    b"base64",
    b"quoted-printable",
    b"x-uuencode",
    b"attachment; filename*=utf-8''%FF%FE%00.exe",
    b"Thu, 31 Feb 2026 25:61:61 +9999",
    b"<" + b"a" * 900 + b">",
    b"\xff\xfe\x80 8-bit",
]
BODY_PIECES = [
    b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n",
    b"--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\n",
    b"--b--\r\n",
    b"=\r\n=ZZ=4=\r\n",
    b"SGVsbG8=====!!\r\n",
    b"begin 644 x\r\n`\r\nend\r\n",
    b"<html><script>x()</script><p>hi",
    b"\r\n.\r\n",
]


def header(name_value: tuple[bytes, bytes]) -> bytes:
    return name_value[0] + b": " + name_value[1]


def message_of(parts: tuple[list[bytes], list[bytes]]) -> bytes:
    headers, body = parts
    return b"\r\n".join(headers) + b"\r\n\r\n" + b"".join(body)


def multipart(parts: list[bytes]) -> bytes:
    """Parts inside a multipart; every level uses the same boundary, as broken mail does."""
    inner = b"".join(b"--b\r\n" + part + b"\r\n" for part in parts)
    return b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + inner + b"--b--\r\n"


HEADER_LINES = st.tuples(
    st.sampled_from(HEADER_NAMES), st.sampled_from(TRICKY_VALUES) | st.binary(max_size=200)
).map(header)
SOUP = st.tuples(
    st.lists(HEADER_LINES, max_size=12),
    st.lists(st.sampled_from(BODY_PIECES) | st.binary(max_size=300), max_size=8),
).map(message_of)
NESTED = st.recursive(
    SOUP, lambda children: st.lists(children, max_size=3).map(multipart), max_leaves=6
)
MAIL = st.binary(min_size=0, max_size=4000) | SOUP | NESTED


async def bounded_call(session: Any, tool: str, args: dict[str, Any]) -> types.CallToolResult:
    with anyio.fail_after(CALL_LIMIT):
        result: types.CallToolResult = await session.call_tool(tool, args)
    return result


def test_any_bytes_in_the_mailbox_are_read_or_refused_in_a_sentence_and_never_kill_the_worker(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    outcomes = {"read": 0, "refused": 0}
    with (
        start_blocking_portal("asyncio") as portal,
        portal.wrap_async_context_manager(mcp_session(server_env, tmp_path / "err.log")) as session,
        other_client(dovecot, account) as imap,
    ):

        @settings(
            max_examples=40,
            deadline=None,
            database=None,  # nothing written into the checkout
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(raw=MAIL)
        def read_back(raw: bytes) -> None:
            try:
                answer = imap.append("INBOX", raw)
            except IMAPClientError:
                reject()  # Dovecot would not store it: no mailbox can hold it
            validity, uid = APPENDUID.search(answer).groups()  # type: ignore[union-attr]
            email_id = f"INBOX#{validity.decode()}.{uid.decode()}"
            result = portal.call(bounded_call, session, "get_email", {"id": email_id})
            text = text_of(result)
            assert text.strip(), "an empty answer"
            assert not any(crash in text.lower() for crash in CRASHES), text
            if result.is_error:
                outcomes["refused"] += 1
            else:
                assert structured(result)["id"] == email_id
                outcomes["read"] += 1

        read_back()
        status = structured(portal.call(bounded_call, session, "server_status", {}))
    (imap_worker,) = [w for w in status["workers"] if w["name"] == "imap"]
    assert imap_worker["restarts"] == 0 and imap_worker["state"] == "ready"
    assert sum(outcomes.values()) >= 20, outcomes  # most examples reached get_email
