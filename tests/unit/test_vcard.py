"""Reading and editing vCards (workers/dav/vcard*.py) and contact ids, without a server."""

from __future__ import annotations

import base64

import msgspec
import pytest

from protocol.contacts import Address, Email, Phone, UpdateContactArgs, check_birthday
from protocol.errors import InvalidArgument
from tests.contact_calls import photo_line
from workers.dav.carddav import BookMeta
from workers.dav.client import StoredObject
from workers.dav.contact_books import BookIndex, _entry, _finished
from workers.dav.contact_ids import ContactId, etag_digest
from workers.dav.vcard import fold, parse
from workers.dav.vcard_edit import edit, new_card, split_name
from workers.dav.vcard_read import digits, folded, read_person


def card(*lines: str, version: str = "3.0", newline: str = "\r\n") -> str:
    return newline.join(["BEGIN:VCARD", f"VERSION:{version}", *lines, "END:VCARD", ""])


# -- reading ------------------------------------------------------------------------------


def test_folded_lines_are_joined_wherever_the_fold_falls() -> None:
    text = card(
        "FN:Anna Maria\r\n  Schmidt", "NOTE:one\r\n\ttwo", "EMAIL;TYPE=\r\n WORK:anna@example.org"
    )
    person = read_person(text)
    assert person.name == "Anna Maria Schmidt" and person.notes == "onetwo"
    assert [(e.value, e.type) for e in person.emails] == [("anna@example.org", "work")]


def test_quoted_printable_with_soft_breaks_and_a_charset_is_decoded() -> None:
    text = card(
        "FN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:J=FCrgen M=FCller",
        "NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Zeile eins=0D=0A=",
        "Zeile zw=C3=",
        "=B6lf",
        version="2.1",
    )
    person = read_person(text)
    assert person.name == "Jürgen Müller"
    assert person.notes == "Zeile eins\nZeile zwölf"


def test_vcard_2_1_bare_parameters_are_types() -> None:
    person = read_person(card("FN:X", "TEL;WORK;VOICE:+1 555", "TEL;CELL:+1 556", version="2.1"))
    assert [(p.value, p.type) for p in person.phones] == [("+1 555", "work"), ("+1 556", "mobile")]


def test_apple_groups_give_their_labels_as_types() -> None:
    person = read_person(
        card(
            "FN:Grouped",
            "item1.EMAIL;type=INTERNET;type=pref:a@example.org",
            "item1.X-ABLabel:_$!<Other>!$_",
            "item2.TEL:+1 555",
            "item2.X-ABLabel:Assistant",
        )
    )
    assert [(e.value, e.type) for e in person.emails] == [("a@example.org", "other")]
    assert [(p.value, p.type) for p in person.phones] == [("+1 555", "Assistant")]


def test_a_photo_is_only_noted_never_decoded() -> None:
    person = read_person(card("FN:Pic", photo_line(b"\xff" * 200_000), "TITLE:Boss"))
    assert person.has_photo and person.title == "Boss" and person.warnings == []


def test_a_card_without_fn_is_named_from_n_then_organization_then_email_with_a_note() -> None:
    assert read_person(card("N:Ghosh;Sarita;;;")).name == "Sarita Ghosh"
    assert read_person(card("ORG:Acme;Sales")).name == "Acme, Sales"
    nameless = read_person(card("EMAIL:x@example.org"))
    assert nameless.name == "x@example.org"
    assert "no formatted name" in nameless.warnings[0]
    assert read_person(card("NOTE:nothing else")).name == "(no name)"


def test_broken_encodings_read_as_far_as_they_go_with_a_warning() -> None:
    person = read_person(
        card(
            "FN:Broken",
            "NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:caf=E9",
            "TITLE;ENCODING=b;CHARSET=NOPE:" + base64.b64encode(b"Chef").decode(),
            "ORG:Caf\ufffd",
        )
    )
    assert person.notes == "café"  # not UTF-8 after all: read as Latin-1
    assert person.title == "Chef" and person.organization == "Caf\ufffd"
    assert len(person.warnings) == 2


def test_text_that_holds_no_card_is_refused() -> None:
    with pytest.raises(ValueError):
        read_person("hello")


def test_escapes_and_structured_values_read_as_people_write_them() -> None:
    person = read_person(
        card(
            "FN:Esc",
            "ORG:Smith\\, Jones \\; Partners;Legal",
            "ADR;TYPE=home:;;Main St. 1\\nBack door;Springfield;IL;62701;USA",
            "CATEGORIES:a\\,b,c",
            "BDAY:--0517",
        )
    )
    assert person.organization == "Smith, Jones ; Partners, Legal"
    (home,) = person.addresses
    assert (home.street, home.city, home.region, home.postal_code, home.country, home.type) == (
        "Main St. 1\nBack door",
        "Springfield",
        "IL",
        "62701",
        "USA",
        "home",
    )
    assert person.categories == ["a,b", "c"] and person.birthday == "--05-17"


def test_search_folding_drops_case_and_accents_and_phone_digits_drop_the_rest() -> None:
    assert folded("Jürgen MÜLLER Ångström") == "jurgen muller angstrom"
    assert digits("+49 (30) 1234-567") == "49301234567"


# -- writing ------------------------------------------------------------------------------


def test_an_edit_changes_only_the_lines_of_the_field_asked_for() -> None:
    kept = [
        "FN:Kept",
        "N:Kept;;;;",
        "X-PHONETIC-LAST-NAME;X-A=1:kept",
        "item1.TEL;type=pref:+1 555",
        "item1.X-ABLabel:_$!<Assistant>!$_",
        "PHOTO;ENCODING=b;TYPE=JPEG:AAAA\r\n BBBB",
    ]
    before = card(*kept, "EMAIL;TYPE=HOME:old@example.org", "X-Z:last")
    after = edit(before, {"emails": [Email("new@example.org", "work")]})
    assert after == before.replace(
        "EMAIL;TYPE=HOME:old@example.org", "EMAIL;TYPE=WORK:new@example.org"
    )


def test_an_edit_keeps_a_cards_own_line_breaks_and_writes_new_lines_with_them() -> None:
    before = card("FN:Lf", "N:Lf;;;;", newline="\n")
    after = edit(before, {"title": "Boss"})
    assert after == before.replace("END:VCARD", "TITLE:Boss\nEND:VCARD")


def test_replacing_a_labelled_property_drops_its_label_too() -> None:
    before = card("FN:L", "item1.TEL:+1 555", "item1.X-ABLabel:Assistant", "X-KEEP:1")
    after = edit(before, {"phones": [Phone("+1 777", "Pager")]})
    assert "Assistant" not in after and "X-KEEP:1" in after
    assert "TEL;TYPE=PAGER:+1 777" in after


def test_an_unknown_label_is_written_as_a_new_group_with_its_label() -> None:
    after = edit(
        card("FN:G", "item1.EMAIL:a@example.org", "item1.X-ABLabel:x"),
        {"phones": [Phone("1", "Boat")]},
    )
    assert "item2.TEL:1\r\nitem2.X-ABLabel:Boat\r\n" in after
    assert read_person(after).phones[0].type == "Boat"


def test_null_removes_a_field_and_a_name_change_rewrites_fn_and_n_only() -> None:
    before = card("FN:Old Name", "N:Name;Old;;Dr.;", "TITLE:Boss", "NOTE:x")
    after = edit(before, {"title": None, "name": "New Person"})
    assert "TITLE" not in after and "NOTE:x" in after
    person = read_person(after)
    assert (person.name, person.given, person.family) == ("New Person", "New", "Person")
    assert "N:Person;New;;Dr.;" in after


def test_given_and_family_change_n_and_leave_fn() -> None:
    after = edit(
        card("FN:Ludwig van Beethoven", "N:Beethoven;Ludwig van;;;"),
        {"given": "Ludwig", "family": "van Beethoven"},
    )
    assert "FN:Ludwig van Beethoven" in after and "N:van Beethoven;Ludwig;;;" in after


def test_new_cards_are_written_in_the_books_version() -> None:
    fields = {
        "name": "Sarita Ghosh",
        "emails": [Email("s@example.org", "home")],
        "phones": [Phone("+1 555", "mobile")],
        "addresses": [Address(street="Main 1", city="Town", country="Utopia", type="work")],
        "birthday": "--05-17",
        "notes": "two\nlines, with; marks",
    }
    three, _ = new_card(fields, "3.0")
    four, uid = new_card(fields, "4.0")
    assert "VERSION:3.0" in three and "TEL;TYPE=CELL:+1 555" in three and "BDAY:--05-17" in three
    assert "VERSION:4.0" in four and "TEL;TYPE=cell:+1 555" in four and "BDAY:--0517" in four
    assert f"UID:urn:uuid:{uid}" in four
    for text in (three, four):
        person = read_person(text)
        assert (person.given, person.family) == ("Sarita", "Ghosh")
        assert person.notes == "two\nlines, with; marks"
        assert person.addresses[0].country == "Utopia"


def test_long_lines_fold_at_75_octets_never_inside_a_character() -> None:
    line = "NOTE:" + "ü" * 100
    written = fold(line, "\r\n")
    assert all(len(piece.encode()) <= 75 for piece in written.split("\r\n"))
    assert parse(card(written.rstrip("\r\n"))).named("NOTE")[0].value() == "ü" * 100


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("Sarita Ghosh", ("", "Sarita", "Ghosh")),
        ("Dr. Anna Maria Schmidt", ("Dr.", "Anna Maria", "Schmidt")),
        ("王小明", ("", "王小明", "")),
    ],
)
def test_given_and_family_are_derived_where_the_name_makes_them_obvious(
    name: str, parts: tuple[str, str, str]
) -> None:
    assert split_name(name) == parts


# -- arguments and ids --------------------------------------------------------------------


def test_update_arguments_tell_absent_from_null() -> None:
    args = msgspec.json.decode(
        b'{"id": "ct_abcd", "title": null, "emails": []}', type=UpdateContactArgs
    )
    assert args.changed() == {"title": None, "emails": []}
    with pytest.raises(msgspec.ValidationError, match="Nothing to change"):
        msgspec.json.decode(b'{"id": "ct_abcd"}', type=UpdateContactArgs)


@pytest.mark.parametrize("text", ["1980-05-17", "19800517", "--05-17", "--0517", "--02-29"])
def test_birthdays_with_and_without_a_year_are_accepted(text: str) -> None:
    check_birthday(text)


@pytest.mark.parametrize(
    "text", ["17.05.1980", "1980-13-01", "tomorrow", "0000-01-01", "1980-02-30", "--04-31"]
)
def test_other_birthdays_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="must look like 1980-05-17"):
        check_birthday(text)


def test_a_contact_id_round_trips_and_remembers_the_etag_it_was_read_with() -> None:
    made = ContactId.of("/u@example.org/contacts/", "/u@example.org/contacts/a b.vcf", '"e1"')
    back = ContactId.parse(str(made), "get_contact")
    assert back == made and back.href == "/u@example.org/contacts/a b.vcf"
    assert back.seen == etag_digest('"e1"') != etag_digest('"e2"')


def _forged(book: str, name: str) -> str:
    return "ct_" + base64.urlsafe_b64encode(msgspec.msgpack.encode([book, name, ""])).decode()


@pytest.mark.parametrize(
    ("book", "name"),
    [
        ("//evil.example/x/", "a.vcf"),
        ("https://evil.example/x/", "a.vcf"),
        ("/u/contacts/", "../calendar/a.ics"),
        ("/u/contacts/", ""),
        ("/u/contacts/", ".."),
        ("/u/../v/contacts/", "a.vcf"),
        ("/u/contacts", "a.vcf"),
        ("/u/contacts?x=1/", "a.vcf"),
        ("/u/contacts/", "a\r\nb"),
    ],
)
def test_ids_that_would_leave_their_address_book_are_refused(book: str, name: str) -> None:
    with pytest.raises(InvalidArgument, match="is not a contact id"):
        ContactId.parse(_forged(book, name), "get_contact")


@pytest.mark.parametrize(
    ("name", "sent"),
    [("a.vcf?x=1", "a.vcf%3Fx%3D1"), ("#", "%23"), ("%2e", "%252e"), ("p%41.vcf", "p%2541.vcf")],
)
def test_a_card_name_is_sent_encoded_so_it_names_that_file_and_no_other(
    name: str, sent: str
) -> None:
    found = ContactId.parse(_forged("/u@x/contacts/", name), "get_contact")
    assert found.url_path == "/u@x/contacts/" + sent


def test_an_event_id_is_refused_naming_the_tools_it_belongs_to() -> None:
    with pytest.raises(InvalidArgument, match="is an event id, not a contact id"):
        ContactId.parse("ev_abcdef", "update_contact")


def _index(cards: list[StoredObject], book: BookMeta) -> BookIndex:
    """The index a whole read of ``cards`` gives (contact_books._whole without the server)."""
    entries = {c.href: _entry(c, book) for c in cards}
    return _finished(book, BookIndex(etags={c.href: c.etag for c in cards}, entries=entries))


def test_a_books_index_lists_cards_sharing_a_uid_each_and_counts_the_unreadable() -> None:
    book = BookMeta("https://dav.example/u/c/", "/u/c/", "Contacts", False, "v1")
    index = _index(
        [
            StoredObject("/u/c/a.vcf", '"1"', card("UID:same", "FN:Anna")),
            StoredObject("/u/c/b.vcf", '"2"', card("UID:same", "FN:Anna Copy")),
            StoredObject("/u/c/c.vcf", '"3"', "not a card"),
            StoredObject("/u/c/d.vcf", '"4"', card("UID:four", "FN:Zoë", version="4.0")),
        ],
        book,
    )
    assert [c.summary.name for c in index.cards] == ["Anna", "Anna Copy", "Zoë"]
    assert len({c.summary.id for c in index.cards}) == 3
    assert any("could not be read" in note for note in index.notes)
    assert any("share a UID" in note for note in index.notes)
    assert index.version() == "3.0"


NESTED = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Outer\r\nBEGIN:VCARD\r\nVERSION:3.0\r\n"
    "FN:Inner\r\nEMAIL:inner@example.org\r\nEND:VCARD\r\nNICKNAME:Out\r\nEND:VCARD\r\n"
)


def test_a_card_nested_in_a_card_is_not_read_as_its_own_lines() -> None:
    person = read_person(NESTED)
    assert (person.name, person.nickname, person.emails) == ("Outer", "Out", [])
    assert any("another card inside it" in w for w in person.warnings)


def test_an_edit_of_a_card_with_a_nested_card_changes_and_adds_only_outer_lines() -> None:
    changed = edit(NESTED, {"name": "New", "emails": [Email("new@example.org")]})
    inner = NESTED[NESTED.index("BEGIN:VCARD", 1) : NESTED.index("END:VCARD") + 11]
    assert inner in changed and "FN:Outer" not in changed
    assert changed.endswith("EMAIL:new@example.org\r\nEND:VCARD\r\n")


def test_a_name_of_a_hundred_thousand_characters_reads_cut_with_a_warning() -> None:
    person = read_person(f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{'n' * 100_000}\r\nEND:VCARD\r\n")
    assert len(person.name) == 501
    assert any("100,000 characters" in w for w in person.warnings)
