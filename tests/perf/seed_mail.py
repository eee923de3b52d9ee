"""A realistic mailbox for the benchmarks, the same on every run (fixed random seed).

INBOX (``BENCH_MESSAGES``, 100,000 by default) and 20 folders (``BENCH_FOLDER_MESSAGES``,
1,000 each: Sent, Archive and 18 project folders) hold mail from a few hundred people,
some with non-ASCII names, dated over five years. About 10% carry an attachment
(multipart/mixed, a small base64 file), about 2% are HTML-only newsletters, and a
third of the rest answer an earlier message (``Re:``, In-Reply-To, References),
some with replies of ours in Sent, so conversations span folders.

A few landmark messages with their own subjects are what the benchmarks open:
a typical email, a text attachment, a six-message conversation across INBOX and
Sent, and (newest of all) a 30 MB attachment. Everything is written straight
into Dovecot's Maildir before it first opens the account (DovecotServer.seed_maildir).
"""

from __future__ import annotations

import base64
import os
import quopri
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.header import Header
from email.utils import format_datetime

from tests.mail_factory import BASE_TIME
from tests.servers.dovecot import Account, DovecotServer

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "100000"))
FOLDER_MESSAGES = int(os.environ.get("BENCH_FOLDER_MESSAGES", "1000"))
LARGE_ATTACHMENT_BYTES = 30 * 1024 * 1024
SEED = 4711
START = BASE_TIME - timedelta(days=5 * 365)
ME = "Sam Reader <you@example.test>"

PROJECTS = [
    "Acme",
    "Berlin Office",
    "Budget 2026",
    "Conferences",
    "Contracts",
    "Hiring",
    "Invoices",
    "Legal",
    "Marketing",
    "Migration",
    "Newsletter",
    "Partners",
    "Press",
    "Support",
    "Taxes",
    "Travel",
    "Website",
    "Workshop",
]
FOLDERS = ["Sent", "Archive", *(f"Projects/{name}" for name in PROJECTS)]

_FIRST = "Anna Ben Clara David Eva Felix Greta Hannah Ivan Jonas Karin Lena Malik Nora Olga Paul"
_LAST = "Berg Fischer Hoffmann Jansen Klein Lange Meyer Novak Okafor Peters Rossi Schmidt Weber"
_UNICODE_NAMES = ["Jürgen Müller", "Zoë Ångström", "Søren Kierkegård", "Łucja Wróbel", "José Núñez"]
_DOMAINS = ["example.test", "acme.example", "mail.example.org", "uni.example.edu", "bank.example"]
_TOPICS = [
    "budget",
    "invoice",
    "meeting",
    "report",
    "travel plans",
    "lunch",
    "project update",
    "contract",
    "review",
    "draft",
    "offsite",
    "hiring",
    "release",
    "roadmap",
    "Überweisung",
]
_SUBJECTS = [
    "{topic} for {month}",
    "Question about the {topic}",
    "{topic}: next steps",
    "Updated {topic} attached",
    "Quick note on the {topic}",
    "{month} {topic} ({ref})",
    "Reminder: {topic} due {day}",
]
_SENTENCES = [
    "Thanks for the quick reply.",
    "I have attached the latest version for your review.",
    "Could we move the meeting to Thursday afternoon?",
    "The numbers look good, but the travel costs are higher than planned.",
    "Let me know if anything is unclear.",
    "We still need the signed contract before the end of the month.",
    "I talked to the team and everyone agrees with the proposal.",
    "Please find the minutes of yesterday's call below.",
    "The invoice has been paid; the receipt should arrive soon.",
    "Can you check whether the room is free for the whole day?",
    "I will be out of office next week, Jonas is covering for me.",
    "The release went out this morning without problems.",
    "Grüße aus Berlin, und danke für die Geduld!",
    "We should decide on the venue by Friday.",
    "Attached are the figures you asked for.",
    "I think the second option is cheaper in the long run.",
]
_FILES = [
    ("report.pdf", "application/pdf"),
    ("notes.txt", "text/plain"),
    ("figures.csv", "text/csv"),
    ("photo.jpg", "image/jpeg"),
]


@dataclass(frozen=True)
class Landmarks:
    """Subjects (and a sender) that find the messages the benchmarks open."""

    typical: str = "Board pack: quarterly figures and agenda"
    text_attachment: str = "Minutes of the planning meeting"
    thread: str = "Offsite in Lisbon: who is coming?"
    thread_messages: int = 6
    large: str = "Site survey photos (full resolution)"
    newsletter_sender: str = "digest@news.example.test"


LANDMARKS = Landmarks()


@dataclass
class Seeded:
    """What was written, how long it took, and the account that holds it."""

    account: Account
    inbox: int = 0
    folders: dict[str, int] = field(default_factory=dict)
    bytes: int = 0
    seconds: float = 0.0


@dataclass
class _Conversation:
    subject: str
    references: list[str]
    other: str  # the person we write with


class _Mail:
    """Builds raw messages; one random source so the whole mailbox is reproducible."""

    def __init__(self, rng: random.Random, label: str) -> None:
        self.rng = rng
        self.label = label
        self.count = 0
        self.people = [self._person(i) for i in range(400)]
        self.open: list[_Conversation] = []

    def _person(self, i: int) -> str:
        rng = self.rng
        if i % 40 == 0:
            name = _UNICODE_NAMES[i // 40 % len(_UNICODE_NAMES)]
            local = f"person{i}"
        else:
            first, last = rng.choice(_FIRST.split()), rng.choice(_LAST.split())
            name, local = f"{first} {last}", f"{first}.{last}{i}".lower()
        encoded = Header(name, "utf-8").encode() if not name.isascii() else name
        return f"{encoded} <{local}@{_DOMAINS[i % len(_DOMAINS)]}>"

    def message_id(self) -> str:
        self.count += 1
        return f"<{self.count}.{self.label}.{self.rng.getrandbits(32):08x}@example.test>"

    def subject(self, when: datetime) -> str:
        text = self.rng.choice(_SUBJECTS).format(
            topic=self.rng.choice(_TOPICS),
            month=f"{when:%B}",
            day=f"{when + timedelta(days=self.rng.randrange(2, 20)):%d %b}",
            ref=f"{when:%y}-{self.rng.randrange(1, 999):03d}",
        )
        return text[0].upper() + text[1:]

    def body(self, sentences: tuple[int, int] = (3, 12)) -> str:
        chosen = [self.rng.choice(_SENTENCES) for _ in range(self.rng.randint(*sentences))]
        cut = max(1, len(chosen) // 2)
        return " ".join(chosen[:cut]) + "\r\n\r\n" + " ".join(chosen[cut:]) + "\r\n"

    def next_ordinary(self, when: datetime) -> tuple[bytes, _Conversation]:
        """A new message or (a third of the time) an answer in a recent conversation."""
        rng = self.rng
        if self.open and rng.random() < 1 / 3:
            conv = self.open[-rng.randrange(1, min(len(self.open), 50) + 1)]
            quoted = f"On {format_datetime(when - timedelta(hours=5))}, {conv.other} wrote:\r\n"
            body = self.body((1, 4)) + "\r\n" + quoted + "> " + self.body((2, 5))
            return self.reply(conv, conv.other, "you@example.test", when, body), conv
        conv = _Conversation(self.subject(when), [], rng.choice(self.people))
        self.open = [*self.open[-199:], conv]
        # 15% of new messages (answers never carry one): about 10% of all mail.
        attachment = self.attachment() if rng.random() < 0.15 else None
        return self.raw(conv, conv.other, "you@example.test", when, self.body(), attachment), conv

    def reply(self, conv: _Conversation, sender: str, to: str, when: datetime, body: str) -> bytes:
        return self.raw(conv, sender, to, when, body, None, reply=True)

    def raw(
        self,
        conv: _Conversation,
        sender: str,
        to: str,
        when: datetime,
        body: str,
        attachment: tuple[str, str, bytes] | None,
        *,
        reply: bool = False,
    ) -> bytes:
        message_id = self.message_id()
        subject = f"Re: {conv.subject}" if reply else conv.subject
        head = [
            f"From: {sender}",
            f"To: {to}",
            f"Subject: {Header(subject, 'utf-8').encode() if not subject.isascii() else subject}",
            f"Date: {format_datetime(when)}",
            f"Message-ID: {message_id}",
        ]
        if reply and conv.references:
            head += [
                f"In-Reply-To: {conv.references[-1]}",
                f"References: {' '.join(conv.references[-10:])}",
            ]
        conv.references.append(message_id)
        head.append("MIME-Version: 1.0")
        text = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit"
        if attachment is None:
            return ("\r\n".join([*head, text]) + "\r\n\r\n" + body).encode()
        name, mime, data = attachment
        boundary = f"=_part_{self.count}"
        encoded = base64.encodebytes(data).decode().replace("\n", "\r\n")
        return "\r\n".join(
            [
                *head,
                f'Content-Type: multipart/mixed; boundary="{boundary}"',
                "",
                f"--{boundary}",
                text,
                "",
                body,
                f"--{boundary}",
                f'Content-Type: {mime}; name="{name}"',
                f'Content-Disposition: attachment; filename="{name}"',
                "Content-Transfer-Encoding: base64",
                "",
                encoded,
                f"--{boundary}--",
                "",
            ]
        ).encode()

    def attachment(self) -> tuple[str, str, bytes]:
        name, mime = self.rng.choice(_FILES)
        size = self.rng.randrange(1024, 12 * 1024)
        if mime.startswith("text/"):
            lines = [
                f"{i};{self.rng.choice(_TOPICS)};{self.rng.randrange(10**5)}" for i in range(400)
            ]
            return name, mime, "\n".join(lines).encode()[:size]
        return name, mime, self.rng.randbytes(size)

    def newsletter(self, when: datetime, issue: int) -> bytes:
        """An HTML-only newsletter: styles, layout tables, a tracking pixel, links."""
        items = "".join(
            f'<tr><td style="padding:12px;font-family:Arial"><h2 style="color:#123">'
            f"{self.rng.choice(_TOPICS).title()} news</h2><p>{self.body((2, 4))}</p>"
            f'<a href="https://news.example.test/a/{issue}/{n}?utm_source=mail">Read more</a>'
            f"</td></tr>"
            for n in range(6)
        )
        html = (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><style>"
            "body{margin:0;background:#f4f4f4} .card{border:1px solid #ddd} "
            "@media (max-width:600px){.card{width:100%!important}}</style></head>"
            f'<body><table class="card" width="600" cellpadding="0" cellspacing="0">'
            f"<tr><td><h1>Weekly digest No. {issue}</h1></td></tr>{items}"
            '<tr><td style="font-size:11px;color:#888">You receive this because you '
            'subscribed. <a href="https://news.example.test/unsubscribe">Unsubscribe</a>'
            "</td></tr></table>"
            f'<img src="https://track.example.test/o/{issue}.gif" width="1" height="1"></body></html>'
        )
        head = [
            f"From: Weekly Digest <{LANDMARKS.newsletter_sender}>",
            "To: you@example.test",
            f"Subject: Weekly digest No. {issue}: what happened this week",
            f"Date: {format_datetime(when)}",
            f"Message-ID: {self.message_id()}",
            "List-Unsubscribe: <https://news.example.test/unsubscribe>",
            "MIME-Version: 1.0",
            "Content-Type: text/html; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
        ]
        body = quopri.encodestring(html.encode()).replace(b"\n", b"\r\n")
        return "\r\n".join(head).encode() + b"\r\n\r\n" + body

    def typical(self, when: datetime) -> bytes:
        """A plain business email of a few paragraphs, with a Cc and a signature."""
        conv = _Conversation(LANDMARKS.typical, [], "Karin Lange <karin.lange@acme.example>")
        paragraphs = "\r\n".join(self.body((3, 5)) for _ in range(4))
        body = f"Hi Sam,\r\n\r\n{paragraphs}\r\nBest,\r\nKarin\r\n-- \r\nKarin Lange, Acme\r\n"
        raw = self.raw(conv, conv.other, ME, when, body, None)
        return raw.replace(b"\r\nSubject:", b"\r\nCc: Ben Jansen <ben@acme.example>\r\nSubject:", 1)


def inbox_senders() -> list[str]:
    """The addresses of INBOX's 400 correspondents (each writes about 1 in 400 messages)."""
    people = _Mail(random.Random(SEED), "inbox").people
    return [person.rpartition("<")[2].rstrip(">") for person in people]


def frequent_sender() -> str:
    return inbox_senders()[42]


def _times(count: int, rng: random.Random) -> Iterator[datetime]:
    """``count`` moments over the last five years, in order."""
    step = (BASE_TIME - START) / max(count, 1)
    jitter = max(1, int(step.total_seconds()))
    for i in range(count):
        yield START + step * i + timedelta(seconds=rng.randrange(jitter))


Stored = tuple[bytes, datetime]


def inbox(count: int, sent: list[Stored], sent_count: int) -> Iterator[Stored]:
    """INBOX, oldest first; our replies are appended to ``sent`` as they happen.

    The landmarks sit among the newest messages; the 30 MB one is the newest of all.
    """
    mail = _Mail(random.Random(SEED), "inbox")
    every = max(1, count // max(sent_count, 1))
    gap = max(1, min(40, count // 50))
    typical_at, minutes_at = count - 7 * gap, count - 6 * gap
    thread = _Conversation(LANDMARKS.thread, [], "Marta Okafor <marta@acme.example>")
    # Marta writes, we answer, Marta answers, we answer, Ben and Marta reply: 4 here, 2 in Sent.
    thread_steps = {
        count - 5 * gap: (thread.other, True),
        count - 4 * gap: (thread.other, True),
        count - 3 * gap: ("Ben Jansen <ben@acme.example>", False),
        count - 2 * gap: (thread.other, False),
    }
    for i, when in enumerate(_times(count, mail.rng)):
        if i in thread_steps:
            sender, answered = thread_steps[i]
            body = mail.body((2, 6))
            yield (
                mail.raw(thread, sender, ME, when, body, None, reply=bool(thread.references)),
                when,
            )
            if answered:
                later = when + timedelta(hours=1)
                sent.append((mail.reply(thread, ME, thread.other, later, mail.body()), later))
        elif i == typical_at:
            yield mail.typical(when), when
        elif i == minutes_at:
            conv = _Conversation(LANDMARKS.text_attachment, [], mail.people[7])
            notes = "\n".join(f"{n}. {mail.rng.choice(_SENTENCES)}" for n in range(1, 40))
            minutes = ("minutes.txt", "text/plain", notes.encode())
            yield mail.raw(conv, conv.other, ME, when, mail.body(), minutes), when
        elif mail.rng.random() < 0.02:
            yield mail.newsletter(when, issue=i), when
        else:
            raw, conv = mail.next_ordinary(when)
            yield raw, when
            if i % every == every - 1 and len(sent) < sent_count:
                later = when + timedelta(minutes=mail.rng.randrange(5, 300))
                sent.append((mail.reply(conv, ME, conv.other, later, mail.body((1, 5))), later))
    conv = _Conversation(LANDMARKS.large, [], "Nora Novak <nora@survey.example>")
    survey = ("survey-photos.zip", "application/zip", mail.rng.randbytes(LARGE_ATTACHMENT_BYTES))
    yield mail.raw(conv, conv.other, ME, BASE_TIME, mail.body(), survey), BASE_TIME


def folder(name: str, count: int) -> Iterator[Stored]:
    """An ordinary folder (Archive, a project): conversations, attachments, no newsletters."""
    mail = _Mail(random.Random(f"{SEED}:{name}"), name.replace("/", "-").replace(" ", "-"))
    for when in _times(count, mail.rng):
        yield mail.next_ordinary(when)[0], when


def seed_mailbox(dovecot: DovecotServer, account: Account) -> Seeded:
    """Write the whole mailbox into ``account``'s Maildir (before Dovecot first opens it)."""
    seeded = Seeded(account)
    started = time.perf_counter()

    def counted(messages: Iterator[Stored]) -> Iterator[Stored]:
        for raw, when in messages:
            seeded.bytes += len(raw)
            yield raw, when

    # Small folders first: each seed_maildir call re-owns everything written so far.
    for name in FOLDERS[1:]:
        seeded.folders[name] = dovecot.seed_maildir(
            account, name, counted(folder(name, FOLDER_MESSAGES))
        )
    sent: list[Stored] = []
    seeded.inbox = dovecot.seed_maildir(
        account, "INBOX", counted(inbox(MESSAGES, sent, FOLDER_MESSAGES))
    )
    seeded.folders["Sent"] = dovecot.seed_maildir(account, "Sent", counted(iter(sent)))
    seeded.seconds = time.perf_counter() - started
    return seeded
