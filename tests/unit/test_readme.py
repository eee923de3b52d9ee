"""The README is what a newcomer follows: its tables and snippets must match the code."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping

from supervisor.config import load_settings
from supervisor.tools import available_tools
from tests.mcp_client import REPO

README = (REPO / "README.md").read_text()


def section(heading: str) -> str:
    """The text under a ``## heading``, up to the next one."""
    start = README.index(f"\n## {heading}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


class RecordingEnv(Mapping[str, str]):
    """An environment that notes every variable name looked up in it."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values
        self.looked_up: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.looked_up.add(name)
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def test_the_configuration_table_lists_every_setting_the_server_reads() -> None:
    env = RecordingEnv({"MAILBOX_EMAIL": "anna@mailbox.org", "MAILBOX_PASSWORD": "app-pass"})
    load_settings(env)
    documented = set(re.findall(r"`(MAILBOX_[A-Z_]+)`", section("Configuration")))
    read = {name for name in env.looked_up if name.startswith("MAILBOX_")}
    assert len(read) > 30
    assert read - documented == set(), "settings missing from the README's Configuration table"


def test_the_tool_table_names_exactly_the_tools_the_server_lists() -> None:
    table = section("What it can do").split("\n\n")[1]
    named = set(re.findall(r"`([a-z_]+)`", "\n".join(r.split("|")[1] for r in table.splitlines())))
    assert named == set(available_tools(read_only=False))


def test_every_complete_json_snippet_is_valid_json() -> None:
    snippets = re.findall(r"```json\n(.*?)```", README, flags=re.DOTALL)
    complete = [s for s in snippets if s.lstrip().startswith("{")]
    assert complete, "the README has no Claude Desktop config snippet"
    for snippet in complete:
        servers = json.loads(snippet)["mcpServers"]
        assert set(servers) <= {"mailbox", "mailbox-sandbox"}
        if "mailbox" in servers:
            assert set(servers["mailbox"]) >= {"command", "env"}
        else:  # the sandbox's: the form it prints itself
            assert set(servers["mailbox-sandbox"]) == {"command", "args"}
