"""A tool as the model sees it: one contract, its description, annotations and rendering.

Descriptions are written for the model. Schemas come from the contract's
Structs; annotations tell clients which tools only read and which destroy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from protocol.contract import SUPERVISOR, Contract
from protocol.schema import input_schema, object_schema

if TYPE_CHECKING:
    import mcp_types as types


@dataclass(frozen=True)
class CachePolicy:
    """How a read is cached: which TTL applies. The worker supplies the freshness
    token and the tags (protocol.fingerprint); ``check_fresh`` revalidates."""

    ttl: Callable[[Any], float]  # settings -> seconds


@dataclass(frozen=True)
class ToolSpec:
    """How a contract is shown to the model: title, description, annotations, rendering."""

    contract: Contract[Any, Any]
    title: str
    description: str
    render: Callable[[Any], str]
    # The family MAILBOX_TOOLS turns on and off (config.TOOL_FAMILIES); None: always listed.
    family: str | None = None
    # Other families that must be on too for it to be listed (respond_to_invitation, a
    # calendar tool, reads and sends mail).
    also_needs: tuple[str, ...] = ()
    # The arguments of another tool (create_draft: send_email's), which its schema and
    # description explain: those that this tool shares keep their types here, not their
    # descriptions, and this description names that tool.
    arguments_of: type[msgspec.Struct] | None = None
    destructive: bool = False
    idempotent: bool = True
    open_world: bool = True
    cache: CachePolicy | None = None
    # Seconds to wait for the worker, when the default call timeout is too short.
    timeout: float | None = None
    # A tool that spans workers (send_email): run by supervisor.outbox.Outbox.
    composite: Callable[[Any, Any], Awaitable[msgspec.Struct]] | None = None
    # Answered by the supervisor itself from its own state (server_status).
    local: bool = False
    # Checks, before the worker is asked, what only other workers or the supervisor's
    # settings can check (a filter's folder exists over IMAP): (calls, settings, args).
    # Raises a MailError with a sentence; returns notes for the answer.
    preflight: Callable[[Any, Any, Any], Awaitable[list[str]]] | None = None
    # Completes an answer with what other workers know (an invitation's conflicts in the
    # calendar), after the worker or the cache gave it: (calls, settings, args, result).
    # Never raises; returns the result, completed where it could be.
    afterward: Callable[[Any, Any, Any, Any], Awaitable[msgspec.Struct]] | None = None

    def __post_init__(self) -> None:
        if self.cache is not None and not self.contract.cacheable:
            raise TypeError(f"{self.name}: cached, but its contract names no revalidation")
        if (self.composite is not None or self.local) != (self.contract.worker == SUPERVISOR):
            raise TypeError(f"{self.name}: run by the supervisor exactly when its contract says so")

    @property
    def name(self) -> str:
        return self.contract.name

    @property
    def worker(self) -> str:
        return self.contract.worker

    @property
    def args_type(self) -> type[msgspec.Struct]:
        return self.contract.args

    @property
    def result_type(self) -> type[msgspec.Struct]:
        return self.contract.result

    @property
    def writes(self) -> bool:
        return self.contract.writes

    def to_mcp(self) -> types.Tool:
        import mcp_types as types  # here: --diagnose builds the registry without the SDK

        arguments = input_schema(self.args_type)
        if self.arguments_of is not None:
            explained = input_schema(self.arguments_of)
            shared = [(arguments["properties"], explained["properties"])]
            for name, nested in arguments.get("$defs", {}).items():
                if name in explained.get("$defs", {}):
                    shared.append((nested["properties"], explained["$defs"][name]["properties"]))
            for properties, theirs in shared:
                for name, argument in properties.items():
                    if name in theirs:
                        argument.pop("description", None)
        return types.Tool(
            name=self.name,
            title=self.title,
            description=self.description,
            input_schema=arguments,
            output_schema=object_schema(self.result_type),
            annotations=types.ToolAnnotations(
                title=self.title,
                read_only_hint=not self.writes,
                destructive_hint=self.destructive if self.writes else None,
                idempotent_hint=self.idempotent,
                open_world_hint=self.open_world,
            ),
        )
