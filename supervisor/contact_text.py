"""The compact text of the contact tools' answers (see supervisor.rendering for the rules
on fencing third-party text and escaping what stands outside a fence).

Whatever a card holds was written by someone else (a shared or global address book,
an imported card): names, numbers and notes are fenced; ids and counts are ours.
"""

from __future__ import annotations

from protocol import contacts
from supervisor.rendering import clip, counted, fence, more, notes_lines, page_head, plain


def render_address_books(result: contacts.ListAddressBooksResult) -> str:
    lines = [f"{counted(len(result.address_books), 'address book')}:"]
    for b in result.address_books:
        size = "" if b.count is None else f"; {counted(b.count, 'contact')}"
        extra = " (read-only)" if b.read_only else ""
        lines.append(f"- {plain(b.name)}{extra}: id {plain(b.id)}{size}")
    return "\n".join(lines)


def render_contacts(result: contacts.SearchContactsResult) -> str:
    if not result.contacts:
        return "\n".join(["No contacts match.", *notes_lines(result.notes)])
    rows = []
    for c in result.contacts:
        reach = ", ".join([*c.emails[:3], *c.phones[:2]])
        org = f" ({clip(c.organization, 60)})" if c.organization else ""
        rows.append(f"- {clip(c.name, 80)}{org}: {clip(reach, 160) or '-'} | id {c.id}")
    lines = [f"{page_head(len(result.contacts), result.total, 'contact')} (name: reach | id):"]
    lines += [fence("the address books", "\n".join(rows)), *more(result.next_cursor)]
    return "\n".join([*lines, *notes_lines(result.notes)])


def render_contact(result: contacts.Contact) -> str:
    rows = [f"Name: {result.name}"]
    rows += [f"Email ({e.type or 'other'}): {e.address}" for e in result.emails]
    rows += [f"Phone ({p.type or 'other'}): {p.number}" for p in result.phones]
    for a in result.addresses:
        parts = [a.street, " ".join(p for p in (a.postal_code, a.city) if p), a.region, a.country]
        rows.append(f"Address ({a.type or 'other'}): {', '.join(p for p in parts if p)}")
    for label, value in (
        ("Nickname", result.nickname),
        ("Organization", result.organization),
        ("Title", result.title),
        ("Birthday", result.birthday),
    ):
        if value:
            rows.append(f"{label}: {value}")
    if result.categories:
        rows.append("Categories: " + ", ".join(result.categories))
    rows += [f"URL: {u}" for u in result.urls]
    if result.notes:
        rows.append(f"Notes: {clip(result.notes, 2000)}")
    head = f"Contact in {plain(result.address_book)}{' (read-only)' if result.read_only else ''}"
    photo = "; has a photo" if result.has_photo else ""
    lines = [f"{head}{photo}: id {result.id}", fence("the address book", "\n".join(rows))]
    return "\n".join([*lines, *notes_lines(result.warnings)])


def render_contact_written(result: contacts.ContactWritten) -> str:
    return "\n".join(
        [
            f"Saved {plain(result.name)} in {plain(result.address_book)}: id {result.id}",
            *notes_lines(result.notes),
        ]
    )


def render_contact_deleted(result: contacts.ContactDeleted) -> str:
    return f"Deleted {plain(result.name)} from {plain(result.address_book)}."
