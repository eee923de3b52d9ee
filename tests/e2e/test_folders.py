"""get_folders and create_directory through a real MCP client against Dovecot."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.imap_client import other_client, simple_message
from tests.mcp_client import error_text, mcp_session, structured
from tests.server_env import Shared, module_server
from tests.servers.dovecot import Account, DovecotServer

FAMILIES = ("mail",)
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]

NEW_ACCOUNT_FOLDERS = {"INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"}


def by_name(folders: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(f["name"]): f for f in folders}


def one_message(dovecot: DovecotServer, account: Account) -> None:
    with other_client(dovecot, account) as imap:
        imap.append("INBOX", b"Subject: x\r\n\r\nx\r\n")


untouched = module_server(one_message, FAMILIES)
"""One server on a new account with one message, for the tests that create nothing:
each checks that the account still has only the folders it began with."""


creating = module_server(None, FAMILIES)
"""One server on a new account for the tests that create folders, each its own."""


async def refusal(untouched: Shared, dovecot: DovecotServer, name: str) -> str:
    """create_directory's answer to ``name``: a refusal, after which the account still
    has only the folders it began with."""
    message = error_text(await untouched.session.call_tool("create_directory", {"name": name}))
    assert folder_names(dovecot, untouched.account) == NEW_ACCOUNT_FOLDERS
    return message


def folder_names(dovecot: DovecotServer, account: Account) -> set[str]:
    """The account's folders as another client lists them."""
    with other_client(dovecot, account) as imap:
        return {name for _flags, _delim, name in imap.list_folders()}


async def test_get_folders_reports_special_folder_roles(untouched: Shared) -> None:
    folders = by_name(structured(await untouched.session.call_tool("get_folders", {}))["folders"])
    roles = {name: f["role"] for name, f in folders.items()}
    assert roles == {
        "INBOX": "inbox",
        "Drafts": "drafts",
        "Sent": "sent",
        "Trash": "trash",
        "Junk": "junk",
        "Archive": "archive",
    }


async def test_get_folders_counts_messages_and_unread(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    with other_client(dovecot, account) as imap:
        imap.append("INBOX", simple_message("one"), flags=[])
        imap.append("INBOX", simple_message("two"), flags=["\\Seen"])
        imap.append("Archive", simple_message("three"), flags=["\\Seen"])
    async with mcp_session(server_env, tmp_path / "stderr.log") as session:
        folders = by_name(structured(await session.call_tool("get_folders", {}))["folders"])
    assert (folders["INBOX"]["messages"], folders["INBOX"]["unseen"]) == (2, 1)
    assert (folders["Archive"]["messages"], folders["Archive"]["unseen"]) == (1, 0)
    assert (folders["Sent"]["messages"], folders["Sent"]["unseen"]) == (0, 0)


async def test_get_folders_shows_mail_that_arrived_since_the_last_call(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    async with mcp_session(server_env, tmp_path / "stderr.log") as session:
        before = by_name(structured(await session.call_tool("get_folders", {}))["folders"])
        with other_client(dovecot, account) as imap:
            imap.append("INBOX", simple_message("late arrival"), flags=[])
        after = by_name(structured(await session.call_tool("get_folders", {}))["folders"])
    assert before["INBOX"]["messages"] == 0
    assert (after["INBOX"]["messages"], after["INBOX"]["unseen"]) == (1, 1)


async def test_get_folders_shows_a_message_read_elsewhere_as_read(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    with other_client(dovecot, account) as imap:
        imap.append("INBOX", simple_message("unread at first"), flags=[])
    async with mcp_session(server_env, tmp_path / "stderr.log") as session:
        before = by_name(structured(await session.call_tool("get_folders", {}))["folders"])
        with other_client(dovecot, account) as imap:
            imap.select_folder("INBOX")
            imap.add_flags(imap.search("ALL"), ["\\Seen"])
        after = by_name(structured(await session.call_tool("get_folders", {}))["folders"])
    assert before["INBOX"]["unseen"] == 1
    assert after["INBOX"]["unseen"] == 0


async def test_unchanged_folders_are_answered_from_the_validated_cache(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "stderr.log"
    server_env["MAILBOX_LOG_FORMAT"] = "json"
    async with mcp_session(server_env, log) as session:
        first = structured(await session.call_tool("get_folders", {}))
        second = structured(await session.call_tool("get_folders", {}))
    assert first == second
    served = [line for line in log.read_text().splitlines() if '"tool.done"' in line]
    assert ['"cached": false' in line for line in served] == [True, False]


async def test_create_directory_creates_nested_folders(
    creating: Shared, dovecot: DovecotServer
) -> None:
    session = creating.session
    created = structured(await session.call_tool("create_directory", {"name": "Projects/2026"}))
    folders = by_name(structured(await session.call_tool("get_folders", {}))["folders"])
    assert created == {"name": "Projects/2026"}
    assert folders["Projects/2026"]["role"] is None
    assert "Projects" in folders
    with other_client(dovecot, creating.account) as imap:
        assert imap.folder_exists("Projects/2026")
        subscribed = {name for _flags, _delim, name in imap.list_sub_folders()}
    assert {"Projects", "Projects/2026"} <= subscribed


async def test_create_directory_keeps_unicode_and_quotes_in_the_name(
    creating: Shared, dovecot: DovecotServer
) -> None:
    name = 'Ärger "quoted"'
    created = structured(await creating.session.call_tool("create_directory", {"name": name}))
    folders = by_name(structured(await creating.session.call_tool("get_folders", {}))["folders"])
    assert created == {"name": name}
    assert folders[name]["messages"] == 0
    with other_client(dovecot, creating.account) as imap:
        assert imap.folder_exists(name)


async def test_create_directory_refuses_an_existing_folder(creating: Shared) -> None:
    session = creating.session
    structured(await session.call_tool("create_directory", {"name": "Receipts"}))
    message = error_text(await session.call_tool("create_directory", {"name": "Receipts"}))
    assert message == "The folder 'Receipts' already exists."


@pytest.mark.parametrize("name", ["*", "%", "Projects/*", "Arch%", "Receipts*2026"])
async def test_create_directory_refuses_list_wildcards_in_a_name_and_creates_nothing(
    name: str, untouched: Shared, dovecot: DovecotServer
) -> None:
    message = await refusal(untouched, dovecot, name)
    assert message == (
        "Invalid arguments for create_directory: "
        "Folder names cannot contain '*' or '%': IMAP servers read them as wildcards."
    )


@pytest.mark.parametrize(
    "hostile",
    ["Evil\r\nA1 DELETE INBOX", "Evil\nA1 DELETE INBOX", "Evil\x00name"],
)
async def test_create_directory_refuses_line_breaks_and_nul(
    hostile: str, untouched: Shared, dovecot: DovecotServer
) -> None:
    message = await refusal(untouched, dovecot, hostile)
    assert "cannot contain line breaks or NUL characters" in message


@pytest.mark.parametrize("bad", ["/Leading", "Trailing/", "Double//Slash", "  "])
async def test_create_directory_refuses_empty_levels(
    bad: str, untouched: Shared, dovecot: DovecotServer
) -> None:
    message = await refusal(untouched, dovecot, bad)
    assert "empty level" in message


async def test_unknown_arguments_get_a_clear_error(
    untouched: Shared, dovecot: DovecotServer
) -> None:
    session = untouched.session
    message = error_text(
        await session.call_tool("create_directory", {"name": "A", "colour": "red"})
    )
    missing = error_text(await session.call_tool("create_directory", {}))
    assert folder_names(dovecot, untouched.account) == NEW_ACCOUNT_FOLDERS
    assert message == (
        "Invalid arguments for create_directory: create_directory has no argument named "
        "colour; leave it out (tools/list shows the arguments)."
    )
    assert missing == (
        "Invalid arguments for create_directory: create_directory needs name; give it and "
        "call again."
    )


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("a/../b", "does not allow a folder named 'a/../b'"),
        ("~home", "does not allow a folder named '~home'"),
        ("\u202eevil", "invisible characters"),
        ("a\u00adb", "invisible characters"),
    ],
)
async def test_create_directory_refuses_names_the_server_or_a_reader_would_trip_on_in_our_words(
    name: str, words: str, untouched: Shared, dovecot: DovecotServer
) -> None:
    message = await refusal(untouched, dovecot, name)
    assert words in message, message
    assert "Invalid mailbox name" not in message and "Contains" not in message, message


async def test_moving_to_a_bare_slash_names_no_folder(
    untouched: Shared, dovecot: DovecotServer
) -> None:
    session = untouched.session
    (found,) = structured(await session.call_tool("search_emails", {}))["emails"]
    message = error_text(
        await session.call_tool("move_email", {"ids": [found["id"]], "destination": "/"})
    )
    assert message.startswith("Nothing was moved: '/' names no folder"), message
    assert folder_names(dovecot, untouched.account) == NEW_ACCOUNT_FOLDERS
