"""Attacks on the filters family through the real MCP client, against Dovecot's Pigeonhole.

Each test is one behaviour the family promises (issue 19): it edits only the active
script, keeps the web interface's rules and hand-written Sieve exactly, keeps one vacation
rule, turns a concurrent change into a conflict, lets a forward go only where
MAILBOX_SEND_ALLOW allows, names the closest folder for a typo, and answers in plain
sentences. Most of them failed when written; the two guards at the end (a change by
another client during an edit, any script the server accepts) passed and are tested
nowhere else.
"""

from __future__ import annotations

import re
from typing import Any

import anyio
import pytest
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from protocol.errors import MailError
from tests.e2e import test_filters
from tests.e2e.test_diagnose import run as run_diagnose
from tests.e2e.test_filters import (
    SCRIPT,
    WEBMAIL,
    _endpoint,
    active_script,
    arrives,
    assert_webmail_rules_kept,
    call,
    subjects_in,
)
from tests.faults.proxy import FaultProxy
from tests.mailbox import Mailbox
from tests.mcp_client import mcp_session, structured, text_of
from tests.security.test_fuzz_mail import bounded_call
from tests.security.test_fuzz_mail_tools import CRASHES, LEAKS
from tests.servers.smtp import SmtpServer
from workers.sieve.client import SieveClient, connect

pytestmark = [pytest.mark.anyio, pytest.mark.tool_families("mail", "filters")]

# The fixture `sieve`: our own ManageSieve session, with the webmail's script active.
sieve = test_filters.sieve

FLAG_RULE = {
    "name": "Mine",
    "conditions": [{"field": "subject", "value": "mine"}],
    "actions": [{"type": "flag"}],
}


# -- the scripts another client may have left active -----------------------------------------

# Valid Sieve as RFC 5228 writes it (CRLF line ends), with a multi-line text: literal, as
# Roundcube, Thunderbird's editor and others write a vacation text.
TEXT_LITERAL_IN_CRLF = (
    'require ["vacation"];\r\n'
    'if header :contains "Subject" "help" {\r\n'
    "  vacation :days 1 text:\r\n"
    "I am away.\r\n"
    ".\r\n"
    ";\r\n"
    "}\r\n"
)

# A script written by hand in another client: a filing rule and an unconditional vacation.
HAND_WRITTEN_VACATION = (
    'require ["vacation", "fileinto"];\r\n'
    'if header :contains "Subject" "invoice" { fileinto "Junk"; }\r\n'
    'vacation :days 1 :subject "Away" "I am away (written by hand).";\r\n'
)

# The webmail's vacation rule with one standard argument more (RFC 5230 :handle) and no
# time frame: the flag line is OX's, but these tools cannot read the rule.
_FRAME = (
    'allof ( currentdate :zone "+0100" :value "ge" "date" "2026-02-02" , '
    'currentdate :zone "+0100" :value "le" "date" "2026-02-13" )'
)
UNREADABLE_VACATION = WEBMAIL.replace(_FRAME, "true").replace(
    ":days 7 :addresses", ':days 7 :handle "away" :addresses'
)


# -- what the script keeps ---------------------------------------------------------------


async def test_an_active_script_with_a_text_literal_in_crlf_lines_can_be_listed(
    mailbox: Mailbox, sieve: SieveClient
) -> None:
    await sieve.put_script(SCRIPT, TEXT_LITERAL_IN_CRLF)  # Pigeonhole accepts it
    async with mailbox.session() as session:
        answer = await session.call_tool("list_filters", {})
    # Found: "The active Sieve script cannot be read (Unexpected character ':' on line 3)"
    # -- the tokenizer wants "text:" followed by LF, so every tool refuses the script.
    listed = structured(answer)
    assert [(r["read_only"], r["raw"]) for r in listed["rules"]] == [
        (True, TEXT_LITERAL_IN_CRLF.split("\r\n", 1)[1])
    ]


async def test_set_vacation_adds_no_second_vacation_beside_a_hand_written_one(
    mailbox: Mailbox, sieve: SieveClient
) -> None:
    await sieve.put_script(SCRIPT, HAND_WRITTEN_VACATION)
    async with mailbox.session() as session:
        await session.call_tool("set_vacation", {"enabled": True, "subject": "New", "body": "Off."})
    text = (await active_script(sieve))[1]
    arrives(mailbox, "Your invoice", sender="ben@example.org")
    # Found: a second, OX-style vacation rule is put first; two vacation actions make the
    # script fail at delivery, so the user's own rule no longer files anything.
    assert len(re.findall(r"^\s*vacation\b", text, re.MULTILINE)) <= 1
    assert subjects_in(mailbox, "Junk") == ["Your invoice"]


async def test_turning_off_a_vacation_rule_it_cannot_read_does_not_leave_it_replying(
    mailbox: Mailbox, sieve: SieveClient
) -> None:
    await sieve.put_script(SCRIPT, UNREADABLE_VACATION)
    async with mailbox.session() as session:
        answer = await session.call_tool("set_vacation", {"enabled": False})
    before = len(mailbox.dovecot.sent_by_sieve())
    arrives(mailbox, "Hello", sender="ben@example.org")
    replies = mailbox.dovecot.sent_by_sieve()[before:]
    # Found: "There was no vacation reply; nothing was changed." as a success (and
    # get_vacation says "off"), while the webmail's rule goes on answering every sender.
    assert answer.is_error or replies == [], text_of(answer)


async def test_moving_a_rule_first_keeps_the_comment_above_a_hand_written_rule_with_it(
    mailbox: Mailbox, sieve: SieveClient
) -> None:
    async with mailbox.session() as session:
        created = await call(session, "create_filter", **FLAG_RULE)
        await call(session, "update_filter", id=created["id"], position=0)
    # Found: rules move between fixed places while the text between them stays, so
    # "# Written by hand in a Sieve editor ..." now heads "Polite refusal".
    assert_webmail_rules_kept((await active_script(sieve))[1])


async def test_another_client_activating_its_script_during_an_edit_is_a_conflict(
    mailbox: Mailbox, sieve: SieveClient, managesieve_port: int
) -> None:
    await sieve.put_script("Other", "keep;\r\n")
    with FaultProxy("127.0.0.1", managesieve_port) as proxy:
        env = {**mailbox.env, "MAILBOX_SIEVE_PORT": str(proxy.port), "MAILBOX_CALL_TIMEOUT": "120"}
        async with mcp_session(env, mailbox.folder / "err.log") as session:
            await call(session, "list_filters")  # a logged-in session waits in the pool
            proxy.add_latency(1.0)  # each round trip 2 s: LIST, GET, CHECK, GET, PUT
            answers = []

            async def create() -> None:
                answers.append(await session.call_tool("create_filter", FLAG_RULE))

            async with anyio.create_task_group() as tg:
                tg.start_soon(create)
                await anyio.sleep(4.5)  # after the first read, well before the PUTSCRIPT
                await sieve.set_active("Other")
            proxy.pass_through()  # a quick goodbye
    active, text = await active_script(sieve)
    # Found: the rule is written into 'Open-Xchange', no longer active, and the answer
    # says "Saved rule 'Mine' ... in the script 'Open-Xchange'".
    assert answers[0].is_error or "Rulename: Mine" in text, (active, text_of(answers[0]))


# -- what is refused, and how --------------------------------------------------------------


async def test_turning_on_a_forward_outside_send_allow_is_refused(
    mailbox: Mailbox, sieve: SieveClient
) -> None:
    mailbox.env["MAILBOX_SEND_ALLOW"] = "example.org"
    async with mailbox.session() as session:
        # The webmail's disabled rule 4 forwards every message to jane@example.net.
        answer = await session.call_tool("update_filter", {"id": "4", "enabled": True})
    # Found: accepted: only the actions given in the call are checked, not the ones kept.
    assert answer.is_error and "MAILBOX_SEND_ALLOW" in text_of(answer), text_of(answer)
    assert (await active_script(sieve))[1] == WEBMAIL


async def test_a_position_counts_the_rules_list_filters_shows(
    mailbox: Mailbox, sieve: SieveClient
) -> None:
    async with mailbox.session() as session:
        await call(session, "update_filter", id="5", position=1)
        listed = await call(session, "list_filters")
    # Found: positions count the vacation rule, which list_filters does not show, so
    # position 1 makes the rule the first one listed.
    assert [rule["id"] for rule in listed["rules"]][1] == "5"


async def test_a_folder_differing_only_in_case_is_named_as_the_closest(
    mailbox: Mailbox, sieve: SieveClient
) -> None:
    rule = {**FLAG_RULE, "actions": [{"type": "move", "folder": "ARCHIVE"}]}
    async with mailbox.session() as session:
        answer = await session.call_tool("create_filter", rule)
    # Found: "there is no folder 'ARCHIVE'; create it with create_directory." -- the
    # closeness is case-sensitive, so the model is told to make a second Archive.
    assert answer.is_error and "did you mean 'Archive'?" in text_of(answer), text_of(answer)


async def test_a_rule_id_in_an_error_reads_as_given_not_as_a_python_repr(
    mailbox: Mailbox, sieve: SieveClient
) -> None:
    async with mailbox.session() as session:
        answer = await session.call_tool("delete_filter", {"id": "a\\b"})
    # Found: "There is no filter rule with id 'a\\\\b'" -- the backslash doubled by repr().
    assert answer.is_error
    assert "a\\b" in text_of(answer) and "a\\\\b" not in text_of(answer), text_of(answer)


async def test_turning_off_a_vacation_when_there_is_none_claims_no_save(mailbox: Mailbox) -> None:
    async with mailbox.session() as session:
        answer = await session.call_tool("set_vacation", {"enabled": False})
    # Found: "Vacation reply: off. Saved in the script ''. There was no vacation reply;
    # nothing was changed." -- a save that did not happen, into a script with no name.
    assert "Saved" not in text_of(answer) and "''" not in text_of(answer), text_of(answer)


async def test_diagnose_advises_the_sieve_port_when_another_service_answers_there(
    server_env: dict[str, str], smtp: SmtpServer
) -> None:
    server_env["MAILBOX_SIEVE_PORT"] = str(smtp.plaintext_port)  # greets with "220 ..."
    report = await anyio.to_thread.run_sync(run_diagnose, server_env)
    failed = report.lines["sieve tls"]
    # Found: "sent an answer we could not read (an answer that was neither OK, NO nor BYE)"
    # with the advice "Run --diagnose again in a minute; ... the server may be down".
    assert failed.status == "FAIL"
    assert "MAILBOX_SIEVE_PORT" in failed.advice, failed


# -- guards: attacks that passed -----------------------------------------------------------


async def test_a_change_another_client_makes_during_an_edit_is_a_conflict_not_overwritten(
    mailbox: Mailbox, sieve: SieveClient, managesieve_port: int
) -> None:
    theirs = WEBMAIL + (
        "\r\n## Flag: |UniqueId:40|Rulename: Theirs\r\nif true \r\n{\r\n    stop ;\r\n}\r\n"
    )
    with FaultProxy("127.0.0.1", managesieve_port) as proxy:
        env = {**mailbox.env, "MAILBOX_SIEVE_PORT": str(proxy.port), "MAILBOX_CALL_TIMEOUT": "120"}
        async with mcp_session(env, mailbox.folder / "err.log") as session:
            await call(session, "list_filters")
            proxy.add_latency(1.0)
            answers = []

            async def create() -> None:
                answers.append(await session.call_tool("create_filter", FLAG_RULE))

            async with anyio.create_task_group() as tg:
                tg.start_soon(create)
                await anyio.sleep(4.5)  # between our first read and the re-read
                await sieve.put_script(SCRIPT, theirs)
            proxy.pass_through()  # a quick goodbye
    assert answers[0].is_error and "changed elsewhere" in text_of(answers[0])
    assert await active_script(sieve) == (SCRIPT, theirs)


# Pieces of scripts other clients write: OX rules, hand-written Sieve, text: literals,
# disabled blocks, comments; each may get a flag line with any id and name.
_PIECES = [
    'if header :contains "Subject" "a" {{{n}    fileinto "Junk" ;{n}}}{n}',
    'if anyof ( header :is "From" "x@example.org" , size :over 100K ) {{{n}    discard ;{n}}}{n}',
    'if address :domain :is "from" "example.com" {{ fileinto :copy "Archive"; stop; }}{n}',
    'if header :matches "X-Spam" "*" {{ addflag ["\\\\Seen", "\\\\Flagged"]; }}{n}',
    'if true {{ redirect "jane@example.net"; }}{n}',
    'if header :contains "Subject" "x" {{ keep; }} elsif true {{ stop; }} else {{ keep; }}{n}',
    'vacation :days 3 :subject "Away" "Gone.";{n}',
    "if true {{{n}    vacation :days 3 text:{n}Gone.{n}..dot{n}.{n};{n}}}{n}",
    'if true {{ vacation :days 1 :handle "h" :addresses ["a@example.org"] "x"; }}{n}',
    'if header :contains "Subject" "r" {{ reject "No."; }}{n}',
    "/* a bracket comment {n} over lines */ if true {{ keep; }}{n}",
    "# just a comment{n}",
    "#<!-->if true {n}#<!-->{{{n}#<!-->    stop ;{n}#<!-->}}{n}",
    "#<!-->if broken {{{n}",
    "{n}",
]
# Names are echoed in some refusals, so they hold nothing the checks below look for.
_NAMES = st.text(
    st.characters(
        whitelist_categories=("L", "N", "Zs", "Pd", "Po", "Sm", "So"),
        blacklist_characters="'\"(){}<>",
    ),
    max_size=30,
) | st.sampled_from(["vacation notice", "|UniqueId:3|Rulename: x", "#<!-->", " "])
_FLAG_LINES = st.builds(
    lambda flags, rule_id, name: f"## Flag: {flags}|UniqueId:{rule_id}|Rulename: {name}{{n}}",
    st.sampled_from(["", "vacation", "autoforward", "spam,vacation"]),
    st.integers(0, 12) | st.sampled_from([2**31 - 1, 2**31, " 3 ", "x", ""]),
    _NAMES,
)
_RULES = st.tuples(st.none() | _FLAG_LINES, st.sampled_from(_PIECES)).map(
    lambda pair: (pair[0] or "") + pair[1]
)
SCRIPTS = st.builds(
    lambda newline, rules: (
        '# Generated by OX Sieve Bundle on Mon Jan 12 09:41:07 CET 2026{n}require [ "fileinto" ,'
        ' "vacation" , "imap4flags" , "copy" , "reject" ];{n}{n}' + "{n}".join(rules)
    ).format(n=newline),
    st.sampled_from(["\r\n", "\n"]),
    st.lists(_RULES, max_size=6),
)
# What must never reach the model: a crash, a repr, the wire.
WIRE = re.compile(r'\bNO \(|\bOK "|\bNO "|\bBYE\b|\{\d+\+?\}|Struct\(|object at')


def test_any_script_the_server_accepts_gets_answers_in_our_words(
    mailbox: Mailbox, managesieve_port: int
) -> None:
    mailbox.env["MAILBOX_RATE_LIMIT_SIEVE"] = "0"
    with (
        start_blocking_portal("asyncio") as portal,
        portal.wrap_async_context_manager(mailbox.session()) as session,
    ):
        client = portal.call(connect, _endpoint(mailbox.dovecot, managesieve_port, mailbox.account))
        outcomes = {"accepted": 0, "errors": 0}

        def answer(tool: str, args: dict[str, Any]) -> Any:
            result = portal.call(bounded_call, session, tool, args)
            text = text_of(result)
            assert text.strip(), f"an empty answer to {tool}"
            if result.is_error:
                outcomes["errors"] += 1
                found = CRASHES.search(text) or LEAKS.search(text) or WIRE.search(text)
                assert found is None, f"{tool}({args!r}) answered {text!r}"
            return result

        @settings(
            max_examples=30,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        @given(script=SCRIPTS)
        def in_our_words(script: str) -> None:
            try:
                portal.call(client.put_script, SCRIPT, script)
                portal.call(client.set_active, SCRIPT)
            except MailError:
                assume(False)  # not Sieve to the server either
            outcomes["accepted"] += 1
            listed = answer("list_filters", {})
            ids = [r["id"] for r in (listed.structured_content or {}).get("rules", []) if r["id"]]
            answer("get_vacation", {})
            answer("create_filter", FLAG_RULE)
            answer("update_filter", {"id": ids[0] if ids else "1", "enabled": False})
            answer("delete_filter", {"id": ids[-1] if ids else "2"})
            answer("set_vacation", {"enabled": False})

        try:
            in_our_words()
        finally:
            portal.call(client.aclose)
    assert outcomes["accepted"] >= 10, outcomes
