"""A 5,000-card address book (``BENCH_CONTACTS``) in the shapes real exports have.

Cards are vCard 3.0 in the Apple and Google styles (``item1.EMAIL`` + ``X-ABLabel``,
``type=pref``, ``CATEGORIES:myContacts``) and 4.0 in Thunderbird's (``EMAIL;PREF=1``,
``TEL;VALUE=uri:tel:``); one in fifty carries a small inline photo. Names, numbers
and organizations come from a fixed random seed, addresses are at example.org and
example.com. Written straight into Radicale's storage, like the bench calendar
(seed_calendar.py): one PUT each would take minutes.
"""

from __future__ import annotations

import base64
import os
import random
import time

from tests.servers.dav import DavAccount, RadicaleServer

CONTACTS = int(os.environ.get("BENCH_CONTACTS", "5000"))
GIVEN = [
    "Anna", "Ben", "Chiara", "Dmitri", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas",
    "Kemal", "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tanja",
    "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoë", "Jürgen", "Søren", "Ангелина", "Łukasz",
]  # fmt: skip
FAMILY = [
    "Abbasi", "Berg", "Castillo", "Dietrich", "Eriksen", "Fischer", "García", "Hoffmann",
    "Ivanova", "Jansen", "Kowalski", "Lindqvist", "Müller", "Nakamura", "Okafor", "Petrov",
    "Quist", "Rossi", "Schulz", "Tanaka", "Ullrich", "Vogel", "Weber", "Xu", "Yilmaz",
    "Zimmermann", "Ødegaard", "Çelik", "Brennan", "Haddad",
]  # fmt: skip
COMPANIES = ["Example Logistik AG", "Example Health Ltd", "Muster GmbH", "Example Events Lda"]
PHOTO = base64.b64encode(random.Random(3).randbytes(3000)).decode()


def _folded(line: str) -> list[str]:
    """``line`` folded at 75 octets (the seeded texts are ASCII where lines run long)."""
    return [line[:75]] + [" " + line[i : i + 74] for i in range(75, len(line), 74)]


def card(i: int, rng: random.Random) -> str:
    given, family = rng.choice(GIVEN), rng.choice(FAMILY)
    local = f"{given}.{family}.{i}".lower().encode("ascii", "ignore").decode()
    domain = rng.choice(["example.org", "example.com"])
    phone = f"+49 {rng.randrange(30, 999)} {rng.randrange(1000, 9999)}-{rng.randrange(100, 999)}"
    style = i % 3
    lines = ["BEGIN:VCARD", "VERSION:4.0" if style == 2 else "VERSION:3.0"]
    lines += [f"UID:bench-contact-{i}", f"N:{family};{given};;;", f"FN:{given} {family}"]
    if style == 0:  # Apple
        lines += [
            f"EMAIL;type=INTERNET;type=WORK;type=pref:{local}@{domain}",
            f"item1.EMAIL;type=INTERNET:{local}@private.example.com",
            "item1.X-ABLabel:_$!<Other>!$_",
            f"TEL;type=CELL;type=VOICE;type=pref:{phone}",
            f"ORG:{rng.choice(COMPANIES)};",
            f"X-ABUID:{i:08X}-0000-4000-8000-000000000000:ABPerson",
        ]
    elif style == 1:  # Google
        lines += [
            f"EMAIL;TYPE=INTERNET;TYPE=HOME:{local}@{domain}",
            f"TEL;TYPE=CELL:{phone}",
            f"item1.URL:https\\://{domain}/{local}",
            "item1.X-ABLabel:PROFILE",
            "CATEGORIES:myContacts",
        ]
    else:  # Thunderbird
        lines += [
            f"EMAIL;PREF=1:{local}@{domain}",
            f"TEL;TYPE=work;VALUE=uri:tel:{phone.replace(' ', '-')}",
            f"NOTE:Met at event {rng.randrange(1, 200)}.",
        ]
    if i % 50 == 0:
        lines += _folded(f"PHOTO;ENCODING=b;TYPE=JPEG:{PHOTO}")
    lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"


def seed_contacts(server: RadicaleServer, login: DavAccount, count: int = CONTACTS) -> float:
    """Write ``count`` cards into ``login``'s address book "Contacts"; returns the seconds."""
    rng = random.Random(4712)
    started = time.perf_counter()
    folder = server.root / "collections" / "collection-root" / login.username / "contacts"
    for i in range(count):
        (folder / f"bench-contact-{i}.vcf").write_text(card(i, rng), newline="")
    return time.perf_counter() - started
