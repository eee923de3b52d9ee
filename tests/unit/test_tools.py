"""The tool registry: schemas from Structs, annotations, read-only filtering."""

from __future__ import annotations

import msgspec
import pytest

from protocol.email import CreateDirectoryArgs
from protocol.schema import object_schema
from supervisor.tools import ALL_TOOLS, available_tools
from tests.tool_names import READING_TOOLS, WRITING_TOOLS


@pytest.mark.parametrize("spec", ALL_TOOLS, ids=lambda spec: spec.name)
def test_every_schema_has_an_object_at_its_root(spec: object) -> None:
    tool = spec.to_mcp()  # type: ignore[attr-defined]
    for schema in (tool.input_schema, tool.output_schema):
        assert schema["type"] == "object"
        assert "$ref" not in schema


def test_nested_structs_keep_their_definitions() -> None:
    schema = object_schema(ALL_TOOLS[0].result_type)
    ref = schema["properties"]["folders"]["items"]["$ref"]
    assert ref == "#/$defs/Folder"
    assert "role" in schema["$defs"]["Folder"]["properties"]


def test_read_only_mode_keeps_only_reading_tools() -> None:
    assert set(available_tools(read_only=True)) == READING_TOOLS
    assert set(available_tools(read_only=False)) == READING_TOOLS | WRITING_TOOLS


def test_every_writing_tool_says_whether_it_destroys() -> None:
    for spec in available_tools(read_only=False).values():
        annotations = spec.to_mcp().annotations
        assert annotations is not None
        assert annotations.read_only_hint is (not spec.writes)
        if spec.writes:
            assert annotations.destructive_hint is not None


def test_folder_argument_descriptions_reach_the_schema() -> None:
    schema = object_schema(CreateDirectoryArgs)
    assert "Projects/2026" in schema["properties"]["name"]["description"]


@pytest.mark.parametrize("name", ["ok\r\nA1 LOGOUT", "a\x00b", "x\ny"])
def test_folder_names_with_line_breaks_fail_validation(name: str) -> None:
    with pytest.raises(msgspec.ValidationError, match="cannot contain line breaks"):
        msgspec.convert({"name": name}, CreateDirectoryArgs)
