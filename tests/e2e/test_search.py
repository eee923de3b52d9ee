"""search_emails through a real MCP client against Dovecot."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.imap_client import other_client
from tests.mail_factory import BASE_TIME, deliver, message
from tests.mcp_client import error_text, mcp_session, structured
from tests.server_env import Shared, module_server
from tests.servers.dovecot import Account, DovecotServer

FAMILIES = ("mail",)
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]


def five_messages(dovecot: DovecotServer, account: Account) -> None:
    """Five messages over five days, newest last; one unread, one flagged, one with a file.

    Each arrived when it was written (its Date header and its received time agree)."""
    day = timedelta(days=1)
    with other_client(dovecot, account) as imap:
        deliver(
            imap,
            "INBOX",
            message("Budget 2027 draft", body="Numbers for the budget.", sent=BASE_TIME),
            received=BASE_TIME,
            flags=("\\Seen",),
        )
        deliver(
            imap,
            "INBOX",
            message(
                "Lunch?",
                sender="Ben Ott <ben@example.test>",
                body="Shall we?",
                sent=BASE_TIME + day,
            ),
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
                sent=BASE_TIME + 2 * day,
            ),
            received=BASE_TIME + 2 * day,
            flags=("\\Seen",),
        )
        deliver(
            imap,
            "INBOX",
            message(
                "Budget approved",
                cc="Carla <carla@example.test>",
                body="The budget is approved.",
                sent=BASE_TIME + 3 * day,
            ),
            received=BASE_TIME + 3 * day,
        )
        deliver(
            imap,
            "Archive",
            message("Old budget", body="Last year's budget.", sent=BASE_TIME - 30 * day),
            received=BASE_TIME - 30 * day,
            flags=("\\Seen",),
        )


@pytest.fixture
def mailbox(dovecot: DovecotServer, account: Account) -> None:
    """five_messages in this test's own account, for a test that changes it."""
    five_messages(dovecot, account)


five = module_server(five_messages, FAMILIES)
"""One server on an account of five_messages, for the tests that only read it (and
for refusals, which need no mail)."""


async def search(session: Any, **args: Any) -> Any:
    return structured(await session.call_tool("search_emails", args))


async def commands_of(
    dovecot: DovecotServer, account: Account, call: Awaitable[Any]
) -> tuple[Any, list[str]]:
    """What ``call`` answered, and the IMAP commands it cost (recorded, by name)."""
    before = dovecot.commands_sent(account)
    answer = await call
    after = dovecot.commands_sent(account)
    return answer, [command.split(" ")[1].upper() for command in after[len(before) :]]


def subjects(result: Any) -> list[str]:
    return [e["subject"] for e in result["emails"]]


async def test_the_inbox_is_listed_newest_first_with_summaries(five: Shared) -> None:
    result = await search(five.session)
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
    args: dict[str, Any], expected: list[str], five: Shared
) -> None:
    result = await search(five.session, **args)
    assert subjects(result) == expected
    assert result["total"] == len(expected)


async def test_the_attachment_flag_is_reported_per_message(five: Shared) -> None:
    result = await search(five.session)
    assert [e["has_attachments"] for e in result["emails"]] == [False, True, False, False]


async def test_all_folders_are_searched_with_a_star(five: Shared) -> None:
    result = await search(five.session, folder="*", query="budget")
    assert subjects(result) == ["Budget approved", "Budget 2027 draft", "Old budget"]
    assert [e["folder"] for e in result["emails"]] == ["INBOX", "INBOX", "Archive"]


@pytest.mark.parametrize("folder", ["INBOX", "*"])
async def test_paging_reaches_the_last_page_without_repeats(folder: str, five: Shared) -> None:
    seen: list[str] = []
    result = await search(five.session, folder=folder, limit=2)
    pages = 1
    seen += subjects(result)
    while result["next_cursor"]:
        result = await search(five.session, folder=folder, limit=2, cursor=result["next_cursor"])
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
            news = message("Breaking news", sent=BASE_TIME + timedelta(days=9))
            deliver(imap, "INBOX", news, received=BASE_TIME + timedelta(days=9))
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


async def test_an_unknown_folder_gets_a_clear_error(five: Shared) -> None:
    message_text = error_text(await five.session.call_tool("search_emails", {"folder": "Nope"}))
    assert message_text == "There is no folder named 'Nope'; get_folders lists the folders."


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"query": 'x"\r\nA1 DELETE INBOX'}, "cannot contain line breaks"),
        ({"since": "last week"}, "must be an ISO 8601 date"),
        ({"since": "2026-10-05", "before": "2026-10-01"}, "since must be earlier than before"),
        ({"limit": 0}, "limit must be at least 1."),
        ({"cursor": "garbage"}, "not one search_emails gave out"),
    ],
)
async def test_bad_search_arguments_get_a_clear_error(
    args: dict[str, Any], words: str, five: Shared
) -> None:
    text = error_text(await five.session.call_tool("search_emails", args))
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
        again, cost = await commands_of(dovecot, account, search(session, sender="anna"))
    assert again == first and cost == ["STATUS"]


async def test_a_repeated_get_email_costs_one_imap_command(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    with other_client(dovecot, account) as imap:
        deliver(imap, "INBOX", message("Once", body="Read me twice."))
    dovecot.record_commands(account)
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        (summary,) = (await search(session))["emails"]
        first = structured(await session.call_tool("get_email", {"id": summary["id"]}))
        reading = session.call_tool("get_email", {"id": summary["id"]})
        again, cost = await commands_of(dovecot, account, reading)
    assert structured(again) == first and cost == ["STATUS"]


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
        again, cost = await commands_of(dovecot, account, search(session, sender="anna"))
    assert again == first and first["total"] == 20_000
    assert cost == ["NOOP", "STATUS"]


# -- dates as people see them: the Date header, not when the server stored the message --

MOVED_IN = datetime.now(UTC).replace(microsecond=0)
"""When a migration put every message of the mailbox in: the received time of them all."""
CET, CEST = timezone(timedelta(hours=1)), timezone(timedelta(hours=2))


def undated(subject: str) -> bytes:
    return f"From: Anna <anna@example.test>\r\nSubject: {subject}\r\n\r\nNo date.\r\n".encode()


def moved_in(dovecot: DovecotServer, account: Account) -> None:
    """A mailbox moved in today: each message stamped with the day of the move, its Date
    header months earlier; delivered out of order. Two have no Date header at all."""
    with other_client(dovecot, account) as imap:
        for subject, sent in [
            ("Late March", datetime(2026, 3, 20, 10, 0, tzinfo=CET)),
            ("February", datetime(2026, 2, 20, 10, 0, tzinfo=CET)),
            ("April", datetime(2026, 4, 2, 10, 0, tzinfo=CEST)),
            ("Early March", datetime(2026, 3, 5, 10, 0, tzinfo=CET)),
        ]:
            deliver(imap, "INBOX", message(subject, sent=sent), received=MOVED_IN)
        deliver(
            imap, "INBOX", undated("Undated, March"), received=datetime(2026, 3, 10, tzinfo=UTC)
        )
        deliver(imap, "INBOX", undated("Undated, today"), received=MOVED_IN)
        deliver(
            imap,
            "Archive",
            message("Archived mid-March", sent=datetime(2026, 3, 15, 10, 0, tzinfo=CET)),
            received=MOVED_IN,
        )


migrated = module_server(moved_in, FAMILIES)
"""One server on an account moved_in, for the tests that read it."""


async def test_a_migrated_mailbox_is_searched_by_the_date_each_message_was_sent(
    migrated: Shared,
) -> None:
    march = await search(migrated.session, since="2026-03-01", before="2026-04-01")
    everywhere = await search(migrated.session, folder="*", since="2026-03-01", before="2026-04-01")
    assert subjects(march) == ["Late March", "Undated, March", "Early March"]
    assert march["total"] == 3
    assert subjects(everywhere) == [
        "Late March",
        "Archived mid-March",
        "Undated, March",
        "Early March",
    ]


async def test_a_migrated_mailbox_is_listed_newest_first_by_the_sent_date_with_the_move_beside_it(
    migrated: Shared,
) -> None:
    inbox = await search(migrated.session)
    everywhere = await search(migrated.session, folder="*")
    paged = [await search(migrated.session, limit=2)]
    while paged[-1]["next_cursor"]:
        paged.append(await search(migrated.session, limit=2, cursor=paged[-1]["next_cursor"]))
    assert subjects(inbox) == [
        "Undated, today",
        "April",
        "Late March",
        "Undated, March",
        "Early March",
        "February",
    ]
    assert [s for page in paged for s in subjects(page)] == subjects(inbox)
    assert subjects(everywhere)[3] == "Archived mid-March"
    by_subject = {e["subject"]: e for e in inbox["emails"]}
    late = by_subject["Late March"]
    assert late["date"] == "2026-03-20T10:00:00+01:00"
    assert datetime.fromisoformat(late["received"]) == MOVED_IN
    # Where the two agree (or the message has no Date), only the one date is given.
    assert by_subject["Undated, today"]["received"] is None
    assert datetime.fromisoformat(by_subject["Undated, today"]["date"]) == MOVED_IN
    assert by_subject["Undated, March"]["date"].startswith("2026-03-10T00:00:00")


async def test_a_summary_gives_no_separate_received_time_when_it_agrees_with_the_date(
    five: Shared,
) -> None:
    result = await search(five.session, folder="*")
    assert [e["received"] for e in result["emails"]] == [None] * 5


def around_nine(dovecot: DovecotServer, account: Account) -> None:
    """Messages sent either side of 2026-03-10 09:00 UTC in several time zones, all moved in
    today; one without a Date header received at 09:30 UTC."""
    with other_client(dovecot, account) as imap:
        for subject, sent in [
            ("Just before, London", datetime(2026, 3, 10, 8, 59, 59, tzinfo=UTC)),
            ("Just after, Berlin", datetime(2026, 3, 10, 10, 0, 1, tzinfo=CET)),
            ("Tokyo morning", datetime(2026, 3, 11, 8, 0, tzinfo=timezone(timedelta(hours=9)))),
            ("New York evening", datetime(2026, 3, 9, 21, 0, tzinfo=timezone(timedelta(hours=-5)))),
        ]:
            deliver(imap, "INBOX", message(subject, sent=sent), received=MOVED_IN)
        deliver(
            imap, "INBOX", undated("Undated"), received=datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
        )


nine = module_server(around_nine, FAMILIES)
"""One server on an account of messages around_nine, for the tests that read it."""


@pytest.mark.parametrize("folder", ["INBOX", "*"])
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            {"since": "2026-03-10T09:00:00Z"},
            ["Tokyo morning", "Undated", "Just after, Berlin"],
        ),
        (
            {"since": "2026-03-10T10:00:00+01:00", "limit": 1},
            ["Tokyo morning", "Undated", "Just after, Berlin"],
        ),
        ({"before": "2026-03-10T09:00:00+00:00"}, ["Just before, London", "New York evening"]),
        (
            {"since": "2026-03-10T02:00:00-07:00", "before": "2026-03-10T23:00:00Z"},
            ["Undated", "Just after, Berlin"],
        ),
        # A date alone is the date written on the message, in the sender's own zone.
        (
            {"since": "2026-03-10", "before": "2026-03-11"},
            ["Undated", "Just after, Berlin", "Just before, London"],
        ),
    ],
)
async def test_a_time_of_day_bound_compares_the_sent_time_to_the_second(
    args: dict[str, Any],
    expected: list[str],
    folder: str,
    nine: Shared,
) -> None:
    result = await search(nine.session, folder=folder, **args)
    assert subjects(result) == expected[: args.get("limit", 20)]
    assert result["total"] == len(expected)


@pytest.mark.parametrize(
    ("args", "found"),
    [
        ({"since": "0001-01-01"}, 4),
        ({"before": "9999-12-31T23:59:59+00:00"}, 4),
        ({"before": "9999-12-31"}, 4),
        ({"since": "0001-01-01", "before": "9999-12-31"}, 4),
        ({"since": "9999-12-31"}, 0),
        ({"before": "0001-01-01"}, 0),
    ],
)
@pytest.mark.parametrize("folder", ["INBOX", "*"])
async def test_dates_in_year_1_and_year_9999_are_searched_like_any_other(
    args: dict[str, Any], found: int, folder: str, five: Shared
) -> None:
    result = await five.session.call_tool("search_emails", {"folder": folder, **args})
    assert not result.is_error, error_text(result)
    expected = found + (1 if folder == "*" and found else 0)  # the Archive's one
    assert structured(result)["total"] == expected


@pytest.mark.parametrize(
    "args",
    [
        {"since": "0001-01-01T00:00:00+05:00"},
        {"before": "9999-12-31T23:59:59-05:00"},
    ],
)
async def test_an_instant_outside_the_years_1_to_9999_is_refused_in_a_sentence(
    args: dict[str, Any], five: Shared
) -> None:
    """With its offset applied, 0001-01-01T00:00+05:00 falls in year 0: one date helper
    for mail and calendar (protocol/when.py) refuses it rather than guessing."""
    text = error_text(await five.session.call_tool("search_emails", args))
    assert "outside the years 1 to 9999" in text, text
