"""Every mail tool, called as a confused or hostile agent would: ids from the wrong tool or
with a made-up UID, folder names with wildcards, dates in year 1 and 9999, addresses with
commas and non-ASCII letters. Whatever it is given, a tool answers with a result or one
sentence of ours: never "unexpectedly", a library's repr or the server's own bytes.

One MCP session, held open in a blocking portal, serves every example (see test_fuzz_mail).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.imap_client import other_client
from tests.mail_factory import deliver, message
from tests.mcp_client import mcp_session, structured, text_of
from tests.security.test_fuzz_mail import bounded_call
from tests.server_env import NO_RATE_LIMITS
from tests.servers.dovecot import Account, DovecotServer

pytestmark = pytest.mark.tool_families("mail")


CRASHES = re.compile(r"unexpectedly|traceback|internal error|error executing tool", re.I)
LEAKS = re.compile(
    # A Python repr; a quoted name ending in b ('a"b') is no bytes literal.
    r"(?<![\"'])\bb['\"]|<class |Error\(|Exception\(|object at 0x|\bNone\b"
    r"|\[(TRYCREATE|NONEXISTENT|ALREADYEXISTS|CANNOT|UNAVAILABLE|SERVERBUG|CLIENTBUG|"
    r"PARSE|CORRUPTION|EXPUNGEISSUED|INUSE|LIMIT|OVERQUOTA|NOPERM)\]"  # IMAP response codes
    r"|\bsecs\)|command error|BAD \[|\bNO \["  # Dovecot's timing, imaplib's echo
    r"|- at `\$|Object missing required|Object contains unknown"  # msgspec notation
)

FOLDERS = st.sampled_from(
    [
        "INBOX",
        "Sent",
        "Drafts",
        "Trash",
        "Nope",
        "*",
        "%",
        "INBOX/*",
        "Projects",
        "Projects/Garden",
        'a"b',
        "Grüße",
        "../etc",
        "/",
        "INBOX/",
        " ",
        "&AMQ-",
        "x" * 300,
    ]
) | st.text(max_size=40)
DATES = (
    st.sampled_from(
        [
            "0001-01-01",
            "9999-12-31",
            "9999-12-31T23:59:59+00:00",
            "2026-02-30",
            "2026-13-01",
            "today",
            "yesterday",
            "2026-10-01T09:00",
            "2026-10-01T09:00-05:00",
            "1970-01-01",
        ]
    )
    | st.dates().map(lambda d: d.isoformat())
    | st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat())
)
ADDRESSES = (
    st.sampled_from(
        [
            '"Dave, Jr." <dave@example.test>',
            "Berg, Anna <anna@example.test>",
            "jürgen@exämple.de",
            "zoë@example.test",
            "a@b",
            "@example.test",
            "<>",
            "a@b@c",
            "eve@evil.example( <x@y>",
            "x" * 64 + "@example.test",
            "Name <name@example.test>, other@example.test",
        ]
    )
    | st.emails()
    | st.text(min_size=3, max_size=60)
)


Call = tuple[str, dict[str, Any]]
"""A tool's name and its arguments."""


def ids_from(real: list[str]) -> st.SearchStrategy[str]:
    """Ids as search_emails made them, with a UID or UIDVALIDITY changed, or from nowhere."""
    parts = [(i.rpartition("#")[0], i.rpartition("#")[2].split(".")[0]) for i in real]
    changed = st.tuples(
        st.sampled_from(parts),
        st.integers(min_value=0, max_value=2**32 + 5),
        st.booleans(),
    ).map(lambda p: f"{p[0][0]}#{p[0][1] if p[2] else p[1]}.{p[1]}")
    elsewhere = st.tuples(FOLDERS, st.integers(0, 2**32), st.integers(0, 2**32)).map(
        lambda p: f"{p[0]}#{p[1]}.{p[2]}"
    )
    wrong_tool = st.sampled_from(
        ["personal/calendar/abc.ics", "1", "INBOX", "INBOX#", "#1.1", "INBOX#1.1.1", "INBOX#-1.2"]
    )
    return st.sampled_from(real) | changed | elsewhere | wrong_tool | st.text(max_size=30)


def tool(tool_name: str, /, **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Call]:
    """A call of ``tool_name`` in which each argument is left out or drawn from its strategy."""
    drawn = st.fixed_dictionaries({}, optional=fields)
    return drawn.map(lambda args: (tool_name, args))


@contextmanager
def restart_free_session(env: dict[str, str], log: Path) -> Iterator[tuple[BlockingPortal, Any]]:
    """One MCP session held open in a blocking portal, so that every (synchronous)
    hypothesis example calls into the same server, with no rate or sending limits: the
    examples come as fast as they are drawn. When the block ends, no worker may have
    restarted: one that crashed and came back would hide the crash from the answers."""
    with (
        start_blocking_portal("asyncio") as portal,
        portal.wrap_async_context_manager(mcp_session(env | NO_RATE_LIMITS, log)) as session,
    ):
        yield portal, session
        status = structured(portal.call(bounded_call, session, "server_status", {}))
    for worker in status["workers"]:
        assert worker["restarts"] == 0, worker


def calls(real: list[str]) -> st.SearchStrategy[Call]:
    ids = ids_from(real)
    some_ids = st.lists(ids, min_size=1, max_size=3)
    maybe = st.none()

    return st.one_of(
        tool(
            "search_emails",
            folder=FOLDERS,
            since=DATES,
            before=DATES,
            sender=ADDRESSES,
            recipient=ADDRESSES,
            subject=st.text(max_size=30),
            query=st.text(max_size=30),
            limit=st.integers(-1, 1000),
            cursor=st.text(max_size=20),
        ),
        tool(
            "get_email", id=ids, offset=st.integers(-5, 10**7), max_chars=st.integers(-1, 10**6)
        ).filter(lambda c: "id" in c[1]),
        tool("get_email_thread", id=ids).filter(lambda c: "id" in c[1]),
        tool(
            "get_attachment", id=ids, part=st.sampled_from(["1", "2", "2.2", "0", "99", "x"])
        ).filter(lambda c: "id" in c[1]),
        tool("move_email", ids=some_ids, destination=FOLDERS),
        tool("mark_email", ids=some_ids, read=st.booleans() | maybe, flagged=st.booleans()),
        tool("delete_email", ids=some_ids, permanent=st.booleans()),
        tool("create_directory", name=FOLDERS),
        tool(
            "send_email",
            to=st.lists(ADDRESSES, max_size=2),
            cc=st.lists(ADDRESSES, max_size=2),
            subject=st.text(max_size=30),
            body=st.text(max_size=50),
            reply_to_id=ids,
            reply_all=st.booleans(),
            forward_id=ids,
        ),
        tool("create_draft", to=st.lists(ADDRESSES, max_size=2), reply_to_id=ids),
        tool("send_draft", id=ids).filter(lambda c: "id" in c[1]),
    )


def answer_every_call(
    portal: Any,
    session: Any,
    strategy: st.SearchStrategy[Call],
    well_formed: Sequence[Call] = (),
) -> dict[str, int]:
    """Run 150 calls drawn from ``strategy`` through one session, after the ``well_formed``
    ones, which must succeed (the first time: a drawn call may repeat one); every error
    must be a sentence of ours. Returns how many answers were results and refusals."""
    answers = {"ok": 0, "refused": 0}
    first_time = list(well_formed)

    def answer_in_our_words(call: Call) -> None:
        name, args = call
        result = portal.call(bounded_call, session, name, args)
        text = text_of(result)
        assert text.strip(), f"an empty answer to {name}"
        if result.is_error:
            found = CRASHES.search(text) or LEAKS.search(text)
            assert found is None, f"{name}({args!r}) answered {text!r}"
            assert call not in first_time, f"{name}({args!r}) was refused: {text!r}"
            answers["refused"] += 1
        else:
            answers["ok"] += 1
        if call in first_time:
            first_time.remove(call)

    run = given(call=strategy)(answer_in_our_words)
    for call in reversed(well_formed):  # explicit examples run first, in this order
        run = example(call=call)(run)
    settings(
        max_examples=150,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )(run)()
    return answers


def test_no_mail_tool_answers_with_a_crash_a_repr_or_server_bytes_whatever_it_is_given(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    server_env |= {
        # Random recipients stop at the allow-list: nothing is sent to anyone else.
        "MAILBOX_SEND_ALLOW": account.email,
    }
    with other_client(dovecot, account) as imap:
        imap.create_folder("Projects/Garden")
        for n in range(3):
            deliver(imap, "INBOX", message(f"Seed {n}", sender='"Dave, Jr." <dave@example.test>'))
        deliver(
            imap, "INBOX", message("Report", attachment=("r.pdf", b"%PDF-1.4 x", "application/pdf"))
        )
        deliver(imap, "Drafts", message("Draft", to=account.email), flags=("\\Draft",))
    with restart_free_session(server_env, tmp_path / "err.log") as (portal, session):
        real = [
            e["id"]
            for folder in ("INBOX", "Drafts")
            for e in structured(
                portal.call(bounded_call, session, "search_emails", {"folder": folder})
            )["emails"]
        ]

        answers = answer_every_call(portal, session, calls(real))
    assert answers["ok"] >= 10 and answers["refused"] >= 10, answers
