"""respond_to_invitation called as a confused or hostile agent would, on invitations a
hostile sender wrote: damaged calendar data, no UID, dates that are no dates, rules
without end, organizers that are no address, an occurrence that does not exist.
Whatever it is given, it answers with a result or one sentence of ours: never
"unexpectedly", a library's repr or server bytes; and no worker restarts.
"""

from __future__ import annotations

from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from tests.imap_client import other_client
from tests.invitation_mail import filled
from tests.mail_factory import deliver, message
from tests.mcp_client import structured
from tests.security.test_fuzz_mail import bounded_call
from tests.security.test_fuzz_mail_tools import Call, answer_every_call, restart_free_session
from tests.servers.dovecot import Account, DovecotServer

pytestmark = pytest.mark.tool_families("mail", "calendar")
ORGANIZER = "olga@example.test"


def invitation(me: str, summary: str, body: str) -> bytes:
    root = MIMEMultipart("alternative")
    root.attach(MIMEText("An invitation.\n", "plain", "utf-8"))
    part = MIMEText(body, "calendar", "utf-8")
    part.set_param("method", "REQUEST")
    root.attach(part)
    root["From"] = ORGANIZER
    root["To"] = me
    root["Subject"] = summary
    return root.as_bytes()


def hostile(me: str) -> dict[str, str]:
    """Invitations as a hostile sender writes them, by subject."""
    event = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:{method}\r\nBEGIN:VEVENT\r\n{lines}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    me_line = f"ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:{me}"
    return {
        "Broken": "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:nonsense\r\n",
        "No UID": event.format(
            method="REQUEST", lines=f"DTSTART:20270101T100000Z\r\n{me_line}\r\nSUMMARY:x"
        ),
        "Bad dates": event.format(
            method="REQUEST",
            lines=f"UID:bad-dates@x\r\nDTSTART:2027-13-45\r\nDTEND:0\r\n{me_line}\r\n"
            f"ORGANIZER:mailto:{ORGANIZER}",
        ),
        "Endless": event.format(
            method="REQUEST",
            lines=f"UID:endless@x\r\nDTSTART:00010101T000000Z\r\nRRULE:FREQ=SECONDLY\r\n"
            f"{me_line}\r\nORGANIZER:mailto:{ORGANIZER}",
        ),
        "Odd organizer": event.format(
            method="REQUEST",
            lines=f"UID:odd@x\r\nDTSTART:20270101T100000Z\r\n{me_line}\r\n"
            "ORGANIZER:mailto:a@b@c <x>",
        ),
        "Counter": event.format(
            method="COUNTER",
            lines=f"UID:counter@x\r\nDTSTART:20270101T100000Z\r\n{me_line}\r\n"
            f"ORGANIZER:mailto:{ORGANIZER}",
        ),
    }


def good(me: str) -> str:
    return filled("google-series.ics", UID="fuzz-series@example.test", ORGANIZER=ORGANIZER, ME=me)


OCCURRENCES = st.sampled_from(
    ["2027-03-15", "2027-03-08T09:00", "2027-03-09", "9999-12-31", "0001-01-01", "tomorrow"]
) | st.text(max_size=12)


def calls(real: list[str]) -> st.SearchStrategy[Call]:
    ids = (
        st.sampled_from(real)
        | st.sampled_from(["INBOX#1.99999", "x", "INBOX#0.0"])
        | st.text(max_size=20)
    )
    return st.fixed_dictionaries(
        {"email_id": ids},
        optional={
            "response": st.sampled_from(["accept", "decline", "tentative", "remove", "maybe", ""]),
            "comment": st.text(max_size=30),
            "occurrence": OCCURRENCES,
        },
    ).map(lambda args: ("respond_to_invitation", args))


def test_respond_to_invitation_answers_any_call_with_a_result_or_a_sentence_of_ours(
    server_env: dict[str, str], tmp_path: Path, dovecot: DovecotServer, account: Account
) -> None:
    server_env |= {
        "MAILBOX_SEND_ALLOW": "example.test",
    }
    me = account.email
    with other_client(dovecot, account) as imap:
        deliver(imap, "INBOX", invitation(me, "Weekly planning", good(me)))
        for subject, body in hostile(me).items():
            deliver(imap, "INBOX", invitation(me, subject, body))
        deliver(imap, "INBOX", message("Plain mail", to=me))
    with restart_free_session(server_env, tmp_path / "err.log") as (portal, session):
        found: Any = structured(portal.call(bounded_call, session, "search_emails", {"limit": 50}))[
            "emails"
        ]
        real = [e["id"] for e in found]
        series = next(e["id"] for e in found if e["subject"] == "Weekly planning")
        plain = [
            ("respond_to_invitation", {"email_id": series, "response": "accept"}),
            (
                "respond_to_invitation",
                {"email_id": series, "response": "decline", "occurrence": "2027-03-15"},
            ),
        ]
        answers = answer_every_call(portal, session, calls(real), plain)
        for email_id in real:
            portal.call(bounded_call, session, "get_email", {"id": email_id})
    assert answers["ok"] >= 2 and answers["refused"] > 0, answers
