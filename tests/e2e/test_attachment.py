"""get_attachment through a real MCP client against Dovecot."""

from __future__ import annotations

import os
import random
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.imap_client import other_client
from tests.mail_factory import deliver, message
from tests.mcp_client import error_text, mcp_session, structured, text_of
from tests.server_env import Shared, module_server
from tests.servers.dovecot import Account, DovecotServer

FAMILIES = ("mail",)
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]

NOTES = "".join(f"Line {n}: Grüße\n" for n in range(1000))
INVITE = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
HOSTILE_NAMES = [
    ("../../.bashrc", "bashrc"),
    ("..", "attachment-2.bin"),
    ("CON.txt", "_CON.txt"),
    ("a\x07b.pdf", "a b.pdf"),
    ("x" * 400 + ".pdf", "x" * 196 + ".pdf"),
]


def random_bytes(size: int) -> bytes:
    """The same ``size`` bytes each time they are asked for (they do not compress)."""
    return random.Random(size).randbytes(size)


def with_file_named(name: str) -> bytes:
    msg = message(
        "Files", attachment=("placeholder.bin", b"\x00\x01data", "application/octet-stream")
    )
    return msg.as_bytes().replace(
        b'filename="placeholder.bin"', b'filename="' + name.encode("latin-1") + b'"'
    )


def forwarded() -> EmailMessage:
    inner = message("Original offer", sender="Ben <ben@b.test>", body="Price: 42 EUR.")
    outer = EmailMessage()
    outer["From"], outer["To"], outer["Subject"] = "a@a.test", "you@example.test", "Fwd: offer"
    outer.set_content("See below.")
    outer.add_attachment(inner)
    return outer


def _with_file(subject: str, name: str, data: bytes) -> EmailMessage:
    return message(subject, attachment=(name, data, "application/octet-stream"))


def nested() -> EmailMessage:
    middle = message("Middle", body="See the one below.")
    deepest = _with_file("Deepest", "deep.bin", random_bytes(700))
    middle.add_attachment(deepest)  # middle: 1 text, 2 message
    outer = message("Fwd: two", body="See below.")
    outer.add_attachment(_with_file("Original offer", "offer.bin", random_bytes(5000)))  # part 2
    outer.add_attachment(middle)  # part 3
    return outer


def undated() -> EmailMessage:
    inner = message("Undated", body="No date here.")
    del inner["Date"]
    outer = message("Fwd: undated", body="See below.")
    outer.add_attachment(inner)
    return outer


def each_in_a_folder_of_its_own(dovecot: DovecotServer, account: Account) -> None:
    """The message of each test that only reads, alone in the folder the test names."""
    report = message("Report", attachment=("report.pdf", random_bytes(300_000), "application/pdf"))
    by_folder: dict[str, EmailMessage | bytes] = {
        "Notes": message("Notes", attachment=("notes.txt", NOTES.encode(), "text/plain")),
        "Forwarded": forwarded(),
        "Invite": message("Invite", attachment=("invite.ics", INVITE, "text/calendar")),
        "Plain": message("Plain"),
        "Report": report,
        "Nested": nested(),
        "Undated": undated(),
    }
    for n, (hostile, _saved_as) in enumerate(HOSTILE_NAMES):
        by_folder[f"Files {n}"] = with_file_named(hostile)
    with other_client(dovecot, account) as imap:
        for folder, msg in by_folder.items():
            imap.create_folder(folder)
            deliver(imap, folder, msg)


reading = module_server(each_in_a_folder_of_its_own, FAMILIES)
"""One server for the tests that read their own folder's message; what they save goes
to one download folder, under names no two of them share."""


async def first_email(session: Any, folder: str = "INBOX") -> dict[str, Any]:
    result = structured(await session.call_tool("search_emails", {"folder": folder}))
    email_id = result["emails"][0]["id"]
    return dict(structured(await session.call_tool("get_email", {"id": email_id})))


async def fetch(session: Any, **args: Any) -> Any:
    return structured(await session.call_tool("get_attachment", args))


async def test_a_text_attachment_comes_back_as_text_in_pages(reading: Shared) -> None:
    session = reading.session
    email = await first_email(session, "Notes")
    part = email["attachments"][0]["part"]
    first = await fetch(session, id=email["id"], part=part, max_chars=5000)
    rest = await fetch(session, id=email["id"], part=part, offset=5000, max_chars=200_000)
    assert first["truncated"] is True and first["text_chars"] == len(NOTES)
    assert first["text"] + rest["text"] == NOTES
    assert rest["truncated"] is False and first["path"] is None
    assert not list((reading.folder / "downloads").glob("notes*"))


async def test_a_binary_attachment_is_saved_whole_and_never_overwrites(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    payload = os.urandom(300_000)
    msg = message("Report", attachment=("report.pdf", payload, "application/pdf"))
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    (downloads / "report.pdf").write_bytes(b"the user's own file")
    with other_client(dovecot, account) as imap:
        deliver(imap, "INBOX", msg)
    async with mcp_session(server_env, tmp_path / "err.log") as session:
        email = await first_email(session)
        args = {"id": email["id"], "part": email["attachments"][0]["part"]}
        first = await fetch(session, **args)
        second = await fetch(session, **args)
    assert Path(first["path"]) == downloads / "report (1).pdf"
    assert Path(second["path"]) == downloads / "report (2).pdf"
    assert Path(first["path"]).read_bytes() == payload
    assert first["size"] == len(payload) and first["text"] is None
    assert (downloads / "report.pdf").read_bytes() == b"the user's own file"
    assert sorted(os.listdir(downloads)) == ["report (1).pdf", "report (2).pdf", "report.pdf"]


@pytest.mark.parametrize(("hostile", "expected"), HOSTILE_NAMES)
async def test_hostile_file_names_are_saved_safely_inside_the_download_folder(
    reading: Shared, hostile: str, expected: str
) -> None:
    folder = f"Files {HOSTILE_NAMES.index((hostile, expected))}"
    email = await first_email(reading.session, folder)
    saved = await fetch(reading.session, id=email["id"], part=email["attachments"][0]["part"])
    path = Path(saved["path"])
    assert path.parent == reading.folder / "downloads"
    assert path.name == expected
    assert path.read_bytes() == b"\x00\x01data"


async def test_an_attached_email_is_read_as_text(reading: Shared) -> None:
    email = await first_email(reading.session, "Forwarded")
    (attached,) = email["attachments"]
    text = await fetch(reading.session, id=email["id"], part=attached["part"])
    assert attached["content_type"] == "message/rfc822"
    assert text["text"].startswith("From: Ben <ben@b.test>\n")
    assert "Subject: Original offer" in text["text"]
    assert text["text"].endswith("Price: 42 EUR.")


async def test_save_writes_a_text_attachment_to_disk_on_request(reading: Shared) -> None:
    email = await first_email(reading.session, "Invite")
    part = email["attachments"][0]["part"]
    saved = await fetch(reading.session, id=email["id"], part=part, save=True)
    assert Path(saved["path"]).read_bytes() == INVITE


async def test_an_unknown_part_gets_a_clear_error(reading: Shared) -> None:
    session = reading.session
    email = await first_email(session, "Plain")
    missing = await session.call_tool("get_attachment", {"id": email["id"], "part": "7"})
    malformed = await session.call_tool("get_attachment", {"id": email["id"], "part": "../1"})
    assert missing.is_error and "no part 7" in error_text(missing)
    assert malformed.is_error and "part must be a part number" in error_text(malformed)


async def test_get_email_gives_the_decoded_size_of_an_attachment_and_says_it_is_an_estimate(
    reading: Shared,
) -> None:
    session = reading.session
    payload = random_bytes(300_000)
    (summary,) = structured(await session.call_tool("search_emails", {"folder": "Report"}))[
        "emails"
    ]
    read = await session.call_tool("get_email", {"id": summary["id"]})
    (listed,) = structured(read)["attachments"]
    saved = await fetch(session, id=summary["id"], part=listed["part"])
    assert saved["size"] == len(payload)  # get_attachment: exact, after decoding
    assert abs(listed["size"] - len(payload)) <= len(payload) // 100  # base64 was 410,000
    assert listed["size_estimated"] is True
    assert "about 300,000 bytes" in text_of(read)


async def test_files_inside_attached_emails_are_listed_with_part_numbers_get_attachment_fetches(
    reading: Shared,
) -> None:
    session = reading.session
    offer, deep = random_bytes(5000), random_bytes(700)
    email = await first_email(session, "Nested")
    listed = {a["part"]: a for a in email["attachments"]}
    got_offer = await fetch(session, id=email["id"], part="2.2")
    got_deep = await fetch(session, id=email["id"], part="3.2.2")
    as_text = await fetch(session, id=email["id"], part="2")
    assert sorted(listed) == ["2", "2.2", "3", "3.2", "3.2.2"]
    assert (listed["2.2"]["filename"], listed["2.2"]["inside"]) == ("offer.bin", "2")
    assert (listed["3.2.2"]["filename"], listed["3.2.2"]["inside"]) == ("deep.bin", "3.2")
    assert listed["2"]["inside"] is None and listed["3.2"]["inside"] == "3"
    assert Path(got_offer["path"]).read_bytes() == offer
    assert Path(got_deep["path"]).read_bytes() == deep
    assert "offer.bin (part 2.2)" in as_text["text"]


async def test_an_attached_email_without_a_date_says_so_in_words(reading: Shared) -> None:
    email = await first_email(reading.session, "Undated")
    text = await fetch(reading.session, id=email["id"], part=email["attachments"][0]["part"])
    assert "Date: unknown" in text["text"] and "None" not in text["text"]


async def test_an_id_in_a_folder_that_does_not_exist_gets_a_clear_error(reading: Shared) -> None:
    result = await reading.session.call_tool("get_attachment", {"id": "Nowhere#1.1", "part": "2"})
    assert error_text(result) == (
        "There is no folder named 'Nowhere'; get_folders lists the folders."
    )
