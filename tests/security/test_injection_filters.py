"""Hostile strings in every argument of the filter tools cannot change the script's structure.

The injection suite's strings (tests/security/test_injection.py) go into rule names,
condition values, header names, folders, forward addresses, the vacation subject and
text, and rule ids. Each call is refused with one clear sentence, or what was written
reads back exactly; afterwards the web interface's rules are byte-identical, every rule
we wrote has only the action we asked for, and no ``discard`` or ``redirect`` appeared.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_filters import (
    SCRIPT,
    WEBMAIL,
    WEBMAIL_RULES,
    active_script,
    assert_webmail_rules_kept,
)
from tests.mcp_client import mcp_session, structured
from tests.security.test_injection import HOSTILE, accepted
from tests.servers.dovecot import Account, DovecotServer
from workers.sieve.client import SieveClient, SieveEndpoint, connect
from workers.sieve.rules import parse_script

pytestmark = [pytest.mark.anyio, pytest.mark.tool_families("mail", "filters")]

FLAG_ONLY = [{"type": "flag"}]
SUBJECT_X = [{"field": "subject", "value": "x"}]


@dataclass
class Filters:
    session: Any
    sieve: SieveClient


@pytest.fixture
async def filters(
    server_env: dict[str, str],
    tmp_path: Path,
    dovecot: DovecotServer,
    managesieve_port: int,
    account: Account,
) -> AsyncIterator[Filters]:
    endpoint = SieveEndpoint(
        host="localhost",
        port=managesieve_port,
        username=account.email,
        password=account.password,
        ca_file=str(dovecot.certificates.ca_file),
    )
    server_env["MAILBOX_RATE_LIMIT_SIEVE"] = "0"
    async with await connect(endpoint) as sieve:
        await sieve.put_script(SCRIPT, WEBMAIL)
        await sieve.set_active(SCRIPT)
        async with mcp_session(server_env, tmp_path / "err.log") as session:
            yield Filters(session, sieve)


def _targets(value: str) -> list[tuple[str, dict[str, Any], str | None]]:
    """(tool, arguments, the field whose value must read back) for one hostile value."""
    return [
        ("create_filter", {"name": value, "conditions": SUBJECT_X, "actions": FLAG_ONLY}, "name"),
        (
            "create_filter",
            {
                "name": "v",
                "conditions": [{"field": "subject", "value": value, "match": "matches"}],
                "actions": FLAG_ONLY,
            },
            "value",
        ),
        (
            "create_filter",
            {
                "name": "h",
                "conditions": [{"field": "header", "header": value, "value": "x"}],
                "actions": FLAG_ONLY,
            },
            None,
        ),
        (
            "create_filter",
            {"name": "f", "conditions": SUBJECT_X, "actions": [{"type": "move", "folder": value}]},
            None,
        ),
        (
            "create_filter",
            {
                "name": "a",
                "conditions": SUBJECT_X,
                "actions": [{"type": "forward", "address": value}],
            },
            None,
        ),
        ("set_vacation", {"enabled": True, "subject": value, "body": "Away."}, None),
        ("set_vacation", {"enabled": True, "subject": "Away", "body": value}, None),
        ("update_filter", {"id": value, "enabled": False}, None),
        ("delete_filter", {"id": value}, None),
    ]


async def test_hostile_strings_in_filter_arguments_are_refused_clearly_or_kept_exactly(
    filters: Filters,
) -> None:
    problems: list[str] = []
    for name, value in HOSTILE.items():
        for tool, arguments, readback in _targets(value):
            result = await accepted(filters.session, tool, arguments, f"{tool} {name}", problems)
            if result is None:
                continue
            if readback is not None:
                listed = structured(await filters.session.call_tool("list_filters", {}))
                (rule,) = [r for r in listed["rules"] if r["id"] == structured(result)["id"]]
                kept = rule["name"] if readback == "name" else rule["conditions"][0]["value"]
                if kept != value:
                    problems.append(f"{tool} {name}: {readback} read back as {kept[:80]!r}")
    assert problems == []
    active, text = await active_script(filters.sieve)
    assert active == SCRIPT
    assert_webmail_rules_kept(text, WEBMAIL_RULES[1:])  # the vacation rule was ours to change
    script = parse_script(text)
    ours = [rule for rule in script.rules if rule.id is not None and int(rule.id) >= 8]
    assert ours, "no hostile value was accepted at all: the test checked nothing"
    for rule in ours:
        assert rule.filter is not None, rule.text[:200]
        assert [action.type for action in rule.filter.actions] == ["flag"], rule.text[:200]
    assert text.count("discard") == WEBMAIL.count("discard")
    assert text.count("redirect") == WEBMAIL.count("redirect")
