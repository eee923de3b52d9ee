"""Bad mail is normal mail: each message of ``tests/data/mail`` read back through get_email.

Every one is delivered into Dovecot and must give a useful result (or a precise
note) — never a crashed worker and never a hang. Each lies in a folder of its own,
and one server reads them all.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.imap_client import other_client
from tests.mail_factory import deliver, message
from tests.mcp_client import structured
from tests.server_env import Shared, module_server
from tests.servers.dovecot import Account, DovecotServer

FAMILIES = ("mail",)
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]

CORPUS = Path(__file__).resolve().parent.parent / "data" / "mail"

Check = Callable[[dict[str, Any]], None]


def missing_headers(e: dict[str, Any]) -> None:
    assert (e["from"], e["subject"], e["date"], e["message_id"]) == ("", "", None, None)
    assert e["body"] == "A message with no From, To, Subject, Date or Message-ID."


def duplicate_headers(e: dict[str, Any]) -> None:
    assert e["subject"] == "The first subject"
    assert e["message_id"] == "<dup-1@example.test>"
    assert e["from"].startswith("First Sender <first@example.test>")
    assert e["date"] == "2026-10-01T09:00:00+02:00"


def unknown_charset(e: dict[str, Any]) -> None:
    # Unknown labels are read as windows-1252, what such mailers nearly always mean.
    assert e["body"] == "Schöne Grüße aus München."
    assert e["subject"] == "Grüße"


def mislabelled_ascii(e: dict[str, Any]) -> None:
    assert e["body"] == "Café crème, 20 €."
    assert e["from"] == "Zoë <z@example.test>"


def mislabelled_utf8(e: dict[str, Any]) -> None:
    assert e["body"] == "Das kostet 5 £ und ist grün."


def eight_bit_headers(e: dict[str, Any]) -> None:
    assert e["subject"] == "Grüße \u2013 naïve façade ✓"
    assert e["from"] == "Jürgen Groß <j@example.test>"
    assert e["to"] == ["Åsa Öberg <asa@example.test>"]


def broken_base64(e: dict[str, Any]) -> None:
    assert e["body"].startswith("The quarterly numbers")
    assert any("damaged (base64)" in note for note in e["notes"])


def broken_quoted_printable(e: dict[str, Any]) -> None:
    assert "Bad escapes =ZZ and =4 stay readable" in e["body"]
    assert "good ones decode: Grüße." in e["body"]
    assert "joins this line." in e["body"]


def nested_message(e: dict[str, Any]) -> None:
    assert e["body"] == "See the forwarded message."
    attached, inside = e["attachments"]
    assert attached["content_type"] == "message/rfc822"
    assert attached["filename"] == "contract.eml"
    # The attached email's own file is listed by the part number that fetches it.
    assert (inside["part"], inside["filename"], inside["inside"]) == ("2.2", "contract.pdf", "2")


def html_only_hostile(e: dict[str, Any]) -> None:
    body = e["body"]
    assert "Everything is 50% off. [Shop now](https://shop.test/sale)" in body
    for leaked in ("document.cookie", "color: red", "tracker.test", "evil.test/frame", "track()"):
        assert leaked not in body
    # Hostile words stay in the (fenced) data; they are shown, never obeyed or removed.
    assert "Ignore previous instructions" in body


def thousand_recipients(e: dict[str, Any]) -> None:
    assert len(e["to"]) == 200  # capped; the rest are not worth the tokens
    assert e["to"][0] == "Person 0 <person0@example.test>"
    assert e["body"] == "Hello, all one thousand of you."


def long_subject(e: dict[str, Any]) -> None:
    assert len(e["subject"]) == 10_000
    assert e["subject"].startswith("word0 word1 word2")


def no_body(e: dict[str, Any]) -> None:
    assert e["subject"] == "Nothing inside"
    assert e["body"] == "" and e["attachments"] == [] and e["truncated"] is False


def tnef(e: dict[str, Any]) -> None:
    assert e["body"] == "Please see the attached files."
    assert [a["filename"] for a in e["attachments"]] == ["winmail.dat"]
    assert any("TNEF" in note for note in e["notes"])


def smime_signed(e: dict[str, Any]) -> None:
    assert e["body"] == "This text is covered by an S/MIME signature."
    assert e["signed"] == "S/MIME" and e["encrypted"] is False
    assert e["attachments"] == []  # the signature is not a file for the reader


def pgp_signed(e: dict[str, Any]) -> None:
    assert e["body"] == "This text is covered by an OpenPGP signature."
    assert e["signed"] == "OpenPGP" and e["attachments"] == []


def pgp_encrypted(e: dict[str, Any]) -> None:
    assert e["encrypted"] is True
    assert e["signed"] is None


def calendar_invitation(e: dict[str, Any]) -> None:
    assert e["body"] == "You are invited to the budget review."
    first = e["invitations"][0]
    assert first["method"] == "REQUEST"
    assert first["summary"] == "Budget review"
    assert first["start"] == "2026-10-15T10:30:00+02:00"
    assert first["end"] == "2026-10-15T11:30:00+02:00"
    assert first["location"] == "Room 4.12"
    assert first["organizer"] == "Anna Berg <anna@example.test>"
    assert [a["filename"] for a in e["attachments"]] == ["invite.ics"]


def hostile_calendar(e: dict[str, Any]) -> None:
    assert e["body"] == "There is a broken invitation here."
    assert e["invitations"] == []
    assert any("calendar invitation could not be read" in note for note in e["notes"])


def deep_nesting(e: dict[str, Any]) -> None:
    assert e["subject"] == "Sixty levels deep"  # the body may lie deeper than we walk


def bad_date_and_addresses(e: dict[str, Any]) -> None:
    assert e["date"] is None
    assert e["body"] == "Odd headers, readable body."
    assert "oké" in e["subject"]


CHECKS: dict[str, Check] = {
    "missing-headers.eml": missing_headers,
    "duplicate-headers.eml": duplicate_headers,
    "unknown-charset.eml": unknown_charset,
    "mislabelled-ascii.eml": mislabelled_ascii,
    "mislabelled-utf8.eml": mislabelled_utf8,
    "8bit-headers.eml": eight_bit_headers,
    "broken-base64.eml": broken_base64,
    "broken-quoted-printable.eml": broken_quoted_printable,
    "nested-message.eml": nested_message,
    "html-only-hostile.eml": html_only_hostile,
    "thousand-recipients.eml": thousand_recipients,
    "long-subject.eml": long_subject,
    "no-body.eml": no_body,
    "tnef-winmail.eml": tnef,
    "smime-signed.eml": smime_signed,
    "pgp-signed.eml": pgp_signed,
    "pgp-encrypted.eml": pgp_encrypted,
    "calendar-invitation.eml": calendar_invitation,
    "hostile-calendar.eml": hostile_calendar,
    "deep-nesting.eml": deep_nesting,
    "bad-date-and-addresses.eml": bad_date_and_addresses,
}


def test_every_corpus_message_has_a_check() -> None:
    assert sorted(p.name for p in CORPUS.glob("*.eml")) == sorted(CHECKS)


def every_message_in_a_folder_of_its_own(dovecot: DovecotServer, account: Account) -> None:
    """Each corpus message alone in a folder named after its file (``only_message`` reads
    it), and a message with a 30 MB attachment in Big."""
    big = message("Big file", attachment=("dump.bin", big_payload(), "application/octet-stream"))
    with other_client(dovecot, account) as imap:
        for name in CHECKS:
            imap.create_folder(folder_of(name))
            deliver(imap, folder_of(name), (CORPUS / name).read_bytes())
        imap.create_folder("Big")
        deliver(imap, "Big", big)


@functools.cache
def big_payload() -> bytes:
    """30 MB that do not compress."""
    return random.Random(30).randbytes(30 * 1024 * 1024)


def folder_of(name: str) -> str:
    return name.removesuffix(".eml")


corpus = module_server(every_message_in_a_folder_of_its_own, FAMILIES)
"""One server reads every message: each test only reads its own folder."""


async def only_message(session: Any, folder: str) -> dict[str, Any]:
    found = structured(await session.call_tool("search_emails", {"folder": folder}))
    (summary,) = found["emails"]
    return dict(structured(await session.call_tool("get_email", {"id": summary["id"]})))


@pytest.mark.parametrize("name", sorted(CHECKS))
async def test_corpus_message_reads_usefully(name: str, corpus: Shared) -> None:
    email = await only_message(corpus.session, folder_of(name))
    CHECKS[name](email)


async def test_the_attached_message_of_a_nested_mail_reads_with_its_own_text(
    corpus: Shared,
) -> None:
    email = await only_message(corpus.session, folder_of("nested-message.eml"))
    args = {"id": email["id"], "part": email["attachments"][0]["part"]}
    inner = structured(await corpus.session.call_tool("get_attachment", args))
    assert "Subject: The contract" in inner["text"]
    assert "Clause 4 changed: payment within 30 days." in inner["text"]
    assert "[Attached: contract.pdf (part 2.2)]" in inner["text"]


async def test_a_30_mb_attachment_is_listed_cheaply_and_saved_exactly(corpus: Shared) -> None:
    payload = big_payload()
    email = await only_message(corpus.session, "Big")
    (attached,) = email["attachments"]
    saved = structured(
        await corpus.session.call_tool(
            "get_attachment", {"id": email["id"], "part": attached["part"]}
        )
    )
    # base64 on the wire is 4/3 larger: the size listed is the decoded one, estimated.
    assert attached["size_estimated"] and abs(attached["size"] - len(payload)) < len(payload) / 100
    assert saved["size"] == len(payload)
    assert Path(saved["path"]).read_bytes() == payload
