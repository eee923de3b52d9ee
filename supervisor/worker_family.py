"""A worker family: everything the supervisor knows about one kind of worker process.

Its settings slice (the MAILBOX_* variables it reads, with their defaults written
once, in its section type), the settings its process is configured with, its
line in ``--diagnose``'s summary and its checks. Adding a worker is one entry in
``supervisor.families.WORKER_FAMILIES``; nothing else names it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypedDict, TypeVar

import msgspec

from protocol.settings import PoolSettings
from supervisor.settings_reader import SettingsReader

if TYPE_CHECKING:
    from supervisor.config import Settings


class Section(Protocol):
    """What every family's settings slice has: its pool and its rate limit."""

    @property
    def pool(self) -> PoolSettings: ...

    @property
    def rate_limit(self) -> int: ...


S = TypeVar("S", bound=Section)


class Access(TypedDict):
    """What every worker is configured with to reach its server, whatever the protocol."""

    username: str
    password: str
    ca_file: str | None
    pool: PoolSettings


def access(section: Section, settings: Settings, password: str) -> Access:
    """Every worker logs in as the account's address with its one password."""
    return Access(
        username=settings.email, password=password, ca_file=settings.ca_file, pool=section.pool
    )


@dataclass(frozen=True)
class WorkerFamily(Generic[S]):
    """One worker process kind: ``python -m workers.<name>``, serving contracts of ``name``."""

    name: str
    label: str  # how the user knows the protocol: "IMAP", "CalDAV"
    read: Callable[[SettingsReader], S]
    # The Configure settings its process gets: the section, the shared settings, the password.
    configure: Callable[[S, Settings, str], msgspec.Struct]
    # Its part of --diagnose's first line: "IMAP imap.mailbox.org:993".
    describe: Callable[[S], str]
    checks: tuple[str, ...]
    # The tool families (MAILBOX_TOOLS) it serves: with none of them on, it is not started.
    tool_families: tuple[str, ...] = ()

    def wanted(self, settings: Settings) -> bool:
        return any(family in settings.tool_families for family in self.tool_families)

    def section(self, settings: Settings) -> S:
        section: S = settings.sections[self.name]
        return section

    def worker_settings(self, settings: Settings, password: str) -> msgspec.Struct:
        return self.configure(self.section(settings), settings, password)


AnyFamily = WorkerFamily[Any]
