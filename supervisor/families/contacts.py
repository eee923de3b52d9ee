"""The contacts tools as the model sees them (served by the DAV worker)."""

from __future__ import annotations

from functools import partial

from protocol import contacts as api
from supervisor import contact_text as text
from supervisor.families.calendar import CALENDAR_CACHE
from supervisor.tool_spec import ToolSpec

# What every read and every write of the family shares, said once.
_read = partial(ToolSpec, family="contacts", cache=CALENDAR_CACHE)
_write = partial(ToolSpec, family="contacts", idempotent=False)

CONTACT_TOOLS: tuple[ToolSpec, ...] = (
    _read(
        contract=api.LIST_ADDRESS_BOOKS,
        title="List address books",
        description=(
            "The address books (id, name, read-only, count); to find people use search_contacts."
        ),
        render=text.render_address_books,
    ),
    _read(
        contract=api.SEARCH_CONTACTS,
        title="Search contacts",
        description=(
            "Find people: 'query' is name words, email, phone digits or organization, any case or accents; then get_contact."
        ),
        render=text.render_contacts,
    ),
    _read(
        contract=api.GET_CONTACT,
        title="Read a contact",
        description=(
            "Every field of contact 'id' from search_contacts; a photo shows only as has_photo."
        ),
        render=text.render_contact,
    ),
    _write(
        contract=api.CREATE_CONTACT,
        title="Add a contact",
        description=(
            "Add a person ('name'; types work, home, mobile, fax or a label); to change one use update_contact."
        ),
        render=text.render_contact_written,
        destructive=False,
    ),
    _write(
        contract=api.UPDATE_CONTACT,
        title="Change a contact",
        description=(
            "Change contact 'id' as for create_contact, only what changes: lists replace, null removes. Fails if changed elsewhere."
        ),
        render=text.render_contact_written,
        arguments_of=api.CreateContactArgs,
        destructive=False,
    ),
    _write(
        contract=api.DELETE_CONTACT,
        title="Delete a contact",
        description=(
            "Delete contact 'id' from search_contacts; fails if it changed since it was read."
        ),
        render=text.render_contact_deleted,
        destructive=True,
    ),
)
