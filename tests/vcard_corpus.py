"""The vCard corpus (tests/data/vcards) and what each of its cards must read as.

The expectations are written once, here, for the unit test of the worker's parser
(tests/unit/test_vcard_corpus.py) and the end-to-end test over both CardDAV
servers (tests/e2e/test_contact_corpus.py). A card "reads" when its name, emails,
phones (compared by their digits) and organization come out as a person would
copy them from the exporting application; a card marked ``noted`` may lose
something, but must say so in a note on that card.
"""

from __future__ import annotations

import base64
import random
import re
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).parent / "data" / "vcards"
_CARD = re.compile(rb"BEGIN:VCARD\r?\n.*?END:VCARD\r?\n?", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class Expected:
    """What one card of the corpus reads as."""

    file: str
    index: int  # the card's place in its file (an export holds several)
    # Compared in NFC (the NFD card must read as the same letters); for a card ``noted``
    # only the start, which is what survives a broken encoding.
    name: str
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()  # digits only: "+49 (30) 1234-567" is "49301234567"
    organization: str | None = None  # the company, the start of what is shown
    has_photo: bool = False
    notes_contain: str | None = None
    noted: bool = False  # something cannot be read: a note on the card must say so
    # A server may refuse it, or store it re-encoded (Radicale reads a body that is not
    # UTF-8 as Latin-1): then it need only be listed and read, whatever it now says.
    servers_may_refuse: bool = False

    @property
    def key(self) -> str:
        return f"{self.file}#{self.index}"


def _thirty() -> tuple[str, ...]:
    return tuple(
        f"rafael.costa+{i:02d}@{('example.org', 'example.com')[i % 2]}" for i in range(1, 31)
    )


EXPECTED: tuple[Expected, ...] = (
    Expected(
        "apple-contacts.vcf",
        0,
        "Sarita Ghosh",
        ("sarita@example.org", "sarita.ghosh@example.com"),
        ("491705550123", "49301234567"),
        "Example Analytics GmbH",
        has_photo=True,
        notes_contain="Prefers email over calls, mornings only.",
    ),
    Expected(
        "apple-contacts.vcf",
        1,
        "Tomás Ortega",
        ("tomas@example.com",),
        ("34600555014", "34911555230"),
        has_photo=True,
    ),
    Expected(
        "apple-contacts.vcf",
        2,
        "Bäckerei Sonnenschein",
        ("bestellung@example.com",),
        ("49895550199",),
        "Bäckerei Sonnenschein",
    ),
    Expected(
        "google-contacts.vcf",
        0,
        "Priya Raman",
        ("priya.raman@example.com", "p.raman@example.org", "priya.old@example.org"),
        ("447700900123", "02079460958"),
        "Example Health Ltd",
        has_photo=True,  # a PHOTO given as a URL is a photo too
    ),
    Expected(
        "google-contacts.vcf",
        1,
        "Dr. Hamid Karimi",
        (),
        ("494055508800", "494055508899"),
        "Praxis Karimi",
    ),
    Expected(
        "google-contacts.vcf", 2, "invoices@example.com", ("invoices@example.com",), noted=True
    ),
    Expected(
        "thunderbird.vcf",
        0,
        "Jürgen Schmidt",
        ("juergen.schmidt@example.org", "j.schmidt@example.com"),
        ("491705550142", "493055501468"),
        "Example Logistik AG",
    ),
    Expected(
        "thunderbird.vcf", 1, "Emma Lindqvist", ("emma.lindqvist@example.com",), ("46855501234",)
    ),
    Expected(
        "ox-app-suite.vcf",
        0,
        "Chidinma Okafor",
        ("c.okafor@example.org", "chidinma@example.com", "chi.okafor@example.com"),
        ("492215550300", "4915155503001", "492215550399"),
        "Example Stadtwerke",
        notes_contain="Vertretung: Herr Brandt.",
    ),
    Expected("ox-app-suite.vcf", 1, "Projektteam Netzausbau"),
    Expected(
        "thirty-emails.vcf", 0, "Rafael Costa", _thirty(), ("351912555030",), "Example Events Lda"
    ),
    Expected(
        "arabic-name.vcf",
        0,
        "ليلى حداد",
        ("layla.haddad@example.org",),
        ("971505550147",),
        "شركة المثال للتجارة",
    ),
    Expected(
        "chinese-name.vcf",
        0,
        "王小明",
        ("xiaoming.wang@example.com",),
        ("8613805558000",),
        "示例科技有限公司",
        notes_contain="喜欢喝绿茶",
    ),
    Expected(
        "nfd-mueller.vcf",
        0,
        "Anja Müller",
        ("anja.mueller@example.org",),
        ("491715550777",),
        "Müller & Söhne Feinkost",
    ),
    Expected(
        "no-fn.vcf",
        0,
        "Haruto Nakamura",
        ("haruto.nakamura@example.com",),
        ("819055501234",),
        noted=True,
        servers_may_refuse=True,  # both test servers do: FN is required
    ),
    Expected(
        "no-fn.vcf",
        1,
        "Example Hausverwaltung",
        ("verwaltung@example.org",),
        (),
        "Example Hausverwaltung",
        noted=True,
        servers_may_refuse=True,
    ),
    Expected(
        "quoted-printable.vcf",
        0,
        "Björn Weiß",
        ("bjoern.weiss@example.com",),
        ("4916055502211", "494055502200"),
        notes_contain="Frau Köhler im Erdgeschoss.",
        servers_may_refuse=True,  # vCard 2.1 (Xandikos cannot parse its soft breaks)
    ),
    Expected(
        "quoted-printable.vcf",
        1,
        "Ivana Kovačić",
        ("ivana.kovacic@example.org",),
        ("385915550188",),
        "Primjer d.o.o. \u2013 Zagreb",
    ),
    Expected(
        "broken-encoding.vcf",
        0,
        "Greta Lindgren",
        ("greta.lindgren@example.org",),
        has_photo=True,  # never decoded, so never found broken: it is "there"
        servers_may_refuse=True,  # both test servers decode the photo, and fail
    ),
    Expected(
        "broken-encoding.vcf",
        1,
        "Ole Ols",
        ("ole.olsen@example.com",),
        noted=True,
        servers_may_refuse=True,
    ),
    Expected(
        "broken-encoding.vcf", 2, "Kor Q\u2019onos", (), ("15550100222",), servers_may_refuse=True
    ),
    Expected(
        "latin1-mislabelled.vcf",
        0,
        "Fran",  # what follows is lost to the wrong charset, and the note says so
        ("francois.levesque@example.com",),
        noted=True,
        servers_may_refuse=True,
    ),
    Expected(
        "fold-inside-utf8.vcf",
        0,
        "李娜",
        ("li.na@example.com",),
        notes_contain="会议记录" * 12,
        servers_may_refuse=True,
    ),
    Expected(
        "duplicate-uid-1.vcf", 0, "Mats Brandt", ("mats.brandt@example.org",), ("492215550310",)
    ),
    Expected(
        "duplicate-uid-2.vcf",
        0,
        "Mats Brandt",
        ("mats@example.com",),
        ("491605550311",),
        servers_may_refuse=True,  # the same UID as duplicate-uid-1 in one address book
    ),
)


def cards_of(path: Path) -> list[bytes]:
    """The cards of one corpus file, each as its own bytes (one CardDAV resource each)."""
    return [match.group() for match in _CARD.finditer(path.read_bytes())]


def with_uid(card: bytes, key: str) -> bytes:
    """``card`` as a CardDAV client stores an exported card: with a UID (exports from
    Apple and Google have none, and servers refuse a card without one), added just
    before END:VCARD; every other byte as it was."""
    if re.search(rb"^UID[;:]", card, re.MULTILINE | re.IGNORECASE):
        return card
    uid = uuid.uuid5(uuid.NAMESPACE_URL, f"https://example.org/corpus/{key}")
    end = card.upper().rindex(b"END:VCARD")
    return card[:end] + f"UID:{uid}\r\n".encode() + card[end:]


def corpus_cards() -> dict[str, bytes]:
    """Every card of the corpus by ``file#index``."""
    return {
        f"{path.name}#{n}": card
        for path in sorted(CORPUS.glob("*.vcf"))
        for n, card in enumerate(cards_of(path))
    }


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


LARGE_PHOTO_NAME = "Ingrid Halvorsen"


def card_with_large_photo(megabytes: float = 4.0) -> str:
    """An Apple-style 3.0 card whose inline PHOTO holds ``megabytes`` of (random, so
    incompressible) data, base64-encoded and folded at 75 octets: built here rather
    than stored in the repository."""
    payload = random.Random(20).randbytes(int(megabytes * 2**20))
    encoded = base64.b64encode(b"\xff\xd8\xff\xe0" + payload).decode()
    head = "PHOTO;ENCODING=b;TYPE=JPEG:"
    first = 75 - len(head)
    pieces = [head + encoded[:first]] + [
        " " + encoded[i : i + 74] for i in range(first, len(encoded), 74)
    ]
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        "PRODID:-//Apple Inc.//macOS 14.5//EN",
        "UID:7a6b5c4d-3e2f-4a1b-9c8d-0e1f2a3b4c5d",
        "N:Halvorsen;Ingrid;;;",
        f"FN:{LARGE_PHOTO_NAME}",
        "item1.EMAIL;type=INTERNET;type=pref:ingrid.halvorsen@example.org",
        "item1.X-ABLabel:_$!<Other>!$_",
        "TEL;type=CELL;type=VOICE;type=pref:+47 412 55 017",
        *pieces,
        "X-ABUID:7A6B5C4D-3E2F-4A1B-9C8D-0E1F2A3B4C5D:ABPerson",
        "END:VCARD",
    ]
    return "\r\n".join(lines) + "\r\n"


LARGE_PHOTO = Expected(
    "(built by card_with_large_photo)",
    0,
    LARGE_PHOTO_NAME,
    ("ingrid.halvorsen@example.org",),
    ("4741255017",),
    has_photo=True,
)
