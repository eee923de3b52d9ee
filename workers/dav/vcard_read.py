"""A card read for people: names, addresses, numbers and the rest, each with its type.

Every field is read inside the card's own guard (``read_person``): what cannot be
read becomes a warning on that card, never a failed answer. Labels of Apple's
grouped properties (``item1.EMAIL`` + ``item1.X-ABLabel``) become the type.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from workers.dav.vcard import BINARY, Card, Line, parse, split_escaped, unescape

# TYPE values that say nothing to a person (how, not which).
_NOISE = {
    "internet",
    "x400",
    "pref",
    "voice",
    "msg",
    "text",
    "uri",
    "x-",
    "dom",
    "intl",
    "postal",
    "parcel",
}
_APPLE_LABEL = re.compile(r"^_\$!<(.*)>!\$_\Z")
_LABELS = ("X-ABLABEL", "X-ABLABEL-LABEL")


@dataclass
class Entry:
    value: str
    type: str | None


@dataclass
class Postal:
    street: str | None
    city: str | None
    region: str | None
    postal_code: str | None
    country: str | None
    type: str | None


@dataclass
class Person:
    name: str
    given: str | None = None
    family: str | None = None
    nickname: str | None = None
    emails: list[Entry] = field(default_factory=list)
    phones: list[Entry] = field(default_factory=list)
    addresses: list[Postal] = field(default_factory=list)
    organization: str | None = None
    title: str | None = None
    birthday: str | None = None
    notes: str | None = None
    categories: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    has_photo: bool = False
    uid: str = ""
    version: str = "3.0"
    warnings: list[str] = field(default_factory=list)

    def search_text(self) -> str:
        """What a query's words are looked for in, folded (``folded``)."""
        words = [self.name, self.given or "", self.family or "", self.nickname or ""]
        words += [e.value for e in self.emails] + [self.organization or ""]
        return folded(" ".join(words))

    def phone_digits(self) -> list[str]:
        return [digits(p.value) for p in self.phones]


def folded(text: str) -> str:
    """Case and accents gone: ``Müller`` and ``MULLER`` both read ``muller``."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return _NOT_ASCII.sub(_without_marks, decomposed).casefold()


_NOT_ASCII = re.compile(r"[^\x00-\x7f]")


def _without_marks(match: re.Match[str]) -> str:
    return "" if unicodedata.combining(match.group()) else match.group()


def digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def read_person(text: str) -> Person:
    """A card as a person. Raises ValueError only when the text holds no card at all."""
    return person_of(parse(text))


def person_of(card: Card) -> Person:
    warnings: list[str] = []
    labels = _group_labels(card, warnings)
    person = Person(name="", version=card.version, warnings=warnings)
    formatted = ""
    if card.nested:
        warnings.append("The card holds another card inside it, which was not read.")
    for _n, line in card.own():
        if line.name in BINARY:
            person.has_photo = person.has_photo or line.name == "PHOTO"
            continue
        try:
            formatted = _read_line(line, person, labels, warnings) or formatted
        except Exception as exc:  # one odd property must not hide the card
            warnings.append(f"{line.name} could not be read ({type(exc).__name__}).")
    person.name = formatted or _fallback_name(person)
    if not formatted:
        warnings.append("The card has no formatted name (FN); its name was put together.")
    _cut(person, warnings)
    return person


# What is shown of a card another client filled beyond reason (an FN of 100,000
# characters, 10,000 emails): enough for any real person, and an answer of sane size.
_LONGEST_TEXT = {
    "name": 500,
    "given": 500,
    "family": 500,
    "nickname": 500,
    "organization": 1000,
    "title": 1000,
    "notes": 20000,
}
MOST_ITEMS = 100


def _cut(person: Person, warnings: list[str]) -> None:
    for attr, most in _LONGEST_TEXT.items():
        value = getattr(person, attr)
        if value and len(value) > most:
            setattr(person, attr, value[:most] + "…")
            warnings.append(
                f"The card's {attr} holds {len(value):,} characters; only the first "
                f"{most:,} are shown."
            )
    for attr in ("emails", "phones", "addresses", "categories", "urls"):
        items = getattr(person, attr)
        if len(items) > MOST_ITEMS:
            setattr(person, attr, items[:MOST_ITEMS])
            warnings.append(
                f"The card holds {len(items):,} {attr}; only the first {MOST_ITEMS} are shown."
            )


def _read_line(line: Line, person: Person, labels: dict[str, str], warnings: list[str]) -> str:
    """Reads one property into ``person``; returns the formatted name if this is FN."""
    name = line.name
    if name not in _WANTED:
        return ""
    value = line.decoded(warnings)
    kind = _type(line, labels) if name in ("EMAIL", "TEL", "ADR") else None
    if name == "FN":
        return unescape(value).strip()
    if name == "N":
        parts = [unescape(p).strip() for p in split_escaped(value, ";")] + [""] * 5
        person.family = person.family or parts[0] or None
        person.given = person.given or parts[1] or None
    elif name == "NICKNAME":
        person.nickname = person.nickname or ", ".join(_list(value)) or None
    elif name == "EMAIL":
        address = unescape(value).strip()
        if address:
            person.emails.append(Entry(address.removeprefix("mailto:"), kind))
    elif name == "TEL":
        number = unescape(value).strip().removeprefix("tel:")
        if number:
            person.phones.append(Entry(number, "mobile" if kind == "cell" else kind))
    elif name == "ADR":
        parts = [unescape(p).strip() for p in split_escaped(value, ";")] + [""] * 7
        street = ", ".join(p for p in parts[:3] if p) or None
        person.addresses.append(
            Postal(
                street, parts[3] or None, parts[4] or None, parts[5] or None, parts[6] or None, kind
            )
        )
    elif name == "ORG":
        parts = [unescape(p).strip() for p in split_escaped(value, ";")]
        person.organization = person.organization or ", ".join(p for p in parts if p) or None
    elif name == "TITLE":
        person.title = person.title or unescape(value).strip() or None
    elif name == "BDAY":
        person.birthday = person.birthday or _birthday(unescape(value).strip())
    elif name == "NOTE":
        note = unescape(value).replace("\r\n", "\n").strip()
        person.notes = (
            f"{person.notes}\n{note}" if person.notes and note else person.notes or note or None
        )
    elif name == "CATEGORIES":
        person.categories += [c for c in _list(value) if c not in person.categories]
    elif name == "URL":
        person.urls.append(unescape(value).strip())
    elif name == "UID":
        person.uid = unescape(value).strip()
    return ""


_WANTED = {
    "FN",
    "N",
    "NICKNAME",
    "EMAIL",
    "TEL",
    "ADR",
    "ORG",
    "TITLE",
    "BDAY",
    "NOTE",
    "CATEGORIES",
    "URL",
    "UID",
}


def _list(value: str) -> list[str]:
    return [unescape(v).strip() for v in split_escaped(value, ",") if unescape(v).strip()]


def _group_labels(card: Card, warnings: list[str]) -> dict[str, str]:
    """The X-ABLabel of each group: ``item1`` -> ``Assistant``."""
    labels = {}
    for _n, line in card.own():
        if line.group and line.name in _LABELS:
            text = unescape(line.decoded(warnings)).strip()
            apple = _APPLE_LABEL.match(text)
            labels[line.group.casefold()] = apple.group(1).lower() if apple else text
    return labels


def _type(line: Line, labels: dict[str, str]) -> str | None:
    if line.group and line.group.casefold() in labels:
        return labels[line.group.casefold()] or None
    types = [t for t in line.types if t not in _NOISE and not t.startswith("x-")]
    if "cell" in types:
        return "cell"
    if "fax" in types:
        rest = [t for t in types if t in ("work", "home")]
        return f"{rest[0]} fax" if rest else "fax"
    return types[0] if types else None


_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})")
_NO_YEAR = re.compile(r"^--(\d{2})-?(\d{2})")


def _birthday(text: str) -> str | None:
    """ISO (1980-05-17), or --05-17 without a year; anything else as written."""
    if match := _NO_YEAR.match(text):
        return f"--{match[1]}-{match[2]}"
    if match := _DATE.match(text):
        return f"{match[1]}-{match[2]}-{match[3]}"
    return text or None


def _fallback_name(person: Person) -> str:
    parts = [p for p in (person.given, person.family) if p]
    if parts:
        return " ".join(parts)
    if person.organization:
        return person.organization
    if person.emails:
        return person.emails[0].value
    return "(no name)"
