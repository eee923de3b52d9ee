"""search_emails through a real MCP client against Dovecot."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.imap_client import other_client
from tests.mail_factory import BASE_TIME, deliver, message
from tests.mcp_client import error_text, mcp_session, structured
from tests.servers.dovecot import Account, DovecotServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def mailbox(dovecot: DovecotServer, account: Account) -> None:
    """Five messages over five days, newest last; one unread, one flagged, one with a file."""
    day = timedelta(days=1)
    with other_client(dovecot, account) as imap:
        deliver(
            imap,
            "INBOX",
            message("Budget 2027 draft", body="Numbers for the budget."),
            received=BASE_TIME,
            flags=("\\Seen",),
        )
        deliver(
            imap,
            "INBOX",
            message("Lunch?", sender="Ben Ott <ben@example.test>", body="Shall we?"),
            received=BASE_TIME + day,
            flags=("\\Seen", "\\Flagged"),
        )
        deliver(
            imap,
            "INBOX",
            message(
                "Rechnung für Oktober",
                sender="Jürgen <j@example.test>",
                body="Anbei die Rechnung.",
                attachment=("Rechnung März.pdf", b"%PDF-1.4", "application/pdf"),
            ),
            received=BASE_TIME + 2 * day,
            flags=("\\Seen",),
        )
        deliver(
            imap,
            "INBOX",
            message(
                "Budget approved", cc="Carla <carla@example.test>", body="The budget is approved."
            ),
            received=BASE_TIME + 3 * day,
        )
        deliver(
            imap,
            "Archive",
            message("Old budget", body="Last year's budget."),
            received=BASE_TIME - 30 * day,
            flags=("\\Seen",),
        )


async def search(session: Any, **args: Any) -> Any:
    return structured(await session.call_tool("search_emails", args))


def subjects(result: Any) -> list[str]:
    return [e["subject"] for e in result["emails"]]


@pytest.mark.usefixtures("mailbox")
async def test_the_inbox_is_listed_newest_first_with_summaries(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        result = await search(session)
    assert subjects(result) == [
        "Budget approved",
        "Rechnung für Oktober",
        "Lunch?",
        "Budget 2027 draft",
    ]
    assert result["total"] == 4 and result["next_cursor"] is None
    newest = result["emails"][0]
    assert newest["from"] == "Anna Berg <anna@example.test>"
    assert newest["to"] == ["you@example.test"]
    assert newest["flags"] == [] and newest["folder"] == "INBOX"
    assert newest["preview"] == "The budget is approved."
    assert newest["date"].startswith("2026-10-04T")


@pytest.mark.usefixtures("mailbox")
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"query": "budget"}, ["Budget approved", "Budget 2027 draft"]),
        ({"sender": "ben@example.test"}, ["Lunch?"]),
        ({"sender": "Jürgen"}, ["Rechnung für Oktober"]),
        ({"recipient": "carla"}, ["Budget approved"]),
        ({"subject": "Rechnung"}, ["Rechnung für Oktober"]),
        ({"unread": True}, ["Budget approved"]),
        ({"unread": False, "flagged": False}, ["Rechnung für Oktober", "Budget 2027 draft"]),
        ({"flagged": True}, ["Lunch?"]),
        ({"has_attachments": True}, ["Rechnung für Oktober"]),
        ({"since": "2026-10-03"}, ["Budget approved", "Rechnung für Oktober"]),
        ({"before": "2026-10-02"}, ["Budget 2027 draft"]),
        ({"since": "2026-10-02T08:00:00+02:00", "before": "2026-10-03T08:00:00+02:00"}, ["Lunch?"]),
        ({"folder": "Archive"}, ["Old budget"]),
        ({"query": "no such words anywhere"}, []),
    ],
)
async def test_each_filter_narrows_the_search(
    args: dict[str, Any], expected: list[str], server_env: dict[str, str], tmp_path: Path
) -> None:
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        result = await search(session, **args)
    assert subjects(result) == expected
    assert result["total"] == len(expected)


@pytest.mark.usefixtures("mailbox")
async def test_the_attachment_flag_is_reported_per_message(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        result = await search(session)
    assert [e["has_attachments"] for e in result["emails"]] == [False, True, False, False]


@pytest.mark.usefixtures("mailbox")
async def test_all_folders_are_searched_with_a_star(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        result = await search(session, folder="*", query="budget")
    assert subjects(result) == ["Budget approved", "Budget 2027 draft", "Old budget"]
    assert [e["folder"] for e in result["emails"]] == ["INBOX", "INBOX", "Archive"]


@pytest.mark.usefixtures("mailbox")
@pytest.mark.parametrize("folder", ["INBOX", "*"])
async def test_paging_reaches_the_last_page_without_repeats(
    folder: str, server_env: dict[str, str], tmp_path: Path
) -> None:
    seen: list[str] = []
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        result = await search(session, folder=folder, limit=2)
        pages = 1
        seen += subjects(result)
        while result["next_cursor"]:
            result = await search(session, folder=folder, limit=2, cursor=result["next_cursor"])
            seen += subjects(result)
            pages += 1
    expected = 4 if folder == "INBOX" else 5
    assert len(seen) == len(set(seen)) == expected
    assert pages == (expected + 1) // 2


@pytest.mark.usefixtures("mailbox")
async def test_a_message_that_arrives_between_pages_does_not_repeat_one(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        first = await search(session, limit=2)
        with other_client(dovecot, account) as imap:
            deliver(imap, "INBOX", message("Breaking news"), received=BASE_TIME + timedelta(days=9))
        second = await search(session, limit=2, cursor=first["next_cursor"])
    assert subjects(first) == ["Budget approved", "Rechnung für Oktober"]
    assert subjects(second) == ["Lunch?", "Budget 2027 draft"]
    assert second["total"] == 5


@pytest.mark.usefixtures("mailbox")
async def test_new_mail_is_found_on_the_very_next_search(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        before = await search(session, query="invoice")
        with other_client(dovecot, account) as imap:
            deliver(imap, "INBOX", message("Invoice 42", body="invoice attached"))
        after = await search(session, query="invoice")
    assert before["total"] == 0 and subjects(after) == ["Invoice 42"]


async def test_a_unicode_folder_can_be_searched(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    with other_client(dovecot, account) as imap:
        imap.create_folder("Kunden/Müller")
        deliver(imap, "Kunden/Müller", message("Angebot"))
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        result = await search(session, folder="Kunden/Müller")
    assert subjects(result) == ["Angebot"]
    assert result["emails"][0]["folder"] == "Kunden/Müller"


async def test_an_unknown_folder_gets_a_clear_error(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        message_text = error_text(await session.call_tool("search_emails", {"folder": "Nope"}))
    assert message_text == "There is no folder named 'Nope'; get_folders lists the folders."


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"query": 'x"\r\nA1 DELETE INBOX'}, "cannot contain line breaks"),
        ({"since": "last week"}, "must be an ISO 8601 date"),
        ({"since": "2026-10-05", "before": "2026-10-01"}, "since must be earlier than before"),
        ({"limit": 0}, "Expected `int` >= 1"),
        ({"cursor": "garbage"}, "not one search_emails gave out"),
    ],
)
async def test_bad_search_arguments_get_a_clear_error(
    args: dict[str, Any], words: str, server_env: dict[str, str], tmp_path: Path
) -> None:
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        text = error_text(await session.call_tool("search_emails", args))
    assert words in text


@pytest.mark.usefixtures("mailbox")
async def test_hostile_search_strings_are_searched_for_literally(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        for hostile in ['"quoted" {5}', "back\\slash", "(unbalanced", "A" * 900, "ünïcödé ✓"]:
            result = await search(session, query=hostile)
            assert result["total"] == 0
    with other_client(dovecot, account) as imap:
        assert imap.folder_status("INBOX", ["MESSAGES"])[b"MESSAGES"] == 4


@pytest.mark.usefixtures("mailbox")
async def test_a_repeated_search_of_an_unchanged_folder_costs_one_imap_command(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    dovecot.record_commands(account)
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        first = await search(session, sender="anna")
        await search(session, sender="anna")  # opens the connection for checks
        before = dovecot.commands_sent(account)
        again = await search(session, sender="anna")
        after = dovecot.commands_sent(account)
    assert again == first
    (command,) = after[len(before) :]
    assert command.split(" ")[1].upper() == "STATUS"


async def test_a_repeated_get_email_costs_one_imap_command(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    with other_client(dovecot, account) as imap:
        deliver(imap, "INBOX", message("Once", body="Read me twice."))
    dovecot.record_commands(account)
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        (summary,) = (await search(session))["emails"]
        first = structured(await session.call_tool("get_email", {"id": summary["id"]}))
        before = dovecot.commands_sent(account)
        again = structured(await session.call_tool("get_email", {"id": summary["id"]}))
        after = dovecot.commands_sent(account)
    assert again == first
    (command,) = after[len(before) :]
    assert command.split(" ")[1].upper() == "STATUS"


async def test_messages_that_arrived_in_the_same_second_list_the_later_one_first(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    with other_client(dovecot, account) as imap:
        for subject in ("first", "second", "third"):
            deliver(imap, "INBOX", message(subject), received=BASE_TIME)
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        found = await search(session)
    assert subjects(found) == ["third", "second", "first"]


async def test_with_a_big_inbox_a_cache_check_runs_where_inbox_is_already_open(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    # Dovecot opens an unselected mailbox anew for each STATUS (about 90 ms at 100,000
    # messages) but answers for the selected one from memory after a NOOP.
    raw = [(message("Bulk", sender="anna@example.test").as_bytes(), BASE_TIME)]
    dovecot.seed_maildir(account, "INBOX", raw * 20_000)
    dovecot.record_commands(account)
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        first = await search(session, sender="anna")
        await search(session, sender="anna")
        before = dovecot.commands_sent(account)
        again = await search(session, sender="anna")
        after = dovecot.commands_sent(account)
    assert again == first and first["total"] == 20_000
    assert [c.split(" ")[1].upper() for c in after[len(before) :]] == ["NOOP", "STATUS"]
