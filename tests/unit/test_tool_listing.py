"""tools/list is read with every conversation: small, still exact, and only the families chosen."""

from __future__ import annotations

from typing import Any

import jsonschema
import msgspec
import pytest

from protocol.calendar import CreateEventArgs, UpdateEventArgs
from protocol.email import SearchEmailsArgs
from protocol.schema import input_schema
from supervisor.config import TOOL_FAMILIES
from supervisor.tools import ALL_TOOLS, available_tools
from tests.tool_listing import AVERAGE_BUDGET, TOTAL_BUDGET, tool_size

EVERY_TOOL = available_tools(read_only=False, families=TOOL_FAMILIES)


def test_what_the_model_reads_of_tools_list_stays_within_budget() -> None:
    sizes = [tool_size(spec.to_mcp()) for spec in EVERY_TOOL.values()]
    total = sum(size.visible for size in sizes)
    assert total / len(sizes) <= AVERAGE_BUDGET, {s.name: s.visible for s in sizes}
    assert total <= TOTAL_BUDGET, {s.name: s.visible for s in sizes}


def _nodes(schema: Any) -> list[dict[str, Any]]:
    """Every schema object inside ``schema``, itself included."""
    if isinstance(schema, list):
        return [node for item in schema for node in _nodes(item)]
    if not isinstance(schema, dict):
        return []
    found = [schema]
    for key, value in schema.items():
        if key in ("properties", "$defs"):
            found += [node for child in value.values() for node in _nodes(child)]
        elif key in ("items", "anyOf", "oneOf", "allOf", "additionalProperties"):
            found += _nodes(value)
    return found


@pytest.mark.parametrize("name", sorted(EVERY_TOOL))
def test_an_optional_argument_is_left_out_of_required_never_made_nullable(name: str) -> None:
    spec = EVERY_TOOL[name]
    schema = spec.to_mcp().input_schema
    assert schema["type"] == "object" and "$ref" not in schema
    assert not [node for node in _nodes(schema) if node.get("type") == "null"]
    fields = msgspec.structs.fields(spec.args_type)
    assert set(schema.get("required", [])) == {f.encode_name for f in fields if f.required}, (
        "required must be exactly the arguments without a default"
    )
    assert set(schema["properties"]) == {f.encode_name for f in fields}


def test_null_is_still_accepted_for_an_optional_argument() -> None:
    args = msgspec.convert({"query": None, "unread": None}, SearchEmailsArgs)
    assert args.query is None and args.unread is None


@pytest.mark.parametrize("name", sorted(EVERY_TOOL))
def test_every_input_schema_is_valid_json_schema(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(EVERY_TOOL[name].to_mcp().input_schema)


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("search_emails", {"folder": "*", "query": "invoice", "unread": True, "limit": 5}),
        ("get_email", {"id": "INBOX#1.2", "offset": 100}),
        ("send_email", {"to": ["Anna <anna@example.org>"], "subject": "Hi", "body": "Hello"}),
        ("create_draft", {"reply_to_id": "INBOX#1.2", "body": "Yes", "quote": False}),
        ("move_email", {"ids": ["INBOX#1.2"], "destination": "Archive"}),
        ("get_free_busy", {"start": "2026-12-01", "end": "2026-12-05", "working_days": [1, 2]}),
        ("update_event", {"id": "cal/x.ics", "scope": "series", "summary": "Moved"}),
    ],
)
def test_the_compact_schema_accepts_ordinary_calls(name: str, arguments: dict[str, Any]) -> None:
    spec = EVERY_TOOL[name]
    jsonschema.validate(arguments, spec.to_mcp().input_schema)
    msgspec.convert(arguments, spec.args_type)  # and the Struct agrees


def test_create_draft_reads_its_arguments_from_send_email_instead_of_repeating_them() -> None:
    send, draft = EVERY_TOOL["send_email"].to_mcp(), EVERY_TOOL["create_draft"].to_mcp()
    assert "send_email" in (draft.description or "")
    described = [n for n, a in draft.input_schema["properties"].items() if "description" in a]
    assert described == []
    without_descriptions = {
        name: {k: v for k, v in argument.items() if k != "description"}
        for name, argument in send.input_schema["properties"].items()
    }
    assert draft.input_schema["properties"] == without_descriptions


def test_update_event_describes_only_the_arguments_create_event_does_not() -> None:
    update = EVERY_TOOL["update_event"].to_mcp()
    assert "create_event" in (update.description or "")
    shared = set(input_schema(CreateEventArgs)["properties"])
    for name, argument in update.input_schema["properties"].items():
        assert ("description" in argument) is (
            name not in shared
            and "description" in input_schema(UpdateEventArgs)["properties"][name]
        ), name


def test_every_tool_belongs_to_a_known_family_or_to_none() -> None:
    for spec in ALL_TOOLS:
        assert spec.family in (*TOOL_FAMILIES, None), spec.name
    assert [spec.name for spec in ALL_TOOLS if spec.family is None] == ["server_status"]


def test_families_choose_which_tools_are_listed() -> None:
    mail = available_tools(read_only=False, families=("mail",))
    calendar = available_tools(read_only=False, families=("calendar",))
    assert "send_email" in mail and "list_calendars" not in mail
    assert "list_calendars" in calendar and "search_emails" not in calendar
    assert "server_status" in mail and "server_status" in calendar
    filters = available_tools(read_only=False, families=("filters",))
    assert "create_filter" in filters and "send_email" not in filters
    # respond_to_invitation is a calendar tool that reads and sends mail: it needs both.
    both = available_tools(read_only=False, families=("mail", "calendar"))
    assert "respond_to_invitation" in both and "respond_to_invitation" not in calendar
    contacts = available_tools(read_only=False, families=("contacts",))
    assert "search_contacts" in contacts and "list_calendars" not in contacts
    tasks = available_tools(read_only=False, families=("tasks",))
    assert "list_tasks" in tasks and "list_calendars" not in tasks
    listed = [mail, calendar, filters, both, contacts, tasks]
    assert set().union(*map(set, listed)) == set(EVERY_TOOL)
    assert set(available_tools(read_only=False, families=())) == {"server_status"}
    assert set(available_tools(read_only=True, families=("calendar",))) == {
        "list_calendars",
        "get_calendar_events",
        "search_calendar",
        "get_free_busy",
        "server_status",
    }
