"""The steps each worker's part of ``--diagnose`` is made of."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest

from protocol.diagnosis import SMTP_CHECKS
from workers.diagnostics import (
    Checklist,
    Endpoint,
    Failed,
    Note,
    connect,
    describe_tls,
    resolve,
)
from workers.imap.diagnose import special_folder
from workers.imap.folders import RawFolder

pytestmark = pytest.mark.anyio

END = Endpoint(
    host="localhost",
    port=1,
    host_hint="MAILBOX_IMAP_HOST (imap.mailbox.org for mailbox.org)",
    port_hint="MAILBOX_IMAP_PORT (993, IMAP over TLS)",
    ca_file=None,
    timeout=2.0,
)


async def passes() -> str:
    return "fine"


async def fails() -> str:
    raise Failed("it broke", "Do this.")


async def crashes() -> str:
    raise RuntimeError("Secret-In-Exception-Text")


async def test_after_a_failure_the_remaining_checks_are_skipped_not_passed() -> None:
    checks = Checklist(SMTP_CHECKS)
    await checks.step("smtp dns", passes)
    await checks.step("smtp connect", fails)
    assert not await checks.step("smtp tls", passes)
    result = checks.result().checks
    assert [(c.name, c.status) for c in result] == [
        ("smtp dns", "ok"),
        ("smtp connect", "failed"),
        ("smtp tls", "skipped"),
        ("smtp ehlo", "skipped"),
        ("smtp login", "skipped"),
    ]
    assert result[1].advice == "Do this."
    assert result[2].detail == "not checked, because smtp connect failed"


async def test_an_unexpected_error_is_a_failure_that_does_not_repeat_its_text() -> None:
    checks = Checklist(SMTP_CHECKS)
    await checks.step("smtp dns", crashes)
    failure = checks.result().checks[0]
    assert failure.status == "failed" and failure.advice
    assert "Secret-In-Exception-Text" not in failure.detail + failure.advice
    assert "RuntimeError" in failure.detail


async def test_a_note_is_a_passing_check_with_advice() -> None:
    async def noted() -> Note:
        return Note("works, with a limit", "Know this.")

    checks = Checklist(SMTP_CHECKS)
    assert await checks.step("smtp dns", noted)
    (noted_check, *_) = checks.result().checks
    assert (noted_check.ok, noted_check.status) == (True, "warning")
    assert (noted_check.detail, noted_check.advice) == ("works, with a limit", "Know this.")


def test_a_closed_port_is_refused_with_port_advice() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed = Endpoint("127.0.0.1", port, END.host_hint, END.port_hint, END.ca_file, END.timeout)
    with pytest.raises(Failed) as caught:
        connect(closed)
    assert caught.value.detail == f"127.0.0.1:{port} refused the connection"
    assert caught.value.advice.startswith("Check MAILBOX_IMAP_PORT (993, IMAP over TLS)")


def test_an_unknown_host_name_gets_spelling_advice() -> None:
    unknown = Endpoint(
        "no-such-host.invalid", 993, END.host_hint, END.port_hint, END.ca_file, END.timeout
    )
    with pytest.raises(Failed) as caught:
        resolve(unknown)
    assert caught.value.detail.startswith("the name no-such-host.invalid could not be found")
    assert caught.value.advice == (
        "Check the spelling of MAILBOX_IMAP_HOST (imap.mailbox.org for mailbox.org), and that "
        "this computer is online."
    )


def _cert(not_after: datetime) -> dict[str, object]:
    return {
        "subject": ((("commonName", "imap.mailbox.org"),),),
        "issuer": ((("organizationName", "Sectigo Limited"),),),
        "notAfter": not_after.strftime("%b %d %H:%M:%S %Y GMT"),
    }


def test_tls_shows_version_certificate_subject_issuer_and_expiry_date() -> None:
    assert describe_tls("TLSv1.3", _cert(datetime(2031, 9, 1, tzinfo=UTC))) == (
        "TLSv1.3, certificate for imap.mailbox.org from Sectigo Limited, valid until 2031-09-01"
    )


def test_a_certificate_about_to_expire_is_a_warning() -> None:
    soon = describe_tls("TLSv1.2", _cert(datetime.now(UTC) + timedelta(days=5, hours=1)))
    assert isinstance(soon, Note)
    assert soon.advice.startswith("The server's certificate expires in 5 days")


LISTING = [
    RawFolder("INBOX", "/", frozenset(), {}),
    RawFolder("Sent", "/", frozenset({"\\sent"}), {}),
    RawFolder("Papierkorb", "/", frozenset(), {}),
]


def test_a_marked_special_folder_is_named_with_what_goes_there() -> None:
    assert special_folder("sent", "Sent", LISTING, can_erase=True) == (
        "Sent: copies of the mail you send are saved here"
    )


def test_a_folder_with_the_usual_name_but_no_mark_is_a_warning_saying_what_happens() -> None:
    outcome = special_folder("trash", None, LISTING, can_erase=True)
    assert outcome == Note(
        "Papierkorb looks like the Trash folder, but the server does not mark it as one, so "
        "delete_email cannot move mail to a Trash folder; only erasing for good "
        "(permanent=true) works",
        "In your provider's webmail settings, choose Papierkorb as the folder for deleted "
        "mail, so that the server marks it as the Trash folder.",
    )


def test_a_missing_sent_folder_says_mail_still_goes_out_without_a_copy() -> None:
    outcome = special_folder("sent", None, LISTING[:1], can_erase=True)
    assert isinstance(outcome, Note)
    assert (
        outcome.detail == "no Sent folder: mail you send still goes out, but no copy of it is kept"
    )
    assert outcome.advice.startswith("Create a folder for sent mail")


def test_without_trash_and_without_erasing_deleting_does_not_work() -> None:
    outcome = special_folder("trash", None, LISTING[:1], can_erase=False)
    assert isinstance(outcome, Note)
    assert "deleting mail does not work" in outcome.detail
    assert "MAILBOX_ALLOW_PERMANENT_DELETE=0" in outcome.detail
