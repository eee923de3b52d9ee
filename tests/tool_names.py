"""The tools the server offers, by what they may do: read only, write, or destroy. The
registry test (tests/unit/test_tools.py) and the listing a client sees
(tests/security/test_agent_safety.py) are both held to these sets."""

from __future__ import annotations

READING_TOOLS = {
    "get_folders",
    "search_emails",
    "get_email",
    "get_email_thread",
    "get_attachment",
    "list_calendars",
    "get_calendar_events",
    "search_calendar",
    "get_free_busy",
    "list_filters",
    "get_vacation",
    "list_address_books",
    "search_contacts",
    "get_contact",
    "list_tasks",
    "server_status",
}
WRITING_TOOLS = {
    "send_email",
    "create_draft",
    "send_draft",
    "move_email",
    "mark_email",
    "delete_email",
    "create_directory",
    "create_event",
    "update_event",
    "delete_event",
    "create_filter",
    "update_filter",
    "delete_filter",
    "set_vacation",
    "respond_to_invitation",
    "create_contact",
    "update_contact",
    "delete_contact",
    "create_task",
    "update_task",
    "delete_task",
}
# A filter rule may discard mail, so the tools that write rules are destructive too.
DESTRUCTIVE_TOOLS = {
    "delete_email",
    "delete_event",
    "create_filter",
    "update_filter",
    "delete_filter",
    "delete_contact",
    "delete_task",
}
