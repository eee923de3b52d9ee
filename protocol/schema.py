"""JSON Schemas for MCP, generated from the same Structs that cross the pipe."""

from __future__ import annotations

from typing import Any

import msgspec


def object_schema(struct_type: type[msgspec.Struct]) -> dict[str, Any]:
    """The JSON Schema of ``struct_type`` with its root inlined.

    msgspec puts every Struct under ``$defs`` and answers with a bare ``$ref``;
    MCP clients expect ``"type": "object"`` at the top, so the root definition
    is lifted out and only the definitions it still refers to are kept.
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
