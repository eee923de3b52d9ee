"""The tool registry: what each MCP tool is, who serves it, and how it is cached.

Descriptions are written for the model. Schemas come from the protocol
Structs; annotations tell clients which tools only read and which destroy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import mcp_types as types
import msgspec

from protocol import email
from protocol.schema import object_schema


@dataclass(frozen=True)
class CachePolicy:
    """How a read is cached: which TTL applies. The worker supplies the freshness
    token and the tags (protocol.fingerprint); ``check_fresh`` revalidates."""

    ttl: Callable[[Any], float]  # settings -> seconds


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str
    description: str
    worker: str
    args_type: type[msgspec.Struct]
    result_type: type[msgspec.Struct]
    render: Callable[[Any], str]
    writes: bool = False
    destructive: bool = False
    idempotent: bool = True
    open_world: bool = True
    cache: CachePolicy | None = None
    invalidates: Callable[[Any], Sequence[str]] = field(default=lambda _args: ())

    def to_mcp(self) -> types.Tool:
        return types.Tool(
            name=self.name,
            title=self.title,
            description=self.description,
            input_schema=object_schema(self.args_type),
            output_schema=object_schema(self.result_type),
            annotations=types.ToolAnnotations(
                title=self.title,
                read_only_hint=not self.writes,
                destructive_hint=self.destructive if self.writes else None,
                idempotent_hint=self.idempotent,
                open_world_hint=self.open_world,
            ),
        )


EMAIL_CACHE = CachePolicy(ttl=lambda settings: settings.cache_email_ttl)


def _render_folders(result: email.GetFoldersResult) -> str:
    lines = []
    for folder in result.folders:
        role = f" [{folder.role}]" if folder.role else ""
        if not folder.selectable:
            lines.append(f"{folder.name}{role} (container only)")
            continue
        lines.append(f"{folder.name}{role}: {folder.messages} messages, {folder.unseen} unread")
    return f"{len(result.folders)} folders:\n" + "\n".join(lines)


def _render_created(result: email.CreateDirectoryResult) -> str:
    return f"Created folder {result.name}."


EMAIL_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="get_folders",
        title="List mail folders",
        description=(
            "List every mail folder of the account with its role (inbox, sent, drafts, trash, "
            "junk, archive or null), its number of messages and of unread messages. Folder names "
            "use '/' between levels (e.g. 'Projects/2026') and are what other email tools take "
            "as 'folder' or 'destination'. Call it to find where mail lives before searching or "
            "moving; it is cheap and its answer is kept up to date."
        ),
        worker="imap",
        args_type=email.GetFoldersArgs,
        result_type=email.GetFoldersResult,
        render=_render_folders,
        cache=EMAIL_CACHE,
    ),
    ToolSpec(
        name="create_directory",
        title="Create a mail folder",
        description=(
            "Create a mail folder. 'name' is the full path with '/' between levels, e.g. "
            "'Projects/2026' (missing parents are created too); any Unicode name works. The "
            "new folder is subscribed so it shows in other mail apps. Fails with a clear "
            "message if the folder already exists."
        ),
        worker="imap",
        args_type=email.CreateDirectoryArgs,
        result_type=email.CreateDirectoryResult,
        render=_render_created,
        writes=True,
        destructive=False,
        idempotent=False,
        invalidates=lambda _args: ("imap:folders",),
    ),
)


def available_tools(read_only: bool) -> dict[str, ToolSpec]:
    """The tools to list: every tool, or only the reading ones in read-only mode."""
    return {spec.name: spec for spec in EMAIL_TOOLS if not (read_only and spec.writes)}
