"""respond_to_invitation when the calendar server refuses to change the copy it already
holds, as mailbox.org's OX answers 403 to a PUT that sets one's own PARTSTAT on an
invitation it received itself: the reply still goes out and the answer says what the
calendar shows and what to do.

Radicale only: its rights make a calendar the user may read but not write (the
"shared" one, see supervisor/sandbox/dav_documents.py), filled straight in its
storage; Xandikos cannot make a collection read-only (every user has DAV:all), so
it never refuses such a PUT.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.calendar_calls import call
from tests.imap_client import other_client
from tests.invitation_mail import Invitation, attendees, ox_mail, replies, reply_event
from tests.mail_factory import deliver
from tests.mcp_client import mcp_session, structured, text_of
from tests.server_env import Servers
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp import SmtpServer

FAMILIES = ("mail", "calendar")
pytestmark = [pytest.mark.anyio, pytest.mark.tool_families(*FAMILIES)]


def read_only_copy(folder: Path, ics: str) -> Path:
    """A calendar "Team" holding the invited event, put there as an administrator would
    (the user may not create it); returns the stored copy's file."""
    folder.mkdir(parents=True, exist_ok=True)
    props = {"tag": "VCALENDAR", "D:displayname": "Team"}
    (folder / ".Radicale.props").write_text(json.dumps(props))
    held = folder / "invitation.ics"
    held.write_text(ics, newline="")
    return held


async def test_accepting_an_event_held_in_a_read_only_calendar_replies_and_says_to_use_the_web(
    servers: Servers, dovecot: DovecotServer, smtp: SmtpServer, tmp_path: Path
) -> None:
    account = servers.new_account()
    env = servers.env(account, tmp_path, FAMILIES, "radicale")
    inv = Invitation(me=account.email)
    request = inv.ics("ox-request.ics", SEQUENCE="0", SUMMARY="Team review")
    collections = servers.dav["radicale"].root / "collections" / "collection-root"
    held = read_only_copy(
        collections / account.email / "shared", request.replace("METHOD:REQUEST\r\n", "")
    )
    before = held.read_bytes()
    subject = "Invitation: Team review"
    with other_client(dovecot, account) as imap:
        deliver(imap, "INBOX", ox_mail(inv, request, subject))
    async with mcp_session(env, tmp_path / "err.log") as session:
        (found,) = (await call(session, "search_emails"))["emails"]
        result = await session.call_tool(
            "respond_to_invitation", {"email_id": found["id"], "response": "accept"}
        )
    answer, text = structured(result), text_of(result)
    assert answer["reply_sent"] is True and answer["calendar_change"] == "refused"
    assert "Team still shows the event with no answer yet" in text, text
    assert "set your answer there" in text and "web interface" in text, text
    (mail,) = replies(smtp, inv)
    event = reply_event(mail)[1]
    (me,) = attendees(event)
    assert str(event["UID"]) == inv.uid and me.params["PARTSTAT"] == "ACCEPTED"
    assert held.read_bytes() == before
