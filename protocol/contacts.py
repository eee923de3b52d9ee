"""The contacts family: address books on the DAV server, read and written over CardDAV.

The DAV worker (``workers/dav``) serves these contracts beside the calendar's: same
server, same pool, same credentials and TLS. Cached answers are revalidated by the
worker's one ``check_fresh`` (the address books' ctags or sync-tokens).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from protocol.calendar import DAV, DAV_CHECK_FRESH
from protocol.contract import Contract, Reads, TagKind, Writes
from protocol.email import reject_control_characters

Text = Annotated[str, msgspec.Meta(max_length=1000)]
# The tools' descriptions say where an id comes from (search_contacts).
ContactIdText = Annotated[str, msgspec.Meta(min_length=4, max_length=4000)]
# Self-explaining beside next_cursor and list_address_books: no description to read.
Cursor = Annotated[str, msgspec.Meta(max_length=200)] | None
BookRef = Annotated[str, msgspec.Meta(max_length=2000)] | None

_EMAIL = re.compile(r"^[^\s@<>(),;:\"]+@[^\s@<>(),;:\"]+\.[^\s@<>(),;:\"]+\Z")
_PHONE = re.compile(r"^[0-9+()./\- #*pwxext]+\Z", re.IGNORECASE)
_BIRTHDAY = re.compile(r"^(\d{4}|--)-?(\d{2})-?(\d{2})\Z")


# -- arguments ---------------------------------------------------------------------------


class Email(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    address: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
    type: Annotated[str, msgspec.Meta(max_length=40)] | None = None


class Phone(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    number: Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
    type: Annotated[str, msgspec.Meta(max_length=40)] | None = None


class Address(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    street: Text | None = None
    city: Text | None = None  # with its state or region where one writes it so
    postal_code: Text | None = None
    country: Text | None = None
    type: Annotated[str, msgspec.Meta(max_length=40)] | None = None


# List lengths are checked in _check_fields, not in the schema the model reads.
Emails = list[Email]
Phones = list[Phone]
Addresses = list[Address]
Categories = list[Annotated[str, msgspec.Meta(min_length=1, max_length=100)]]
MAX_ITEMS = {"emails": 50, "phones": 50, "addresses": 20, "categories": 50}
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Notes = Annotated[str, msgspec.Meta(max_length=20000)]
Birthday = str  # YYYY-MM-DD, or --MM-DD without a year (check_birthday says so)


# Control characters: a card holding one makes a server's whole REPORT unreadable XML.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _check_text(value: str | None, what: str, *, lines: bool = False) -> None:
    """Refuse control characters (and line breaks, unless ``lines``). Raises ValueError."""
    if value is None:
        return
    if not lines:
        reject_control_characters(value, what)
    if _CONTROL.search(value):
        raise ValueError(f"{what} cannot contain control characters.")


def _check_fields(fields: Any) -> None:
    """What a type cannot say about the fields of create_contact and update_contact."""
    for field, most in MAX_ITEMS.items():
        if len(getattr(fields, field) or ()) > most:
            raise ValueError(f"{field} is too long: at most {most} items.")
    for what, value in (
        ("The name", fields.name),
        ("The given name", fields.given),
        ("The family name", fields.family),
        ("The organization", fields.organization),
        ("The title", fields.title),
    ):
        if isinstance(value, str):
            _check_text(value, what)
    if isinstance(fields.notes, str):
        _check_text(fields.notes, "The notes", lines=True)
    for entry in fields.emails or ():
        _check_text(entry.address, "Email addresses")
        if not _EMAIL.match(entry.address):
            raise ValueError(f"“{entry.address}” is not an email address (name@example.org).")
    for phone in fields.phones or ():
        if not _PHONE.match(phone.number) or not any(c.isdigit() for c in phone.number):
            raise ValueError(
                f"“{phone.number}” is not a phone number: digits, spaces and + ( ) - / only."
            )
    for entry in [*(fields.emails or ()), *(fields.phones or ()), *(fields.addresses or ())]:
        _check_text(entry.type, "A type")
    for address in fields.addresses or ():
        _check_text(address.street, "The street", lines=True)
        for part, what in (
            (address.city, "The city"),
            (address.postal_code, "The postal code"),
            (address.country, "The country"),
        ):
            _check_text(part, what)
    for category in fields.categories or ():
        _check_text(category, "Categories")
    if isinstance(fields.birthday, str):
        check_birthday(fields.birthday)


def check_birthday(text: str) -> tuple[int | None, int, int]:
    """(year or None, month, day) of a birthday. Raises ValueError."""
    match = _BIRTHDAY.match(text)
    if match:
        year = None if match[1] == "--" else int(match[1])
        month, day = int(match[2]), int(match[3])
        try:
            date(2000 if year is None else year, month, day)  # 2000: a leap year, for --02-29
        except ValueError:
            pass
        else:
            return year, month, day
    raise ValueError(f"birthday “{text}” must look like 1980-05-17, or --05-17 without a year.")


class ListAddressBooksArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """list_address_books takes no arguments."""


class SearchContactsArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    query: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    address_book: BookRef = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
    cursor: Cursor = None

    def __post_init__(self) -> None:
        reject_control_characters(self.query, "The query")
        if not self.query.strip():
            raise ValueError("query must hold a word, an address or a phone number.")
        for value, what in ((self.address_book, "The address book"), (self.cursor, "The cursor")):
            if value is not None:
                reject_control_characters(value, what)


class GetContactArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    id: ContactIdText

    def __post_init__(self) -> None:
        reject_control_characters(self.id, "The contact id")


class CreateContactArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    name: Name
    given: Name | None = None
    family: Name | None = None
    emails: Emails | None = None
    phones: Phones | None = None
    organization: Text | None = None
    title: Text | None = None
    addresses: Addresses | None = None
    birthday: Birthday | None = None
    notes: Notes | None = None
    categories: Categories | None = None
    address_book: BookRef = None  # default: the first writable one

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("name must not be blank.")
        _check_fields(self)
        if self.address_book is not None:
            reject_control_characters(self.address_book, "The address book")


class UpdateContactArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Absent: unchanged; null: removed; a list replaces that list."""

    id: ContactIdText
    name: Name | UnsetType | None = UNSET  # None is refused in a sentence of ours
    given: Name | UnsetType | None = UNSET
    family: Name | UnsetType | None = UNSET
    emails: Emails | UnsetType | None = UNSET
    phones: Phones | UnsetType | None = UNSET
    organization: Text | UnsetType | None = UNSET
    title: Text | UnsetType | None = UNSET
    addresses: Addresses | UnsetType | None = UNSET
    birthday: Birthday | UnsetType | None = UNSET
    notes: Notes | UnsetType | None = UNSET
    categories: Categories | UnsetType | None = UNSET

    def __post_init__(self) -> None:
        reject_control_characters(self.id, "The contact id")
        if not self.changed():
            raise ValueError(
                "Nothing to change: give update_contact the fields to change besides id "
                "(null removes one)."
            )
        if self.name is None:
            raise ValueError("A contact keeps a name: give the new name rather than null.")
        if isinstance(self.name, str) and not self.name.strip():
            raise ValueError("name must not be blank.")
        _check_fields(self)

    def changed(self) -> dict[str, Any]:
        """The fields given, by name (None: remove it)."""
        return {
            name: getattr(self, name)
            for name in self.__struct_fields__
            if name != "id" and getattr(self, name) is not UNSET
        }


class DeleteContactArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    id: ContactIdText

    def __post_init__(self) -> None:
        reject_control_characters(self.id, "The contact id")


# -- results -----------------------------------------------------------------------------


class AddressBookInfo(msgspec.Struct, frozen=True):
    id: Annotated[str, msgspec.Meta(description="Pass as 'address_book'.")]
    name: str
    read_only: bool = False
    count: Annotated[int | None, msgspec.Meta(description="Cards in it.")] = None


class ListAddressBooksResult(msgspec.Struct, frozen=True):
    address_books: list[AddressBookInfo]


class ContactSummary(msgspec.Struct, frozen=True):
    id: Annotated[str, msgspec.Meta(description="Pass to get_contact or update_contact.")]
    name: str
    emails: list[str] = []
    phones: list[str] = []
    organization: str | None = None
    address_book: str = ""


class SearchContactsResult(msgspec.Struct, frozen=True):
    contacts: list[ContactSummary]
    total: Annotated[int, msgspec.Meta(description="Matches over all pages.")] = 0
    next_cursor: Annotated[
        str | None, msgspec.Meta(description="Pass as cursor for the next page; null at the end.")
    ] = None
    notes: list[str] = []


class EmailOut(msgspec.Struct, frozen=True):
    address: str
    type: str | None = None


class PhoneOut(msgspec.Struct, frozen=True):
    number: str
    type: str | None = None


class AddressOut(msgspec.Struct, frozen=True):
    street: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    type: str | None = None


class Contact(msgspec.Struct, frozen=True):
    id: str
    address_book: str
    name: str
    given: str | None = None
    family: str | None = None
    nickname: str | None = None
    emails: list[EmailOut] = []
    phones: list[PhoneOut] = []
    addresses: list[AddressOut] = []
    organization: str | None = None
    title: str | None = None
    birthday: str | None = None
    notes: str | None = None
    categories: list[str] = []
    urls: list[str] = []
    has_photo: bool = False
    read_only: bool = False
    warnings: Annotated[
        list[str], msgspec.Meta(description="What could not be read of this card.")
    ] = []


class ContactWritten(msgspec.Struct, frozen=True):
    id: str
    name: str
    address_book: str
    notes: list[str] = []


class ContactDeleted(msgspec.Struct, frozen=True):
    id: str
    name: str
    address_book: str


# -- the contacts family's contracts -----------------------------------------------------

DAV_ADDRESS_BOOKS = TagKind("dav:address-books")  # the address book list
DAV_ADDRESS_BOOK = TagKind("dav:address-book")  # one address book's cards, by its path
_ANY_BOOK = (DAV_ADDRESS_BOOKS, DAV_ADDRESS_BOOK)

LIST_ADDRESS_BOOKS = Contract(
    "list_address_books",
    DAV,
    ListAddressBooksArgs,
    ListAddressBooksResult,
    reads=(DAV_ADDRESS_BOOKS,),
    revalidated_by=DAV_CHECK_FRESH,
)
_BOOK_READ = Reads(DAV, (DAV_ADDRESS_BOOK,), DAV_CHECK_FRESH)
_BOOK_WRITE = Writes(DAV, _ANY_BOOK)
SEARCH_CONTACTS = _BOOK_READ("search_contacts", SearchContactsArgs, SearchContactsResult)
GET_CONTACT = _BOOK_READ("get_contact", GetContactArgs, Contact)
CREATE_CONTACT = _BOOK_WRITE("create_contact", CreateContactArgs, ContactWritten)
UPDATE_CONTACT = _BOOK_WRITE("update_contact", UpdateContactArgs, ContactWritten)
DELETE_CONTACT = _BOOK_WRITE("delete_contact", DeleteContactArgs, ContactDeleted)

CONTACT_CONTRACTS: tuple[Contract[Any, Any], ...] = (
    LIST_ADDRESS_BOOKS,
    SEARCH_CONTACTS,
    GET_CONTACT,
    CREATE_CONTACT,
    UPDATE_CONTACT,
    DELETE_CONTACT,
)
