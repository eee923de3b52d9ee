"""Every card of the vCard corpus (tests/data/vcards) read by the DAV worker's parser.

Each card either reads with the fields a person would copy from the application
that wrote it, or keeps what it can and says on that card what it lost; no card
fails the address book. The cards are given as the worker receives them from a
CardDAV server: the body decoded as UTF-8, anything else replaced
(workers/dav/carddav.py). The same expectations are checked end to end, on both
servers, by tests/e2e/test_contact_corpus.py.
"""

from __future__ import annotations

import pytest

from tests import vcard_corpus
from workers.dav.vcard_read import Person, folded, read_person

CARDS = vcard_corpus.corpus_cards()


def as_served(key: str) -> str:
    return CARDS[key].decode("utf-8", "replace")


def differences(person: Person, expected: vcard_corpus.Expected) -> list[str]:
    """How ``person`` differs from what ``expected`` says the card holds."""
    found = []
    name = vcard_corpus.nfc(person.name)
    if name != vcard_corpus.nfc(expected.name) and not (
        expected.noted and name.startswith(expected.name)
    ):
        found.append(f"name {person.name!r}")
    if tuple(e.value for e in person.emails) != expected.emails:
        found.append(f"emails {[e.value for e in person.emails]}")
    if tuple(vcard_corpus.digits(p.value) for p in person.phones) != expected.phones:
        found.append(f"phones {[p.value for p in person.phones]}")
    if expected.organization and not vcard_corpus.nfc(person.organization or "").startswith(
        vcard_corpus.nfc(expected.organization)
    ):
        found.append(f"organization {person.organization!r}")
    if person.has_photo != expected.has_photo:
        found.append(f"has_photo {person.has_photo}")
    lost = expected.notes_contain and expected.notes_contain not in (person.notes or "")
    if lost and not person.warnings:  # a note that lost letters must say so
        found.append(f"notes {person.notes!r}")
    return found


def test_every_card_of_the_corpus_has_its_expectation_written_and_no_other() -> None:
    assert sorted(CARDS) == sorted(e.key for e in vcard_corpus.EXPECTED)


@pytest.mark.parametrize("expected", vcard_corpus.EXPECTED, ids=lambda e: e.key)
def test_a_corpus_card_reads_with_its_fields_or_says_what_it_lost(
    expected: vcard_corpus.Expected,
) -> None:
    person = read_person(as_served(expected.key))
    assert differences(person, expected) == []


@pytest.mark.parametrize(
    "expected", [e for e in vcard_corpus.EXPECTED if e.noted], ids=lambda e: e.key
)
def test_a_card_that_cannot_be_read_whole_carries_a_note(expected: vcard_corpus.Expected) -> None:
    person = read_person(as_served(expected.key))
    assert person.warnings
    assert all(w.endswith(".") and "Error" not in w for w in person.warnings)


# The card folded inside a character may lose it (and say so) when read as text.
WELL_FORMED = [e for e in vcard_corpus.EXPECTED if not e.noted and e.file != "fold-inside-utf8.vcf"]


@pytest.mark.parametrize("expected", WELL_FORMED, ids=lambda e: e.key)
def test_a_well_formed_card_reads_without_a_note(expected: vcard_corpus.Expected) -> None:
    assert read_person(as_served(expected.key)).warnings == []


def test_labels_of_apple_groups_become_the_type_of_what_they_label() -> None:
    sarita = read_person(as_served("apple-contacts.vcf#0"))
    tomas = read_person(as_served("apple-contacts.vcf#1"))
    assert [e.type for e in sarita.emails] == ["work", "Conference"]
    assert [p.type for p in tomas.phones] == ["mobile", "Boat"]


def test_a_photo_of_several_megabytes_is_only_said_to_be_there() -> None:
    person = read_person(vcard_corpus.card_with_large_photo(megabytes=4))
    assert differences(person, vcard_corpus.LARGE_PHOTO) == []
    assert person.warnings == []


def test_two_cards_with_one_uid_read_as_the_two_people_they_describe() -> None:
    first = read_person(as_served("duplicate-uid-1.vcf#0"))
    second = read_person(as_served("duplicate-uid-2.vcf#0"))
    assert first.uid == second.uid
    assert [e.value for e in first.emails] != [e.value for e in second.emails]


def test_decomposed_accents_are_found_by_plain_letters_and_by_composed_ones() -> None:
    text = read_person(as_served("nfd-mueller.vcf#0")).search_text()
    assert folded("muller") in text and folded("Müller") in text


def test_a_phone_number_is_found_by_its_digits_however_it_was_written() -> None:
    sarita = read_person(as_served("apple-contacts.vcf#0"))
    assert any(vcard_corpus.digits("1234 567") in number for number in sarita.phone_digits())
