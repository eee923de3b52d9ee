"""Every contact tool, called as a confused or hostile agent would: names with line breaks
and right-to-left marks, addresses that are not addresses, phone numbers of words,
birthdays in month 13, ids of events or of other users' address books, cursors of other
questions, nulls for every field. Whatever it is given, a tool answers with a result or
one sentence of ours: never "unexpectedly", a library's repr or a server's bytes. Runs
against Radicale and Xandikos.

One MCP session, held open in a blocking portal, serves every example (see test_fuzz_mail).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import strategies as st

from tests.mcp_client import structured
from tests.security.test_fuzz_mail import bounded_call
from tests.security.test_fuzz_mail_tools import Call, answer_every_call, restart_free_session, tool

pytestmark = pytest.mark.tool_families("contacts")

TEXTS = st.sampled_from(
    [
        "Jürgen Müller",
        "王小明",
        "محمد علي",
        "a\r\nFN:Injected",
        "x\x00y",
        "END:VCARD",
        "\u202eevil",
        "semi;colon, comma\\",
        "",
        " ",
    ]
) | st.text(max_size=20)
EMAILS = st.sampled_from(
    ["anna@example.org", "not an email", "a@b", "x@y@z", "jürgen@exämple.de", "<a@b.c>"]
) | st.text(max_size=20)
PHONES = st.sampled_from(
    ["+49 (30) 1234-567", "call me", "1", "+", "0" * 70, "12\n34", "555-0100 ext. 2"]
) | st.text(max_size=15)
TYPES = st.none() | st.sampled_from(["work", "home", "mobile", "fax", "work fax", "Boat"]) | TEXTS
BIRTHDAYS = st.sampled_from(
    ["1980-05-17", "--05-17", "1980-13-01", "0000-01-01", "17.05.1980", "--0230", ""]
) | st.text(max_size=12)
ENTRIES_EMAIL = st.lists(
    st.fixed_dictionaries({"address": EMAILS}, optional={"type": TYPES}), max_size=3
)
ENTRIES_PHONE = st.lists(
    st.fixed_dictionaries({"number": PHONES}, optional={"type": TYPES}), max_size=3
)
ADDRESSES = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "street": TEXTS,
            "city": TEXTS,
            "postal_code": TEXTS,
            "country": TEXTS,
            "type": TYPES,
        },
    ),
    max_size=2,
)
BOOKS = st.sampled_from(["Contacts", "contacts", "Global address book", "Nope", "/", "../"]) | TEXTS
LIMITS = st.integers(-2, 200)
CURSORS = st.text(max_size=40) | st.sampled_from(["AAAA", "ct_x", "-1"])


def forged(book: str, name: str) -> str:
    return "ct_" + base64.urlsafe_b64encode(msgspec.msgpack.encode([book, name, ""])).decode()


def ids_from(real: list[str]) -> st.SearchStrategy[str]:
    """Ids as search_contacts made them, pointed elsewhere, or from nowhere."""
    made_up = st.tuples(
        st.sampled_from(["/other@example.test/contacts/", "//evil.example/", "/", "/../"]),
        st.sampled_from(["a.vcf", "..", "", "x/y.vcf", "calendar.ics"]),
    ).map(lambda p: forged(*p))
    wrong_tool = st.sampled_from(["ev_garbage", "INBOX#1.1", "ct_", "ct_!!!", "ct_AAAA"])
    return st.sampled_from(real) | made_up | wrong_tool | st.text(max_size=30)


def calls(real: list[str]) -> st.SearchStrategy[Call]:
    ids = ids_from(real)

    def nullable(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.none() | strategy

    fields = {
        "given": TEXTS,
        "family": TEXTS,
        "emails": ENTRIES_EMAIL,
        "phones": ENTRIES_PHONE,
        "organization": TEXTS,
        "title": TEXTS,
        "addresses": ADDRESSES,
        "birthday": BIRTHDAYS,
        "notes": TEXTS,
        "categories": st.lists(TEXTS, max_size=3),
    }
    return st.one_of(
        tool("list_address_books"),
        tool("search_contacts", query=TEXTS, address_book=BOOKS, limit=LIMITS, cursor=CURSORS),
        tool("get_contact", id=ids),
        tool("create_contact", name=TEXTS, address_book=BOOKS, **fields),
        tool(
            "update_contact",
            id=ids,
            name=nullable(TEXTS),
            **{name: nullable(strategy) for name, strategy in fields.items()},
        ).filter(lambda c: "id" in c[1]),
        tool("delete_contact", id=ids).filter(lambda c: "id" in c[1]),
    )


def well_formed(first: str, second: str) -> list[Call]:
    """A plain call of each tool, so every run reaches each tool's answer and not only
    its refusals."""
    return [
        ("list_address_books", {}),
        ("search_contacts", {"query": "muller"}),
        ("get_contact", {"id": first}),
        ("create_contact", {"name": "Planned Person", "emails": [{"address": "p@example.org"}]}),
        ("update_contact", {"id": first, "title": "Renamed"}),
        ("delete_contact", {"id": second}),
    ]


def test_no_contact_tool_answers_with_a_crash_or_a_repr_whatever_it_is_given(
    calendar_env: dict[str, str], tmp_path: Path
) -> None:
    with restart_free_session(calendar_env, tmp_path / "err.log") as (portal, session):
        for name in ("Jürgen Müller", "Second Person"):
            portal.call(bounded_call, session, "create_contact", {"name": name})
        first, second = (
            structured(portal.call(bounded_call, session, "search_contacts", {"query": q}))[
                "contacts"
            ][0]["id"]
            for q in ("Müller", "Second")
        )
        real = [first, second]
        answers = answer_every_call(portal, session, calls(real), well_formed(first, second))
    assert answers["ok"] >= 5 and answers["refused"] >= 10, answers
