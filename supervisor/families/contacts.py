"""The contacts tools as the model sees them (served by the DAV worker)."""

from __future__ import annotations

from protocol import contacts as api
from supervisor import contact_text as text
from supervisor.families.calendar import CALENDAR_CACHE
from supervisor.tool_spec import ToolSpec

CONTACT_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        contract=api.LIST_ADDRESS_BOOKS,
        title="List address books",
        description=(
            "The address books (id, name, read-only, count); to find people use search_contacts."
        ),
        render=text.render_address_books,
        family="contacts",
        cache=CALENDAR_CACHE,
    ),
    ToolSpec(
        contract=api.SEARCH_CONTACTS,
        title="Search contacts",
        description=(
            "Find people: 'query' is name words, email, phone digits or organization, any case or accents; then get_contact."
        ),
        render=text.render_contacts,
        family="contacts",
        cache=CALENDAR_CACHE,
    ),
    ToolSpec(
        contract=api.GET_CONTACT,
        title="Read a contact",
        description=(
            "Every field of contact 'id' from search_contacts; a photo shows only as has_photo."
        ),
        render=text.render_contact,
        family="contacts",
        cache=CALENDAR_CACHE,
    ),
    ToolSpec(
        contract=api.CREATE_CONTACT,
        title="Add a contact",
        description=(
            "Add a person ('name'; types work, home, mobile, fax or a label); to change one use update_contact."
        ),
        render=text.render_contact_written,
        family="contacts",
        destructive=False,
        idempotent=False,
    ),
    ToolSpec(
        contract=api.UPDATE_CONTACT,
        title="Change a contact",
        description=(
            "Change contact 'id' as for create_contact, only what changes: lists replace, null removes. Fails if changed elsewhere."
        ),
        render=text.render_contact_written,
        family="contacts",
        arguments_of=api.CreateContactArgs,
        destructive=False,
        idempotent=False,
    ),
    ToolSpec(
        contract=api.DELETE_CONTACT,
        title="Delete a contact",
        description=(
            "Delete contact 'id' from search_contacts; fails if it changed since it was read."
        ),
        render=text.render_contact_deleted,
        family="contacts",
        destructive=True,
        idempotent=False,
    ),
)
