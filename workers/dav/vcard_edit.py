"""Writing cards: a new one in the address book's version, or an old one changed in place.

An edit replaces exactly the properties of the fields asked for and copies every
other line of the stored text unchanged, byte for byte (``vcard.Line.raw``): a
phone app's X- properties, the PHOTO, groups and parameters survive. New lines are
written in the card's own version (3.0 or 4.0) and line breaks, folded at 75 octets.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from workers.dav.vcard import Card, Line, escape, fold, parse, split_escaped, unescape

# The properties each field of create_contact / update_contact is written to.
FIELD_PROPERTIES = {
    "name": ("FN",),
    "emails": ("EMAIL",),
    "phones": ("TEL",),
    "organization": ("ORG",),
    "title": ("TITLE",),
    "addresses": ("ADR",),
    "birthday": ("BDAY",),
    "notes": ("NOTE",),
    "categories": ("CATEGORIES",),
}
_HONORIFICS = {"dr", "dr.", "prof", "prof.", "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "mx."}
_EMAIL_TYPES = {"work", "home", "other"}
_PHONE_TYPES = {"cell", "work", "home", "fax", "pager", "voice", "video", "text"}
_ADDRESS_TYPES = {"work", "home"}
_ITEM = re.compile(r"^item(\d+)\Z", re.IGNORECASE)


def split_name(name: str) -> tuple[str, str, str]:
    """(prefix, given, family) where the formatted name makes them obvious: the last word
    is the family name, those before it the given names; one word is a given name."""
    words = name.split()
    prefix = []
    while len(words) > 1 and words[0].casefold() in _HONORIFICS:
        prefix.append(words.pop(0))
    if len(words) == 1:
        return " ".join(prefix), words[0], ""
    return " ".join(prefix), " ".join(words[:-1]), words[-1] if words else ""


def new_card(fields: dict[str, Any], version: str, uid: str | None = None) -> tuple[str, str]:
    """(text, uid) of a new card holding ``fields`` (create_contact's arguments)."""
    uid = uid or str(uuid.uuid4())
    fields = {k: v for k, v in fields.items() if v is not None}
    four = version.startswith("4")
    head = [
        "BEGIN:VCARD",
        f"VERSION:{'4.0' if four else '3.0'}",
        "PRODID:-//mailbox-mcp-server//contacts//EN",
        f"UID:{'urn:uuid:' + uid if four else uid}",
    ]
    body = _name_lines(fields, None, four)
    items = _Items(set())
    for field_name in FIELD_PROPERTIES:
        if field_name != "name" and fields.get(field_name) is not None:
            body += _field_lines(field_name, fields[field_name], four, items)
    text = "".join(fold(line, "\r\n") for line in [*head, *body, "END:VCARD"])
    return text, uid


def edit(text: str, changes: dict[str, Any]) -> str:
    """``text`` with the fields in ``changes`` replaced (None removes one); every other
    line kept as it was. Raises ValueError when the text holds no card."""
    card = parse(text)
    four = card.version.startswith("4")
    items = _Items({m.group(1) for _n, line in card.own() if (m := _ITEM.match(line.group))})
    drop: set[int] = set()
    insert: dict[int, list[str]] = {}
    end = card.end_index()
    name_fields = {k: v for k, v in changes.items() if k in ("name", "given", "family")}
    if name_fields:
        replaced = _indices(card, ("FN", "N"))
        old_n = next((card.lines[i] for i in replaced if card.lines[i].name == "N"), None)
        drop |= set(replaced)
        insert.setdefault(min(replaced, default=end), []).extend(
            _name_lines(name_fields, old_n, four, _formatted(card))
        )
    for field_name, value in changes.items():
        if field_name not in FIELD_PROPERTIES or field_name == "name":
            continue
        replaced = _indices(card, FIELD_PROPERTIES[field_name])
        drop |= set(replaced) | _companions(card, replaced)
        if value is not None:
            lines = _field_lines(field_name, value, four, items)
            insert.setdefault(min(replaced, default=end), []).extend(lines)
    out = []
    for n, line in enumerate(card.lines):
        out += [fold(new, card.newline) for new in insert.get(n, [])]
        if n not in drop:
            out.append(line.raw)
    out += [fold(new, card.newline) for new in insert.get(len(card.lines), [])]
    # Whatever followed the card in the stored text (rare) stays too.
    tail = card.text[card.lines[-1].end :] if card.lines else ""
    return card.text[: card.lines[0].start] + "".join(out) + tail if card.lines else text


def _indices(card: Card, names: tuple[str, ...]) -> list[int]:
    return [n for n, line in card.own() if line.name in names]


def _companions(card: Card, replaced: list[int]) -> set[int]:
    """The label lines of the groups whose property is replaced (``item1.X-ABLabel``)."""
    groups = {card.lines[n].group.casefold() for n in replaced if card.lines[n].group}
    return {
        n
        for n, line in card.own()
        if line.group.casefold() in groups and line.name.startswith("X-AB")
    }


def _formatted(card: Card) -> str:
    found = card.named("FN")
    return unescape(found[0].value()).strip() if found else ""


def _name_lines(
    fields: dict[str, Any], old_n: Line | None, four: bool, old_name: str = ""
) -> list[str]:
    """FN and N for the name fields given (given/family derived from name where not given;
    the other parts of an existing N kept)."""
    name = fields.get("name") or old_name
    parts = ["", "", "", "", ""]  # family; given; additional; prefix; suffix
    if old_n is not None:
        old = [unescape(p) for p in split_escaped(old_n.value(), ";")][:5]
        parts[: len(old)] = old
    if "name" in fields:
        prefix, given, family = split_name(name)
        parts[0], parts[1], parts[3] = family, given, prefix or parts[3]
        parts[2] = ""
    if "given" in fields:
        parts[1] = fields["given"] or ""
    if "family" in fields:
        parts[0] = fields["family"] or ""
    if not name:
        name = " ".join(p for p in (parts[1], parts[0]) if p)
    return [f"FN:{escape(name)}", "N:" + ";".join(escape(p) for p in parts)]


class _Items:
    """Group names for labelled properties (``item7.EMAIL`` + ``item7.X-ABLabel``) not yet
    taken in the card."""

    def __init__(self, taken: set[str]) -> None:
        self.next = max((int(n) for n in taken), default=0) + 1

    def take(self) -> str:
        self.next += 1
        return f"item{self.next - 1}"


def _typed(
    prop: str, kind: str | None, known: set[str], four: bool, items: _Items
) -> tuple[str, list[str]]:
    """(head, label lines) of a property of type ``kind``: a known type as TYPE, any other
    label the way Apple and others write labels."""
    if not kind:
        return prop, []
    words = [w for w in re.split(r"[\s,]+", kind.strip().lower()) if w]
    words = ["cell" if w in ("mobile", "cell") else w for w in words]
    if words and all(w in known for w in words):
        types = ",".join(w if four else w.upper() for w in words)
        return f"{prop};TYPE={types}", []
    group = items.take()
    return f"{group}.{prop}", [f"{group}.X-ABLabel:{escape(kind.strip())}"]


def _field_lines(field_name: str, value: Any, four: bool, items: _Items) -> list[str]:
    lines: list[str] = []
    if field_name == "emails":
        for entry in value:
            head, labels = _typed("EMAIL", entry.type, _EMAIL_TYPES, four, items)
            lines += [f"{head}:{escape(entry.address)}", *labels]
    elif field_name == "phones":
        for entry in value:
            head, labels = _typed("TEL", entry.type, _PHONE_TYPES, four, items)
            lines += [f"{head}:{escape(entry.number)}", *labels]
    elif field_name == "addresses":
        for a in value:
            head, labels = _typed("ADR", a.type, _ADDRESS_TYPES, four, items)
            parts = ["", "", a.street, a.city, "", a.postal_code, a.country]
            lines += [f"{head}:" + ";".join(escape(p or "") for p in parts), *labels]
    elif field_name == "organization":
        lines.append(f"ORG:{escape(value)}")
    elif field_name == "title":
        lines.append(f"TITLE:{escape(value)}")
    elif field_name == "notes":
        lines.append(f"NOTE:{escape(value)}")
    elif field_name == "categories":
        if value:
            lines.append("CATEGORIES:" + ",".join(escape(c) for c in value))
    elif field_name == "birthday":
        lines.append(f"BDAY:{_birthday(value, four)}")
    return lines


def _birthday(text: str, four: bool) -> str:
    """ISO 8601 as each version writes it: 1980-05-17 (3.0), 19800517 and --0517 (4.0)."""
    if text.startswith("--"):
        month_day = text[2:].replace("-", "")
        return f"--{month_day}" if four else f"--{month_day[:2]}-{month_day[2:]}"
    return text.replace("-", "") if four else text
