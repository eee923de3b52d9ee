"""Hostile strings in every tool argument that reaches a server (DESIGN.md section 9).

imapclient sends CR/LF inside a value raw, so a string such as "x\\r\\nA2 STORE 1:*
+FLAGS (\\\\Deleted)" could become a command of its own. Each test feeds one argument
of one tool every string of HOSTILE and requires that each call either fails with a
clear one-line sentence or does no harm, and that afterwards, seen from outside:
INBOX holds its seeded messages, none marked \\\\Deleted; no folder came or went
unasked; Dovecot's rawlog holds no command the client library did not make; the
calendar's seeded series is untouched and holds no smuggled event.

One account and one MCP session serve the whole module (a session costs seconds);
no test here needs a state another test could spoil. Already proven in tests/e2e:
a line break in a search query (test_search.py) or a folder name to create
(test_folders.py) is refused, and header injection in send_email's subject and
addresses is refused before anything is sent (test_send.py).
"""

from __future__ import annotations

import http.server
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest

from tests.imap_client import other_client
from tests.mail_factory import deliver, message
from tests.mcp_client import structured, text_of
from tests.server_env import NO_RATE_LIMITS, Servers, module_session
from tests.servers.dav import DavAccount
from tests.servers.dovecot import Account, DovecotServer
from tests.servers.in_thread import served_in_a_thread
from tests.servers.smtp import SmtpServer
from workers.dav.ids import EventId

pytestmark = pytest.mark.anyio

ICS = Path(__file__).resolve().parent.parent / "data" / "ics"
CALL_LIMIT = 60.0
HOSTILE: dict[str, str] = {
    "quotes": 'say "hi" \\ there \'',
    "syntax": "{braces} (parens) [brackets] * % ~ NIL",
    "crlf-delete": "\r\n A1 DELETE INBOX",
    "crlf-store": "x\r\nA2 STORE 1:* +FLAGS (\\Deleted)",
    "lf-expunge": "x\nA3 EXPUNGE",
    "trailing-lf": "2\n",
    "nul": "nul\x00byte",
    "unicode": "Grüße ✓ 東京 \u202eevil 😀",
    "literal": "{5}\r\nhello",
    "literal-marker": "x {5}",
    "ical": "x\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:injected\r\nSUMMARY:Injected\r\nEND:VEVENT",
    "traversal": "../../escape",
    "long": "A" * 100_000,
}
SEEDED = ("Invoice", "Holiday plans", "Report with attachment")
FOLDERS = {"INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"}
TO_ANNA = "anna@example.test"  # not an account here: the SMTP server only records it
MESSAGE: dict[str, Any] = {"to": [TO_ANNA], "subject": "Hello", "body": "Text."}
EVENT = {"summary": "Meeting", "start": "2026-05-05T10:00", "end": "2026-05-05T11:00"}
MARCH = {"start": "2026-03-01", "end": "2026-03-31"}
# Every header a composed message may carry (Bcc is stripped before sending).
HEADERS = {
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
}
# imaplib tags each command with four letters A-P and a counter ("HMDN12"); any other
# first word on a command line is a command the client library did not make.
LIBRARY_TAG = re.compile(r"^[A-P]{4}\d+$")
LITERAL = re.compile(rb"\{(\d+)\+?\}$")
SMUGGLED_EVENT = re.compile(r"^(UID:injected|SUMMARY:Injected)", re.MULTILINE)
# What a crash looks like once the supervisor has caught it.
DEFECTS = ("traceback", "internal error", "error executing tool", "exception", "unexpectedly")


@dataclass
class Mailbox:
    """The module's account, its MCP session and what was seeded, with ids."""

    session: Any
    account: Account
    dovecot: DovecotServer
    smtp: SmtpServer
    calendar_folder: Path  # Radicale's storage of the account's calendar
    stored_events: dict[str, str]  # that folder's files after seeding
    ids: dict[str, str]  # seeded subject -> email id
    archived: str  # an email id in Archive, for move_email
    validity: str  # INBOX's UIDVALIDITY: "<hostile>#<validity>.1" is a well-formed id
    calendar: str  # the calendar's id (its path)
    folders: set[str] = field(default_factory=lambda: set(FOLDERS))


@pytest.fixture(scope="module")
async def mailbox(
    anyio_backend: str, servers: Servers, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Mailbox]:
    dovecot, smtp = servers.dovecot, servers.smtp
    account = servers.new_account()
    radicale = servers.dav["radicale"]
    servers.dav_login(radicale, account)
    login = DavAccount(account.email, account.password, radicale.url)
    radicale.put_object(login, "standup.ics", (ICS / "weekly-exdate-moved.ics").read_text())
    calendar_folder = radicale.root / "collections" / "collection-root" / account.email / "calendar"
    with other_client(dovecot, account) as imap:
        for subject in SEEDED:
            clip = ("notes.txt", b"plain notes", "text/plain") if "attachment" in subject else None
            deliver(imap, "INBOX", message(subject, attachment=clip))
        deliver(imap, "Archive", message("Movable"))
    dovecot.record_commands(account)  # before the server's first login
    folder = tmp_path_factory.mktemp("injection")
    env = servers.env(account, folder) | NO_RATE_LIMITS
    async with module_session(env, folder) as session:
        with anyio.fail_after(CALL_LIMIT):
            inbox = structured(await session.call_tool("search_emails", {}))["emails"]
            (archived,) = structured(
                await session.call_tool("search_emails", {"folder": "Archive"})
            )["emails"]
            (calendar,) = structured(await session.call_tool("list_calendars", {}))["calendars"]
        ids = {e["subject"]: e["id"] for e in inbox}
        yield Mailbox(
            session=session,
            account=account,
            dovecot=dovecot,
            smtp=smtp,
            calendar_folder=calendar_folder,
            stored_events=stored(calendar_folder),
            ids=ids,
            archived=archived["id"],
            validity=ids["Invoice"].rpartition("#")[2].split(".")[0],
            calendar=calendar["id"],
        )


# -- how each argument is given -------------------------------------------------------

Forms = Callable[[Mailbox, str], list[dict[str, Any]]]


def plain(name: str, **fixed: Any) -> Forms:
    return lambda mb, value: [{**fixed, name: value}]


def listed(name: str, **fixed: Any) -> Forms:
    return lambda mb, value: [{**fixed, name: [value]}]


def fixed_with(name: str, make: Callable[[Mailbox], dict[str, Any]]) -> Forms:
    """Arguments that need the module's ids, and the hostile value under ``name``."""
    return lambda mb, value: [{**make(mb), name: value}]


def email_ids(name: str, many: bool = False, **fixed: Any) -> Forms:
    """The value as an id, and as the folder of a well-formed id (it then reaches SELECT)."""

    def forms(mb: Mailbox, value: str) -> list[dict[str, Any]]:
        ids = (value, f"{value}#{mb.validity}.1")
        return [{**fixed, name: [i] if many else i} for i in ids]

    return forms


def addresses(name: str) -> Forms:
    """The value alone, and as the display name of an address."""

    def forms(mb: Mailbox, value: str) -> list[dict[str, Any]]:
        return [{**MESSAGE, name: [one]} for one in (value, f"{value} <{TO_ANNA}>")]

    return forms


def event_ids(**fixed: Any) -> Forms:
    """The value as an id, and inside a well-formed id, as file name and UID in our calendar."""

    def forms(mb: Mailbox, value: str) -> list[dict[str, Any]]:
        crafted = str(EventId(mb.calendar, mb.calendar + value, value, ""))
        return [{**fixed, "id": value}, {**fixed, "id": crafted}]

    return forms


# (tool, argument, how to pass the value), in an order where no call can spoil a later one.
TARGETS: list[tuple[str, str, Forms]] = [
    ("search_emails", "folder", plain("folder")),
    ("search_emails", "query", plain("query")),
    ("search_emails", "sender", plain("sender")),
    ("search_emails", "recipient", plain("recipient")),
    ("search_emails", "subject", plain("subject")),
    ("search_emails", "since", plain("since")),
    ("get_email", "id", email_ids("id")),
    ("get_email_thread", "id", email_ids("id")),
    ("get_attachment", "id", email_ids("id", part="2")),
    ("get_attachment", "part", fixed_with("part", lambda mb: {"id": mb.ids[SEEDED[2]]})),
    ("mark_email", "ids", email_ids("ids", many=True, flagged=True)),
    ("move_email", "ids", email_ids("ids", many=True, destination="Archive")),
    ("delete_email", "ids", email_ids("ids", many=True)),
    ("move_email", "destination", fixed_with("destination", lambda mb: {"ids": [mb.archived]})),
    ("create_directory", "name", plain("name")),
    ("send_email", "subject", plain("subject", to=[TO_ANNA], body="Text.")),
    ("send_email", "body", plain("body", **MESSAGE)),
    ("send_email", "to", addresses("to")),
    ("send_email", "cc", addresses("cc")),
    ("send_email", "bcc", addresses("bcc")),
    ("create_draft", "subject", plain("subject", **MESSAGE)),
    ("create_draft", "body", plain("body", **MESSAGE)),
    ("create_draft", "to", addresses("to")),
    ("create_draft", "cc", addresses("cc")),
    ("create_draft", "bcc", addresses("bcc")),
    ("search_calendar", "query", plain("query")),
    ("get_calendar_events", "start", plain("start", end="2026-03-31")),
    ("get_calendar_events", "end", plain("end", start="2026-03-01")),
    ("get_calendar_events", "calendars", listed("calendars", **MARCH)),
    ("create_event", "summary", plain("summary", start=EVENT["start"], end=EVENT["end"])),
    ("create_event", "location", plain("location", **EVENT)),
    ("create_event", "description", plain("description", **EVENT)),
    ("create_event", "attendees", listed("attendees", **EVENT)),
    ("create_event", "rrule", plain("rrule", **EVENT)),
    ("create_event", "timezone", plain("timezone", **EVENT)),
    ("create_event", "calendar", plain("calendar", **EVENT)),
    ("update_event", "id", event_ids(summary="Changed")),
    ("delete_event", "id", event_ids(scope="series")),
]


# -- what is checked -----------------------------------------------------------------


def unclear(text: str) -> str | None:
    """Why an error text is not one clear sentence, or None."""
    if not text.strip():
        return "empty error"
    if any(defect in text.lower() for defect in DEFECTS):
        return "a crash, not a sentence"
    if any(ch in text for ch in "\r\n\x00"):
        return "a raw line break or NUL in the sentence"
    return None


async def accepted(
    session: Any, tool: str, args: dict[str, Any], label: str, problems: list[str]
) -> types.CallToolResult | None:
    """Call ``tool``: its answer when it was accepted; None when it was refused, and then
    why the refusal is not one clear sentence, if it is not, goes to ``problems``."""
    with anyio.fail_after(CALL_LIMIT):
        result: types.CallToolResult = await session.call_tool(tool, args)
    if not result.is_error:
        return result
    if why := unclear(text_of(result)):
        problems.append(f"{label}: {why}: {text_of(result)[:300]!r}")
    return None


def stored(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(errors="replace") for p in folder.glob("*.ics")}


def imap_commands(dovecot: DovecotServer, account: Account) -> list[str]:
    """Every command the account's clients sent, from Dovecot's rawlog, with the
    content of literals left out ("{literal}" stands in for each).

    DovecotServer.commands_sent keeps the lines of a literal too, so a message body
    appended to Sent that says "A2 STORE ..." would look like a command there.
    """
    commands = []
    for path in sorted((dovecot.root / "rawlog" / account.email).glob("*.in")):
        # The rawlog stamps the start of every line; take the stamps off again.
        lines = path.read_bytes().split(b"\n")
        stream = b"\n".join(line.partition(b" ")[2] for line in lines)
        position, command = 0, b""
        while (end := stream.find(b"\r\n", position)) >= 0:
            line, position = stream[position:end], end + 2
            if literal := LITERAL.search(line):
                command += line[: literal.start()] + b"{literal}"
                position += int(literal.group(1))
                continue
            commands.append((command + line).decode("utf-8", "replace"))
            command = b""
    return commands


def assert_nothing_harmed(mb: Mailbox) -> None:
    with other_client(mb.dovecot, mb.account) as imap:
        folders = {name for _flags, _delimiter, name in imap.list_folders()}
        imap.select_folder("INBOX", readonly=True)
        inbox = imap.fetch(imap.search(["ALL"]), ["ENVELOPE", "FLAGS"])
    deleted = {
        item[b"ENVELOPE"].subject.decode(): b"\\Deleted" in item[b"FLAGS"]
        for item in inbox.values()
    }
    assert {subject: deleted.get(subject) for subject in SEEDED} == dict.fromkeys(SEEDED, False)
    assert folders == mb.folders
    foreign = [
        c for c in imap_commands(mb.dovecot, mb.account) if not LIBRARY_TAG.match(c.split(" ")[0])
    ]
    assert foreign == [], "commands the client library did not make reached Dovecot"
    now = stored(mb.calendar_folder)
    assert now["standup.ics"] == mb.stored_events["standup.ics"]
    assert [name for name, text in now.items() if SMUGGLED_EVENT.search(text)] == []
    escaped = [
        p
        for root in (mb.dovecot.root, mb.calendar_folder.parent.parent)
        for p in root.rglob("escape*")
    ]
    assert escaped == [], "a name with ../ made a file outside its folder"


def assert_sent_harmlessly(mb: Mailbox, before: int) -> None:
    """Every message sent since ``before`` has only the headers we compose."""
    for delivery in mb.smtp.received[before:]:
        head = BytesHeaderParser().parsebytes(delivery.data)
        assert set(head.keys()) <= HEADERS, head.keys()


@pytest.mark.parametrize(
    ("tool", "argument", "forms"),
    [
        pytest.param(tool, argument, forms, id=f"{tool}.{argument}")
        for tool, argument, forms in TARGETS
    ],
)
async def test_hostile_strings_are_refused_clearly_or_do_no_harm(
    mailbox: Mailbox, tool: str, argument: str, forms: Forms
) -> None:
    problems = []
    for name, value in HOSTILE.items():
        for args in forms(mailbox, value):
            sent_before = len(mailbox.smtp.received)
            result = await accepted(mailbox.session, tool, args, name, problems)
            if result is None:
                continue
            if tool == "create_directory":
                made = str(structured(result)["name"]).split("/")
                mailbox.folders |= {"/".join(made[:n]) for n in range(1, len(made) + 1)}
            assert_sent_harmlessly(mailbox, sent_before)
    assert problems == []
    assert_nothing_harmed(mailbox)


# -- what once did not hold ---------------------------------------------------


async def send(mb: Mailbox, tool: str, **args: Any) -> types.CallToolResult:
    with anyio.fail_after(CALL_LIMIT):
        result: types.CallToolResult = await mb.session.call_tool(tool, args)
    return result


@pytest.mark.parametrize(
    "address",
    [f"eve@evil.example( <{TO_ANNA}>", f"{HOSTILE['quotes']} <{TO_ANNA}>"],
    ids=["open-comment", "quotes"],
)
async def test_a_message_goes_only_to_the_address_that_was_checked(
    mailbox: Mailbox, address: str
) -> None:
    before = len(mailbox.smtp.received)
    result = await send(mailbox, "send_email", to=[address], subject="Hello", body="Text.")
    if result.is_error:
        assert unclear(text_of(result)) is None
    assert [d.rcpt_tos for d in mailbox.smtp.received[before:]] in ([], [[TO_ANNA]])


@pytest.mark.parametrize("tool", ["send_email", "create_draft"])
async def test_a_display_name_the_header_parser_once_choked_on_is_quoted_and_kept_to_its_address(
    mailbox: Mailbox, tool: str
) -> None:
    before = len(mailbox.smtp.received)
    result = await send(mailbox, tool, to=[f"{HOSTILE['traversal']} <{TO_ANNA}>"], body="Text.")
    assert not result.is_error, text_of(result)
    sent = [d.rcpt_tos for d in mailbox.smtp.received[before:]]
    assert sent == ([[TO_ANNA]] if tool == "send_email" else [])


class ForeignServer(http.server.ThreadingHTTPServer):
    """Another web server on this computer that counts every connection and asks for
    Basic credentials, as a collector of passwords would."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ForeignHandler)
        self.port: int = self.server_address[1]
        self.connections = 0
        self.credentials = 0  # requests that carried an Authorization header

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections += 1
        return True


class _ForeignHandler(http.server.BaseHTTPRequestHandler):
    server: ForeignServer

    def _answer(self) -> None:
        if self.headers.get("Authorization"):
            self.server.credentials += 1
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="calendar"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT = do_DELETE = do_PROPFIND = do_REPORT = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def foreign_server() -> Iterator[ForeignServer]:
    yield from served_in_a_thread(ForeignServer())


async def test_an_event_id_naming_another_server_sends_that_server_nothing(
    mailbox: Mailbox, foreign_server: ForeignServer
) -> None:
    elsewhere = f"127.0.0.1:{foreign_server.port}/x.ics"
    answers = []
    for href in (f"http://{elsewhere}", f"//{elsewhere}"):
        forged = str(EventId(mailbox.calendar, href, "standup@tests", ""))
        answers.append(await send(mailbox, "delete_event", id=forged))
        answers.append(await send(mailbox, "update_event", id=forged, summary="Changed"))
    assert all(answer.is_error for answer in answers)
    assert (foreign_server.connections, foreign_server.credentials) == (0, 0)


async def test_an_event_id_naming_the_calendar_itself_deletes_and_changes_nothing(
    mailbox: Mailbox,
) -> None:
    """Radicale answers a GET of the collection with every event in it: an id whose
    object is the calendar would make delete_event remove the whole calendar."""
    before = stored(mailbox.calendar_folder)
    answers = []
    for href in (mailbox.calendar, mailbox.calendar.rstrip("/"), mailbox.calendar + "sub/"):
        forged = str(EventId(mailbox.calendar, href, "standup@tests", ""))
        answers.append(await send(mailbox, "delete_event", id=forged))
        answers.append(await send(mailbox, "update_event", id=forged, summary="Changed"))
    assert all(answer.is_error for answer in answers)
    assert stored(mailbox.calendar_folder) == before
