"""send_email, create_draft and send_draft through a real MCP client: aiosmtpd over TLS
delivering into Dovecot, the Sent copy saved with IMAP."""

from __future__ import annotations

import os
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from tests.mail_factory import deliver, message
from tests.mailbox import Mailbox
from tests.mcp_client import error_text, structured
from tests.server_env import Shared, module_server
from tests.servers.smtp import SmtpServer

FAMILIES = ("mail",)
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]


async def call(session: Any, tool: str, **args: Any) -> Any:
    return structured(await session.call_tool(tool, args))


async def emails(session: Any, folder: str = "INBOX", **filters: Any) -> list[dict[str, Any]]:
    return list((await call(session, "search_emails", folder=folder, **filters))["emails"])


refusing = module_server(None, FAMILIES)
"""One server for the messages that must be refused before anything is sent."""


def raw_in(mailbox: Mailbox, folder: str) -> list[tuple[bytes, list[bytes]]]:
    with mailbox.imap() as imap:
        imap.select_folder(folder, readonly=True)
        data = imap.fetch(imap.search(), ["BODY.PEEK[]", "FLAGS"])
    return [(item[b"BODY[]"], list(item[b"FLAGS"])) for _uid, item in sorted(data.items())]


async def test_a_sent_message_arrives_and_its_exact_bytes_are_saved_to_sent(
    mailbox: Mailbox, smtp: SmtpServer
) -> None:
    async with mailbox.session() as session:
        sent = await call(
            session,
            "send_email",
            to=[mailbox.account.email],
            subject="Budget",
            body="The numbers.\n",
        )
        inbox = await emails(session)
        read = await call(session, "get_email", id=inbox[0]["id"])
    assert sent["accepted"] == [mailbox.account.email] and sent["refused"] == []
    assert sent["saved_to_sent"] is True and sent["sent_id"].startswith("Sent#")
    assert read["subject"] == "Budget" and read["body"] == "The numbers."
    assert read["message_id"] == sent["message_id"]
    (delivery,) = smtp.messages_for(mailbox.account.email)
    ((sent_copy, flags),) = raw_in(mailbox, "Sent")
    assert sent_copy == delivery.data  # byte for byte what SMTP was given
    assert b"\\Seen" in flags


async def test_non_ascii_names_subjects_and_file_names_survive_the_round_trip(
    mailbox: Mailbox,
) -> None:
    outgoing = mailbox.folder / "outgoing"
    outgoing.mkdir()
    (outgoing / "März Übersicht.pdf").write_bytes(b"%PDF-1.4 " + os.urandom(5000))
    to = f"Jürgen Groß <{mailbox.account.email}>"
    async with mailbox.session() as session:
        await call(
            session,
            "send_email",
            to=[to],
            subject="Grüße aus Köln ✓ — 東京",
            body="Schöne Grüße,\nZoë\n",
            attachments=["März Übersicht.pdf"],
        )
        (summary,) = await emails(session)
        read = await call(session, "get_email", id=summary["id"])
        saved = await call(
            session, "get_attachment", id=summary["id"], part=read["attachments"][0]["part"]
        )
    assert read["to"] == [to]
    assert read["subject"] == "Grüße aus Köln ✓ — 東京"
    assert read["body"] == "Schöne Grüße,\nZoë"
    assert read["attachments"][0]["filename"] == "März Übersicht.pdf"
    assert Path(saved["path"]).read_bytes() == (outgoing / "März Übersicht.pdf").read_bytes()


async def test_bcc_recipients_get_the_message_but_nobody_sees_them(
    mailbox: Mailbox, smtp: SmtpServer
) -> None:
    async with mailbox.session() as session:
        await call(
            session,
            "send_email",
            to=["anna@example.test"],
            bcc=[mailbox.account.email],
            subject="Hidden",
            body="x",
        )
    (delivery,) = smtp.messages_for(mailbox.account.email)
    assert sorted(delivery.rcpt_tos) == sorted(["anna@example.test", mailbox.account.email])
    assert b"bcc" not in delivery.data.lower().split(b"\r\n\r\n")[0]
    ((inbox_copy, _flags),) = raw_in(mailbox, "INBOX")
    assert b"\r\nbcc:" not in inbox_copy.split(b"\r\n\r\n")[0].lower()


async def test_a_reply_threads_quotes_and_marks_the_original_answered(
    mailbox: Mailbox, smtp: SmtpServer
) -> None:
    original = message(
        "Re: Budget 2027",
        sender=f"Me Myself <{mailbox.account.email}>",
        to="Ben <ben@example.test>",
        cc="Carla <carla@example.test>",
        body="Can we cut travel?",
        message_id="<orig@example.test>",
        headers={"References": "<root@example.test>"},
    )
    mailbox.deliver("INBOX", original)
    async with mailbox.session() as session:
        (first,) = await emails(session)
        sent = await call(
            session, "send_email", reply_to_id=first["id"], reply_all=True, body="Yes, by 10%."
        )
        thread = await call(session, "get_email_thread", id=first["id"])
        flags = next(e for e in await emails(session) if e["id"] == first["id"])["flags"]
    (delivery,) = [d for d in smtp.received if sent["message_id"].encode() in d.data]
    reply = message_from_bytes(delivery.data, policy=policy.default)
    assert reply["Subject"] == "Re: Budget 2027"  # never "Re: Re:"
    assert reply["In-Reply-To"] == "<orig@example.test>"
    assert reply["References"] == "<root@example.test> <orig@example.test>"
    # A reply to one's own message goes to its recipients, as in a mail client.
    assert reply["To"] == "Ben <ben@example.test>"
    assert reply["Cc"] == "Carla <carla@example.test>"
    body = reply.get_body(("plain",)).get_content()
    assert body.startswith("Yes, by 10%.") and "> Can we cut travel?" in body
    assert [m["message_id"] for m in thread["messages"]] == [
        "<orig@example.test>",
        sent["message_id"],
    ]
    assert "answered" in flags


async def test_a_forward_carries_the_original_with_its_attachment(mailbox: Mailbox) -> None:
    payload = os.urandom(20_000)
    with mailbox.imap() as imap:
        deliver(
            imap,
            "Archive",
            message(
                "Offer", body="See attached.", attachment=("offer.pdf", payload, "application/pdf")
            ),
        )
    async with mailbox.session() as session:
        (original,) = await emails(session, folder="Archive")
        await call(
            session, "send_email", forward_id=original["id"], to=[mailbox.account.email], body="FYI"
        )
        (forwarded,) = await emails(session)
        read = await call(session, "get_email", id=forwarded["id"])
        attached, pdf = read["attachments"]
        inner = await call(session, "get_attachment", id=forwarded["id"], part=attached["part"])
        saved = await call(session, "get_attachment", id=forwarded["id"], part=pdf["part"])
    assert read["subject"] == "Fwd: Offer" and read["body"] == "FYI"
    assert attached["content_type"] == "message/rfc822"
    assert (pdf["filename"], pdf["inside"]) == ("offer.pdf", attached["part"])
    assert Path(saved["path"]).read_bytes() == payload
    assert "See attached." in inner["text"]
    assert f"[Attached: offer.pdf (part {pdf['part']})]" in inner["text"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "Hi\r\nBcc: victim@example.test"),
        ("to", ["ok@example.test\r\nBcc: victim@example.test"]),
        ("to", ["not an address"]),
        ("to", ["a@example.test, b@example.test"]),
        ("cc", ["\x00@example.test"]),
    ],
)
async def test_header_injection_and_bad_addresses_are_refused_and_nothing_is_sent(
    refusing: Shared, smtp: SmtpServer, field: str, value: Any
) -> None:
    before = len(smtp.received)
    args = {"to": ["anna@example.test"], "subject": "x", "body": "x", field: value}
    result = await refusing.session.call_tool("send_email", args)
    assert "Invalid arguments for send_email" in error_text(result)
    assert len(smtp.received) == before


@pytest.mark.parametrize("path", ["../secret.txt", "/etc/passwd", "link.txt"])
async def test_files_outside_the_attachment_folder_are_refused(
    refusing: Shared, smtp: SmtpServer, path: str
) -> None:
    # Beside the attachment folder lies secret.txt; in it, link.txt points there.
    secret, link = refusing.folder / "secret.txt", refusing.folder / "outgoing" / "link.txt"
    if not link.exists():
        link.parent.mkdir(exist_ok=True)
        secret.write_text("private")
        link.symlink_to(secret)
    before = len(smtp.received)
    result = await refusing.session.call_tool(
        "send_email", {"to": ["anna@example.test"], "body": "x", "attachments": [path]}
    )
    assert "not inside the attachment folder" in error_text(result)
    assert len(smtp.received) == before


async def test_attaching_is_off_when_no_attachment_folder_is_set(mailbox: Mailbox) -> None:
    del mailbox.env["MAILBOX_ATTACHMENT_DIR"]
    async with mailbox.session() as session:
        result = await session.call_tool(
            "send_email", {"to": ["anna@example.test"], "body": "x", "attachments": ["a.txt"]}
        )
    assert "MAILBOX_ATTACHMENT_DIR" in error_text(result)


async def test_a_connection_lost_after_data_reports_may_have_been_sent_and_never_resends(
    mailbox: Mailbox, smtp: SmtpServer
) -> None:
    smtp.behaviour.drop_after_data = True
    async with mailbox.session() as session:
        result = await session.call_tool(
            "send_email", {"to": [mailbox.account.email], "subject": "Once", "body": "only once"}
        )
        text = error_text(result)
        smtp.behaviour.drop_after_data = False
        inbox = await emails(session)
    assert "may have been sent" in text and "ask a recipient whether it arrived" in text
    assert len(smtp.messages_for(mailbox.account.email)) == 1
    assert [e["subject"] for e in inbox] == ["Once"]


async def test_refused_recipients_are_reported_beside_the_accepted_ones(
    mailbox: Mailbox, smtp: SmtpServer
) -> None:
    smtp.behaviour.refuse = {"ghost@example.test"}
    async with mailbox.session() as session:
        sent = await call(
            session, "send_email", to=[mailbox.account.email, "ghost@example.test"], body="hello"
        )
        all_refused = await session.call_tool(
            "send_email", {"to": ["ghost@example.test"], "body": "hello"}
        )
    assert sent["accepted"] == [mailbox.account.email]
    assert [r["address"] for r in sent["refused"]] == ["ghost@example.test"]
    assert "550" in sent["refused"][0]["reason"]
    assert "refused every recipient" in error_text(all_refused)


async def test_sending_over_required_starttls_works(mailbox: Mailbox, smtp: SmtpServer) -> None:
    mailbox.env["MAILBOX_SMTP_PORT"] = str(smtp.starttls_port)
    mailbox.env["MAILBOX_SMTP_SECURITY"] = "starttls"
    async with mailbox.session() as session:
        sent = await call(
            session, "send_email", to=[mailbox.account.email], subject="STARTTLS", body="x"
        )
    assert sent["accepted"] == [mailbox.account.email]


async def test_a_draft_is_saved_then_sent_and_removed_from_drafts(
    mailbox: Mailbox, smtp: SmtpServer
) -> None:
    async with mailbox.session() as session:
        draft = await call(
            session,
            "create_draft",
            to=[mailbox.account.email],
            bcc=["boss@example.test"],
            subject="Later",
            body="Draft text",
        )
        (in_drafts,) = await emails(session, folder="Drafts")
        assert smtp.messages_for(mailbox.account.email) == []
        sent = await call(session, "send_draft", id=draft["id"])
        drafts_after = await emails(session, folder="Drafts")
        (arrived,) = await emails(session)
    assert in_drafts["id"] == draft["id"] and "draft" in in_drafts["flags"]
    assert sent["message_id"] == draft["message_id"] and sent["saved_to_sent"] is True
    assert sorted(sent["accepted"]) == sorted([mailbox.account.email, "boss@example.test"])
    assert drafts_after == [] and arrived["subject"] == "Later"
    (delivery,) = smtp.messages_for(mailbox.account.email)
    assert b"boss@example.test" not in delivery.data
