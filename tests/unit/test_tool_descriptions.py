"""Tool descriptions are how the model picks a tool and fills it in: each names its key arguments."""

from __future__ import annotations

import pytest

from protocol.schema import object_schema
from supervisor.server import INSTRUCTIONS
from supervisor.tools import available_tools

TOOLS = available_tools(read_only=False)
KEY_OPTIONALS = {
    "search_emails": ["folder", "query", "cursor"],
    "get_email": ["offset", "mark_read"],
    "send_email": ["to", "reply_to_id", "forward_id", "attachments"],
    "delete_email": ["permanent"],
    "get_free_busy": ["duration_minutes", "working_hours"],
    "update_event": ["scope"],
    "delete_event": ["scope"],
}


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_every_description_names_the_required_and_key_arguments(name: str) -> None:
    spec = TOOLS[name]
    schema = object_schema(spec.args_type)
    for argument in [*schema.get("required", []), *KEY_OPTIONALS.get(name, [])]:
        assert argument in schema["properties"], f"{name} has no argument {argument}"
        assert argument in spec.description, f"{name}'s description does not name '{argument}'"


@pytest.mark.parametrize("name", sorted(set(TOOLS) - {"server_status"}))
def test_every_description_says_which_neighbour_to_use_instead_or_next(name: str) -> None:
    others = [other for other in TOOLS if other != name and other in TOOLS[name].description]
    assert others, f"{name}'s description names no other tool"


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_every_description_is_a_paragraph_written_for_the_model(name: str) -> None:
    description = TOOLS[name].description
    assert 80 <= len(description) <= 1200 and description.endswith(".")


def test_the_server_instructions_explain_ids_folders_paging_and_untrusted_content() -> None:
    for words in ("opaque", "'/' between levels", "next_cursor", "offset", "third parties"):
        assert words in INSTRUCTIONS, words
    assert all(name in TOOLS for name in ("get_folders", "search_emails", "server_status"))
