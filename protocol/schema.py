"""JSON Schemas for MCP, generated from the same Structs that cross the pipe."""

from __future__ import annotations

from typing import Any

import msgspec

# What an input schema leaves out: the Struct still enforces it on every call, but the
# model gains nothing from reading it with every conversation. String lengths only bound
# abuse (no model writes a 1,000-character folder name); an unknown argument is refused
# with a sentence naming it; a default of null, false, "", [] or {} says no more than
# leaving the argument out.
_GUARD_KEYWORDS = ("minLength", "maxLength")
_SILENT_DEFAULTS: tuple[object, ...] = (None, False, "", [], {})


def object_schema(struct_type: type[msgspec.Struct]) -> dict[str, Any]:
    """The JSON Schema of ``struct_type`` with its root inlined.

    msgspec puts every Struct under ``$defs`` and answers with a bare ``$ref``;
    MCP clients expect ``"type": "object"`` at the top, so the root definition
    is lifted out and only the definitions it still refers to are kept, once.
    """
    raw = msgspec.json.schema(struct_type)
    defs: dict[str, Any] = dict(raw.get("$defs", {}))
    ref = raw.get("$ref")
    if ref is None:
        return raw
    root_name = ref.rsplit("/", 1)[-1]
    root = dict(defs.pop(root_name))
    root.pop("title", None)
    if defs:
        root["$defs"] = defs
    return root


def input_schema(struct_type: type[msgspec.Struct]) -> dict[str, Any]:
    """The schema of a tool's arguments as the model reads it: ``object_schema``, compact.

    - An optional argument is one left out of ``required``, never ``anyOf: [X, null]``
      (null stays accepted: the Struct decides).
    - Defaults that say nothing (null, false, empty), string lengths, the titles of nested
      Structs and ``additionalProperties: false`` are left out.
    - Required arguments come first, in the Struct's order.

    Output schemas stay exact (``object_schema``): clients check answers against them.
    """
    schema = _compact(object_schema(struct_type))
    schema.pop("description", None)  # the Struct's docstring: the tool says what it is
    schema.pop("additionalProperties", None)
    properties: dict[str, Any] = schema.get("properties", {})
    required: list[str] = schema.get("required", [])
    ordered = [*required, *(name for name in properties if name not in required)]
    schema["properties"] = {name: properties[name] for name in ordered}
    if not required:
        schema.pop("required", None)
    return schema


def _says_nothing(default: object) -> bool:
    return default is None or default is False or default in ("", [], {})


def _compact(node: dict[str, Any], *, nested: bool = False) -> dict[str, Any]:
    """One schema node compacted, and the schemas inside it."""
    node = dict(node)
    if nested:
        node.pop("description", None)
    if "default" in node and _says_nothing(node["default"]):
        del node["default"]
    options = node.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options and "default" not in node:
        rest = [option for option in options if option != {"type": "null"}]
        del node["anyOf"]
        if len(rest) == 1:
            node = {**rest[0], **node}  # the argument's own description wins over its type's
        else:
            node["anyOf"] = rest
    if node.get("type") == "string":
        for keyword in _GUARD_KEYWORDS:
            node.pop(keyword, None)
    # A nested Struct's title repeats its name under $defs; unknown fields are refused
    # with a sentence anyway.
    node.pop("title", None)
    if node.get("additionalProperties") is False:
        del node["additionalProperties"]
    compact: dict[str, Any] = (
        {"description": node.pop("description")} if "description" in node else {}
    )
    for key, value in node.items():
        if key == "$defs":  # a nested Struct's docstring is for us; its fields explain it
            compact[key] = {name: _compact(child, nested=True) for name, child in value.items()}
        elif key == "properties":
            compact[key] = {name: _compact(child) for name, child in value.items()}
        elif key in ("anyOf", "oneOf", "allOf"):
            compact[key] = [_compact(child) for child in value]
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            compact[key] = _compact(value)
        else:
            compact[key] = value
    return compact
