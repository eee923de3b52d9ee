"""Filters and the vacation reply through a real MCP client, against Dovecot's Pigeonhole.

Before each test the account has the web interface's script active (several rules, one
off, a vacation rule, rules these tools cannot express): after every tool those rules
are byte-identical, in order, and the script is still the active one. A rule is proven
by where a message delivered over LMTP lands; a vacation reply by what Sieve sent.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from protocol.writing import outside_allowed
from tests.mailbox import Mailbox
from tests.mcp_client import error_text, structured
from tests.servers.dovecot import Account, DovecotServer
from workers.sieve.client import SieveClient, SieveEndpoint, connect

pytestmark = [pytest.mark.anyio, pytest.mark.tool_families("mail", "filters")]

WEBMAIL = (Path(__file__).parents[1] / "data" / "sieve" / "ox-webmail.sieve").read_bytes().decode()
SCRIPT = "Open-Xchange"
# Each rule of the webmail's script, from its flag line (or comment) to its closing brace.
WEBMAIL_RULES = re.findall(
    r"(?:## Flag:|# Written by hand)[^\n]*\n(?:.*\n)*?(?:#<!-->)?\}\r?\n", WEBMAIL
)


def _endpoint(dovecot: DovecotServer, port: int, account: Account) -> SieveEndpoint:
    return SieveEndpoint(
        host="localhost",
        port=port,
        username=account.email,
        password=account.password,
        ca_file=str(dovecot.certificates.ca_file),
    )


@pytest.fixture
async def sieve(
    dovecot: DovecotServer, managesieve_port: int, account: Account
) -> AsyncIterator[SieveClient]:
    """A ManageSieve session of our own, with the webmail's script already active."""
    async with await connect(_endpoint(dovecot, managesieve_port, account)) as client:
        await client.put_script(SCRIPT, WEBMAIL)
        await client.set_active(SCRIPT)
        yield client


async def active_script(client: SieveClient) -> tuple[str, str]:
    (active,) = [s.name for s in await client.list_scripts() if s.active]
    return active, await client.get_script(active)


def assert_webmail_rules_kept(text: str, rules: list[str] = WEBMAIL_RULES) -> None:
    """Every rule of the webmail's script is still there, byte for byte and in order."""
    assert len(WEBMAIL_RULES) == 9
    positions = [text.find(rule) for rule in rules]
    lost = [rule[:40] for rule, at in zip(rules, positions, strict=True) if at < 0]
    assert not lost
    assert positions == sorted(positions)


def mail_to(account: Account, subject: str, sender: str = "anna@example.test") -> bytes:
    return (
        f"From: Anna <{sender}>\r\nTo: {account.email}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{secrets.token_hex(8)}@example.test>\r\n\r\nHello.\r\n"
    ).encode()


def arrives(
    mailbox: Mailbox, subject: str, sender: str = "anna@example.test", header: bytes = b""
) -> None:
    """A mail from ``sender`` (with ``header`` line more) arrives over LMTP, as the
    provider's MTA delivers it: the active Sieve script decides where it lands."""
    raw = mail_to(mailbox.account, subject, sender)
    mailbox.dovecot.deliver(mailbox.account, header + b"\r\n" + raw if header else raw, sender)


def subjects_in(mailbox: Mailbox, folder: str) -> list[str]:
    with mailbox.imap() as imap:
        imap.select_folder(folder, readonly=True)
        fetched = imap.fetch(imap.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
    return [
        data[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip()
        for data in fetched.values()
    ]


async def call(session: Any, tool: str, **arguments: Any) -> Any:
    return structured(await session.call_tool(tool, arguments))


async def test_list_filters_shows_the_webmail_rules_in_order_with_the_vacation_reply(
    mailbox: Mailbox, sieve: SieveClient
) -> None:
    async with mailbox.session() as session:
        listed = await call(session, "list_filters")
    names = [rule["name"] for rule in listed["rules"]]
    assert names[:4] == ["Newsletters", "Boss", "Old project", "autoforward"]
    assert listed["active_script"] == SCRIPT
    newsletters = listed["rules"][0]
    assert (newsletters["id"], newsletters["match_all"]) == ("1", False)
    assert newsletters["actions"] == [
        {"type": "move", "folder": "INBOX/Newsletters"},
        {"type": "mark_read"},
        {"type": "stop"},
    ]
    assert [r["enabled"] for r in listed["rules"][:4]] == [True, True, False, False]
    hand_written = [r for r in listed["rules"] if r["read_only"]]
    assert any("reject" in (r["raw"] or "") for r in hand_written)
    assert any('address :domain :is "from" "example.com"' in (r["raw"] or "") for r in hand_written)
    assert listed["vacation"]["enabled"] is True
    assert listed["vacation"]["start"] == "2026-02-02"
    assert_webmail_rules_kept((await active_script(sieve))[1])


async def test_a_new_rule_files_delivered_mail_and_shows_in_the_webmail_format(
    mailbox: Mailbox, sieve: SieveClient
) -> None:
    rule = {
        "name": "Invoices",
        "conditions": [{"field": "subject", "value": "invoice"}],
        "actions": [{"type": "move", "folder": "Taxes"}],
    }
    async with mailbox.session() as session:
        await call(session, "create_directory", name="Taxes")
        created = await call(session, "create_filter", **rule)
    arrives(mailbox, "Your invoice for March")
    arrives(mailbox, "Lunch?")
    assert subjects_in(mailbox, "Taxes") == ["Your invoice for March"]
    assert subjects_in(mailbox, "INBOX") == ["Lunch?"]
    active, text = await active_script(sieve)
    assert active == SCRIPT and created["id"] == "8"
    assert_webmail_rules_kept(text)
    assert "## Flag: |UniqueId:8|Rulename: Invoices\r\n" in text
    assert 'fileinto "Taxes" ;' in text


async def test_changing_and_deleting_a_rule_touch_only_that_rule(
    mailbox: Mailbox, sieve: SieveClient
) -> None:
    async with mailbox.session() as session:
        created = await call(
            session,
            "create_filter",
            name="Receipts",
            conditions=[{"field": "from", "value": "shop@example.org", "match": "is"}],
            actions=[{"type": "flag"}],
        )
        await call(session, "update_filter", id=created["id"], name="Shop", enabled=False)
        changed = (await active_script(sieve))[1]
        await call(session, "delete_filter", id=created["id"])
        listed = await call(session, "list_filters")
    assert f"## Flag: |UniqueId:{created['id']}|Rulename: Shop\r\n#<!-->if header" in changed
    assert "Shop" not in [r["name"] for r in listed["rules"]]
    assert (await active_script(sieve))[1] == WEBMAIL


async def test_a_folder_typo_is_refused_with_the_closest_name_and_nothing_changes(
    mailbox: Mailbox, sieve: SieveClient
) -> None:
    async with mailbox.session() as session:
        await call(session, "create_directory", name="Receipts")
        answer = await session.call_tool(
            "create_filter",
            {
                "name": "Shop",
                "conditions": [{"field": "subject", "value": "order"}],
                "actions": [{"type": "move", "folder": "Reciepts"}],
            },
        )
    assert answer.is_error
    assert error_text(answer) == (
        "Nothing was changed: there is no folder 'Reciepts'; did you mean 'Receipts'?"
    )
    assert (await active_script(sieve))[1] == WEBMAIL


async def test_a_forward_outside_send_allow_is_refused_and_nothing_changes(
    mailbox: Mailbox, sieve: SieveClient
) -> None:
    mailbox.env["MAILBOX_SEND_ALLOW"] = "example.org"
    assert outside_allowed(["eve@evil.example"], ("example.org",)) == ["eve@evil.example"]
    async with mailbox.session() as session:
        answer = await session.call_tool(
            "create_filter",
            {
                "name": "Leak",
                "conditions": [{"field": "subject", "value": "password"}],
                "actions": [{"type": "forward", "address": "eve@evil.example"}],
            },
        )
    assert answer.is_error and "MAILBOX_SEND_ALLOW" in error_text(answer)
    assert (await active_script(sieve))[1] == WEBMAIL


async def test_the_vacation_reply_replaces_the_webmail_one_and_answers_a_sender_once_not_a_list(
    mailbox: Mailbox, sieve: SieveClient
) -> None:
    before = len(mailbox.dovecot.sent_by_sieve())
    async with mailbox.session() as session:
        written = await call(
            session,
            "set_vacation",
            enabled=True,
            subject="Away",
            body="I am away until Monday.",
            addresses=[mailbox.account.email],
        )
        read = await call(session, "get_vacation")
    arrives(mailbox, "Question", sender="ben@example.org")
    arrives(mailbox, "Another one", sender="ben@example.org")
    arrives(
        mailbox, "[team] news", sender="list@example.org", header=b"List-Id: <team.example.org>"
    )
    replies = mailbox.dovecot.sent_by_sieve()[before:]
    assert written["vacation"]["enabled"] and read["subject"] == "Away"
    assert len(replies) == 1 and replies[0].recipients == ["ben@example.org"]
    assert "I am away until Monday." in replies[0].message.decode()
    text = (await active_script(sieve))[1]
    assert text.count("## Flag: vacation") == 1
    assert_webmail_rules_kept(text, WEBMAIL_RULES[1:])  # all but the vacation rule


async def test_parallel_new_rules_are_all_kept(mailbox: Mailbox, sieve: SieveClient) -> None:
    async with mailbox.session() as session:

        async def create(n: int) -> None:
            await call(
                session,
                "create_filter",
                name=f"Rule {n}",
                conditions=[{"field": "subject", "value": f"topic {n}"}],
                actions=[{"type": "mark_read"}],
            )

        async with anyio.create_task_group() as tg:
            for n in range(5):
                tg.start_soon(create, n)
        listed = await call(session, "list_filters")
    names = [r["name"] for r in listed["rules"]]
    assert sorted(n for n in names if n.startswith("Rule ")) == [f"Rule {n}" for n in range(5)]
    ids = [r["id"] for r in listed["rules"] if r["id"]]
    assert len(set(ids)) == len(ids)
    assert_webmail_rules_kept((await active_script(sieve))[1])


@pytest.mark.parametrize(
    "hostile",
    ['"; discard; #', 'back\\slash \\"', "Ümläut ✉ 日本", "x" * 10_000, "} stop; if true {"],
)
async def test_hostile_names_and_values_come_back_exactly_and_add_one_rule(
    mailbox: Mailbox, hostile: str, sieve: SieveClient
) -> None:
    async with mailbox.session() as session:
        before = await call(session, "list_filters")
        created = await call(
            session,
            "create_filter",
            name=hostile[:200],
            conditions=[{"field": "header", "header": "X-Test", "value": hostile[:1000]}],
            actions=[{"type": "flag"}],
        )
        after = await call(session, "list_filters")
    (rule,) = [r for r in after["rules"] if r["id"] == created["id"]]
    assert rule["name"] == hostile[:200]
    assert rule["conditions"][0]["value"] == hostile[:1000]
    assert len(after["rules"]) == len(before["rules"]) + 1
    assert_webmail_rules_kept((await active_script(sieve))[1])


async def test_without_an_active_script_one_is_created_and_activated(
    mailbox: Mailbox, managesieve_port: int
) -> None:
    async with mailbox.session() as session:
        empty = await call(session, "list_filters")
        await call(
            session,
            "create_filter",
            name="First",
            conditions=[{"field": "to", "value": "team@"}],
            actions=[{"type": "copy", "folder": "INBOX"}],
        )
    async with await connect(
        _endpoint(mailbox.dovecot, managesieve_port, mailbox.account)
    ) as client:
        active, text = await active_script(client)
    assert empty["rules"] == [] and empty["active_script"] is None
    assert active == SCRIPT and "Rulename: First" in text
