"""Network faults between the workers and real servers, through a real MCP client.

A FaultProxy sits in front of Dovecot, the SMTP server and Radicale; the
workers are pointed at the proxies (host names stay "localhost" so TLS still
verifies) and each test breaks the network or a server in one way and checks
what the user is told.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import mcp_types as types
import pytest

from tests.faults.proxy import FaultProxy
from tests.imap_client import other_client
from tests.mail_factory import deliver, message
from tests.mailbox import Mailbox
from tests.mcp_client import error_text, mcp_session, structured, text_of
from tests.servers.dav import DavAccount, DavServer
from tests.servers.dovecot import Account, DovecotServer
from tests.servers.smtp import SmtpBehaviour, SmtpServer

pytestmark = [pytest.mark.anyio, pytest.mark.tool_families("mail", "calendar")]

ICS = Path(__file__).resolve().parent.parent / "data" / "ics"
# Long enough for TLS, a login and a search over the proxy on a busy two-core machine.
CALL_LIMIT = 20.0
CALL_TIMEOUT = 4.0  # MAILBOX_CALL_TIMEOUT where a test waits for it to expire
STALE_NOTE = re.compile(r"could not be reached .* from \d+ seconds ago and may be out of date")
POOL_MAX = 4
TITLES = [f"Message {n}" for n in range(5)]
MARCH = {"start": "2026-03-01", "end": "2026-03-31"}


@pytest.fixture
def imap_proxy(dovecot: DovecotServer) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", dovecot.imaps_port) as proxy:
        yield proxy


@pytest.fixture
def smtp_proxy(smtp: SmtpServer) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", smtp.tls_port) as proxy:
        yield proxy


@pytest.fixture
def dav_proxy(dav_servers: dict[str, DavServer]) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", dav_servers["radicale"].port) as proxy:
        yield proxy


@pytest.fixture
def proxied(
    mailbox: Mailbox,
    imap_proxy: FaultProxy,
    smtp_proxy: FaultProxy,
    dav_proxy: FaultProxy,
) -> Mailbox:
    """The mailbox, its server's IMAP, SMTP and CalDAV each going through its own proxy."""
    dav = urlsplit(mailbox.env["MAILBOX_CALDAV_URL"])
    mailbox.env |= {
        "MAILBOX_IMAP_PORT": str(imap_proxy.port),
        "MAILBOX_SMTP_PORT": str(smtp_proxy.port),
        "MAILBOX_CALDAV_URL": urlunsplit(dav._replace(netloc=f"localhost:{dav_proxy.port}")),
    }
    return mailbox


async def timed_call(session: Any, tool: str, **args: Any) -> tuple[types.CallToolResult, float]:
    """The raw result of one call and how many seconds it took."""
    began = time.monotonic()
    with anyio.fail_after(CALL_LIMIT):
        result = await session.call_tool(tool, args)
    return result, time.monotonic() - began


async def call(session: Any, tool: str, **args: Any) -> Any:
    result, _seconds = await timed_call(session, tool, **args)
    return structured(result)


def subjects(found: Any) -> list[str]:
    return [e["subject"] for e in found["emails"]]


def put_ics(server: DavServer, account: Account, *names: str) -> None:
    login = DavAccount(account.email, account.password, server.url)
    for name in names:
        server.put_object(login, name, (ICS / name).read_text())


# -- a server restarts --------------------------------------------------------------


@pytest.mark.parametrize("tool", ["search_emails", "get_email"])
async def test_after_dovecot_restarts_the_very_next_call_reconnects_and_answers_fresh(
    proxied: Mailbox, imap_proxy: FaultProxy, tool: str
) -> None:
    with proxied.imap() as imap:
        deliver(imap, "INBOX", message("Before the restart", body="Old news."))
    async with proxied.session() as session:
        (before,) = (await call(session, "search_emails", folder="INBOX"))["emails"]
        connections = imap_proxy.connections_accepted
        proxied.dovecot.restart()  # ends every open IMAP session, as a real restart does
        with proxied.imap() as imap:
            deliver(imap, "INBOX", message("After the restart"))
        if tool == "search_emails":
            result, _seconds = await timed_call(session, "search_emails", folder="INBOX")
        else:
            result, _seconds = await timed_call(session, "get_email", id=before["id"])
    assert not result.is_error and "Note:" not in text_of(result), text_of(result)
    if tool == "search_emails":
        assert sorted(subjects(structured(result))) == ["After the restart", "Before the restart"]
    else:
        assert structured(result)["body"] == "Old news."
    assert imap_proxy.connections_accepted > connections  # it did reconnect


async def test_after_radicale_restarts_the_next_calls_reconnect_and_answer_fresh(
    proxied: Mailbox, dav_servers: dict[str, DavServer]
) -> None:
    radicale = dav_servers["radicale"]
    put_ics(radicale, proxied.account, "new-york-call.ics")
    async with proxied.session() as session:
        (calendar,) = (await call(session, "list_calendars"))["calendars"]
        before = await call(session, "get_calendar_events", **MARCH)
        radicale.stop()
        radicale.start()  # on the same port
        put_ics(radicale, proxied.account, "until-utc.ics")
        after, _seconds = await timed_call(session, "get_calendar_events", **MARCH)
        listed = await call(session, "list_calendars")
    assert [e["summary"] for e in before["events"]] == ["Call with New York"]
    assert "Note:" not in text_of(after), text_of(after)
    summaries = {e["summary"] for e in structured(after)["events"]}
    assert summaries == {"Call with New York", "Weekly review"}
    assert listed["calendars"] == [calendar]


# -- the network goes silent -----------------------------------------------------------


async def test_a_blackholed_imap_server_gives_the_cache_marked_stale_or_a_timeout_in_time(
    proxied: Mailbox, imap_proxy: FaultProxy
) -> None:
    proxied.env["MAILBOX_CALL_TIMEOUT"] = str(CALL_TIMEOUT)
    proxied.env["MAILBOX_CACHE_EMAIL_TTL"] = "3600"
    with proxied.imap() as imap:
        deliver(imap, "INBOX", message("Listed before"))
        deliver(imap, "INBOX", message("Never opened"))
    async with proxied.session() as session:
        listed = await call(session, "search_emails", folder="INBOX")
        unopened = next(e["id"] for e in listed["emails"] if e["subject"] == "Never opened")
        imap_proxy.blackhole()
        stale, stale_seconds = await timed_call(session, "search_emails", folder="INBOX")
        failed, failed_seconds = await timed_call(session, "get_email", id=unopened)
        imap_proxy.pass_through()
        opened = await call(session, "get_email", id=unopened)
    assert STALE_NOTE.search(text_of(stale)), text_of(stale)
    assert structured(stale) == listed
    assert stale_seconds < CALL_TIMEOUT + 2
    assert re.search(r"did not (answer in time|finish within)", error_text(failed))
    assert failed_seconds < CALL_TIMEOUT + 2
    assert opened["subject"] == "Never opened"


async def test_while_imap_is_blackholed_a_change_fails_at_once_and_nothing_is_changed(
    proxied: Mailbox, imap_proxy: FaultProxy
) -> None:
    proxied.env["MAILBOX_CALL_TIMEOUT"] = str(CALL_TIMEOUT)
    with proxied.imap() as imap:
        deliver(imap, "INBOX", message("Keep me unflagged"))
    async with proxied.session() as session:
        (listed,) = (await call(session, "search_emails", folder="INBOX"))["emails"]
        imap_proxy.blackhole()
        await timed_call(session, "get_folders")  # finds the server gone, within its deadline
        refused, refused_seconds = await timed_call(
            session, "mark_email", ids=[listed["id"]], flagged=True
        )
        imap_proxy.pass_through()
        await call(session, "get_folders")  # gets through: changes are allowed again
        marked = await call(session, "mark_email", ids=[listed["id"]], read=True)
    assert error_text(refused).startswith(
        "Nothing was changed: the IMAP server could not be reached"
    )
    assert refused_seconds < 1.0
    assert marked["updated"] == [listed["id"]]
    with proxied.imap() as imap:
        imap.select_folder("INBOX")
        (flags,) = imap.get_flags(imap.search("ALL")).values()
    assert b"\\Flagged" not in flags and b"\\Seen" in flags


# -- the connection is cut while sending -----------------------------------------------


async def test_an_smtp_connection_cut_after_the_message_data_says_may_have_been_sent_and_sends_once(
    proxied: Mailbox, smtp: SmtpServer, smtp_proxy: FaultProxy
) -> None:
    # The client speaks TLS, so the proxy cannot find the end of DATA in the bytes it
    # forwards. The server tells it instead: once the whole message is in (and delivered),
    # the proxy resets the connection before the server's "250 queued" goes back.
    smtp.behaviour = SmtpBehaviour(after_delivery=smtp_proxy.cut_all)
    async with proxied.session() as session:
        result, _seconds = await timed_call(
            session, "send_email", to=[proxied.account.email], subject="Cut once", body="Only once."
        )
        smtp.behaviour = SmtpBehaviour()
        inbox = await call(session, "search_emails", folder="INBOX")
    text = error_text(result)
    assert "may have been sent" in text and "ask a recipient whether it arrived" in text
    assert subjects(inbox) == ["Cut once"]
    assert len(smtp.messages_for(proxied.account.email)) == 1
    assert smtp_proxy.connections_accepted == 1  # no second connection: nothing resent


# -- many calls at once ----------------------------------------------------------------


def mixed_reads(ids: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """Fifty reads of every kind; each answer can be told apart from the others."""
    calls: list[tuple[str, dict[str, Any]]] = []
    for n in range(10):
        title = TITLES[n % len(TITLES)]
        calls += [
            ("get_email", {"id": ids[title]}),
            ("search_emails", {"subject": title}),
            ("get_folders", {}),
            ("list_calendars", {}),
            ("get_calendar_events", MARCH),
        ]
    return calls


def check_answer(tool: str, args: dict[str, Any], got: Any) -> None:
    match tool:
        case "get_email":
            assert got["id"] == args["id"] and got["body"] == f"Body of {got['subject']}."
        case "search_emails":
            assert subjects(got) == [args["subject"]]
        case "get_folders":
            assert {"INBOX", "Sent", "Trash"} <= {f["name"] for f in got["folders"]}
        case "list_calendars":
            assert [c["name"] for c in got["calendars"]] == ["Calendar"]
        case "get_calendar_events":
            assert [e["summary"] for e in got["events"]] == ["Call with New York"]


async def burst(
    env: dict[str, str],
    log_path: Path,
    dovecot: DovecotServer,
    radicale: DavServer,
    account: Account,
    proxies: tuple[FaultProxy, ...],
) -> tuple[list[tuple[str, dict[str, Any]]], list[types.CallToolResult], dict[str, Any]]:
    """Fire ``mixed_reads`` at once through one session over slowed links, pools of
    POOL_MAX; returns the calls, their answers in the same order, and the workers'
    metrics once the burst is over."""
    env = {
        **env,
        "MAILBOX_IMAP_POOL_MAX": str(POOL_MAX),
        "MAILBOX_CALDAV_POOL_MAX": str(POOL_MAX),
        "MAILBOX_HEARTBEAT_INTERVAL": "0.2",
    }
    with other_client(dovecot, account) as imap:
        for title in TITLES:
            deliver(imap, "INBOX", message(title, body=f"Body of {title}."))
    put_ics(radicale, account, "new-york-call.ics")
    async with mcp_session(env, log_path) as session:
        ids = {e["subject"]: e["id"] for e in (await call(session, "search_emails"))["emails"]}
        calls = mixed_reads(ids)
        for proxy in proxies:
            proxy.add_latency(0.02)  # every round trip takes 40 ms: the pools must queue
        answers: dict[int, types.CallToolResult] = {}

        async def one(index: int, tool: str, args: dict[str, Any]) -> None:
            answers[index] = await session.call_tool(tool, args)

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for index, (tool, args) in enumerate(calls):
                    tg.start_soon(one, index, tool, args)
        metrics = await settled_metrics(session, {"imap": 30, "dav": 20})
    return calls, [answers[i] for i in range(len(calls))], metrics


async def settled_metrics(session: Any, served_at_least: dict[str, int]) -> dict[str, Any]:
    """The workers' metrics from a heartbeat after they served that many requests."""
    with anyio.fail_after(10):
        while True:
            status = await call(session, "server_status")
            metrics = {w["name"]: w["metrics"] for w in status["workers"]}
            if all(
                metrics[name].get("requests_served", 0) >= count
                and metrics[name].get("requests_in_flight") == 0
                for name, count in served_at_least.items()
            ):
                return metrics
            await anyio.sleep(0.1)  # the next heartbeat brings new numbers


async def test_fifty_concurrent_calls_over_pools_of_four_queue_and_each_gets_its_own_answer_without_extra_connections(
    proxied: Mailbox,
    dav_servers: dict[str, DavServer],
    imap_proxy: FaultProxy,
    dav_proxy: FaultProxy,
) -> None:
    calls, answers, metrics = await burst(
        proxied.env,
        proxied.folder / "err.log",
        proxied.dovecot,
        dav_servers["radicale"],
        proxied.account,
        (imap_proxy, dav_proxy),
    )
    for (tool, args), answer in zip(calls, answers, strict=True):
        check_answer(tool, args, structured(answer))
    assert metrics["imap"]["pool_waits"] > 0 and metrics["dav"]["pool_waits"] > 0
    assert metrics["dav"]["pool_opened"] <= POOL_MAX
    assert metrics["imap"]["pool_opened"] <= POOL_MAX
    assert imap_proxy.connections_accepted <= POOL_MAX
