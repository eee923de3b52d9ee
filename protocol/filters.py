"""The filters family: sorting rules and the vacation reply, kept as the user's Sieve script.

The worker (``workers/sieve``) edits the script that is active on the ManageSieve
server, in the web interface's own rule format, so rules made here show there and
rules made there survive unchanged.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

import msgspec

from protocol.contract import Contract, TagKind, Writes
from protocol.diagnosis import diagnosis
from protocol.email import reject_control_characters
from protocol.settings import LoginSettings, PoolSettings
from protocol.writing import check_address

SIEVE = "sieve"
SIEVE_CHECKS = (
    "sieve dns",
    "sieve connect",
    "sieve tls",
    "sieve login",
    "sieve scripts",
)

Field = Literal["from", "to", "cc", "subject", "header", "size_over", "size_under"]
Match = Literal["contains", "is", "matches"]
ActionType = Literal["move", "copy", "mark_read", "flag", "forward", "discard", "stop"]

_SIZE = re.compile(r"^[0-9]{1,9}[KMG]?\Z")
_HEADER_NAME = re.compile(r"^[!-9;-~]{1,100}\Z")  # RFC 5322 field name: printable, no colon

RuleName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
RuleId = Annotated[
    str, msgspec.Meta(min_length=1, max_length=20, description="A rule id from list_filters.")
]
Text = Annotated[str, msgspec.Meta(max_length=10_000)]


class Condition(msgspec.Struct, forbid_unknown_fields=True, frozen=True, omit_defaults=True):
    """One test of a rule: ``field`` compared with ``value``."""

    field: Annotated[
        Field,
        msgspec.Meta(description="size_over/size_under compare the size, e.g. '500K'."),
    ]
    value: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
    match: Annotated[Match, msgspec.Meta(description="'matches' takes * and ? as wildcards.")] = (
        "contains"
    )
    header: Annotated[
        str | None, msgspec.Meta(description="The header's name, when field is 'header'.")
    ] = None

    def __post_init__(self) -> None:
        reject_control_characters(self.value, "A condition's value")
        if (self.field == "header") != (self.header is not None):
            raise ValueError("give 'header' (a header name) exactly when field is 'header'")
        if self.header is not None and not _HEADER_NAME.match(self.header):
            raise ValueError(f"'{self.header}' is not a header name, such as 'List-Id'")
        if self.field in ("size_over", "size_under") and not _SIZE.match(self.value):
            raise ValueError(
                f"a size is a number with an optional K, M or G, such as '500K'; "
                f"'{self.value}' is not one"
            )


class Action(msgspec.Struct, forbid_unknown_fields=True, frozen=True, omit_defaults=True):
    """What a rule does with a message that matches."""

    type: Annotated[
        ActionType,
        msgspec.Meta(description="discard deletes the message without a trace; stop ends."),
    ]
    folder: (
        Annotated[
            str, msgspec.Meta(max_length=1000, description="For move, copy: from get_folders.")
        ]
        | None
    ) = None
    address: Annotated[str, msgspec.Meta(max_length=320, description="For forward.")] | None = None

    def __post_init__(self) -> None:
        if (self.type in ("move", "copy")) != (self.folder is not None):
            raise ValueError("give 'folder' exactly for the actions move and copy")
        if (self.type == "forward") != (self.address is not None):
            raise ValueError("give 'address' exactly for the action forward")
        if self.folder is not None:
            reject_control_characters(self.folder, "A folder name")
            if not self.folder.strip():
                raise ValueError("a folder name must not be empty")
        if self.address is not None:
            check_address(self.address, "a forward action")


class Rule(msgspec.Struct, frozen=True):
    id: str
    name: str
    enabled: bool
    read_only: Annotated[
        bool,
        msgspec.Meta(description="Written by hand in a form these tools cannot change."),
    ] = False
    match_all: bool = True
    conditions: list[Condition] = []
    actions: list[Action] = []
    raw: Annotated[
        str | None, msgspec.Meta(description="The rule's Sieve text, for a read-only rule.")
    ] = None


class Vacation(msgspec.Struct, frozen=True):
    enabled: bool
    subject: str = ""
    body: str = ""
    days: int = 7
    addresses: list[str] = []
    start: str | None = None
    end: str | None = None


class ListFiltersArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    pass


class FiltersResult(msgspec.Struct, frozen=True):
    rules: list[Rule]
    vacation: Vacation
    active_script: str | None
    other_scripts: list[str] = []
    notes: list[str] = []


def _check_rule(conditions: list[Condition] | None, actions: list[Action] | None) -> None:
    if conditions is not None and not conditions:
        raise ValueError("a rule needs at least one condition")
    if actions is not None and not actions:
        raise ValueError("a rule needs at least one action")


class CreateFilterArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    name: RuleName
    conditions: Annotated[list[Condition], msgspec.Meta(max_length=50)]
    actions: Annotated[list[Action], msgspec.Meta(max_length=20)]
    match_all: Annotated[
        bool, msgspec.Meta(description="true: every condition (default); false: any.")
    ] = True
    enabled: bool = True
    position: (
        Annotated[int, msgspec.Meta(ge=0, le=10_000, description="0 = first; default last.")] | None
    ) = None

    def __post_init__(self) -> None:
        reject_control_characters(self.name, "The rule's name")
        _check_rule(self.conditions, self.actions)


class UpdateFilterArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    id: RuleId
    name: RuleName | None = None
    conditions: Annotated[list[Condition], msgspec.Meta(max_length=50)] | None = None
    actions: Annotated[list[Action], msgspec.Meta(max_length=20)] | None = None
    match_all: bool | None = None
    enabled: bool | None = None
    position: Annotated[int, msgspec.Meta(ge=0, le=10_000)] | None = None

    def __post_init__(self) -> None:
        if self.name is not None:
            reject_control_characters(self.name, "The rule's name")
        _check_rule(self.conditions, self.actions)


class DeleteFilterArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    id: RuleId


class FilterWritten(msgspec.Struct, frozen=True):
    id: str
    name: str
    script: str
    notes: list[str] = []


class FilterDeleted(msgspec.Struct, frozen=True):
    id: str
    name: str
    script: str


class GetVacationArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    pass


class SetVacationArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    enabled: bool
    subject: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    body: Text | None = None
    start: Annotated[
        str | None, msgspec.Meta(description="First day (YYYY-MM-DD) in the user's zone.")
    ] = None
    end: Annotated[str | None, msgspec.Meta(description="Last day (YYYY-MM-DD).")] = None
    days: Annotated[
        int, msgspec.Meta(ge=1, le=365, description="Answer one sender at most every N days.")
    ] = 7
    addresses: (
        Annotated[
            list[Annotated[str, msgspec.Meta(max_length=320)]],
            msgspec.Meta(max_length=50, description="The user's other addresses it answers for."),
        ]
        | None
    ) = None

    def __post_init__(self) -> None:
        if self.subject is not None:
            reject_control_characters(self.subject, "The subject")
        if self.enabled and not (self.body or "").strip():
            raise ValueError("an enabled vacation reply needs a 'body'")
        days = [_day(self.start, "start"), _day(self.end, "end")]
        if days[0] and days[1] and days[1] < days[0]:
            raise ValueError("'end' is before 'start'")
        for address in self.addresses or []:
            check_address(address, "addresses")


def _day(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{what}' must be a date such as 2026-12-24; '{text}' is not") from None
    if not 2000 <= day.year <= 2200:
        raise ValueError(f"'{what}' must be a date between the years 2000 and 2200")
    return day


class VacationWritten(msgspec.Struct, frozen=True):
    vacation: Vacation
    script: str
    notes: list[str] = []


class SieveSettings(LoginSettings, frozen=True):
    host: str
    port: int
    pool: PoolSettings = PoolSettings(min_size=0, max_size=2)
    timezone: str | None = None
    # Addresses ("ben@example.org") or domains a forward may go to; empty: any.
    send_allow: list[str] = msgspec.field(default_factory=list)


# -- contracts ------------------------------------------------------------------------------

SIEVE_SCRIPT = TagKind("sieve:script")  # the active script (nothing of it is cached yet)
_SCRIPT = (SIEVE_SCRIPT,)

SIEVE_DIAGNOSE = diagnosis(SIEVE)
LIST_FILTERS = Contract("list_filters", SIEVE, ListFiltersArgs, FiltersResult, reads=_SCRIPT)
GET_VACATION = Contract("get_vacation", SIEVE, GetVacationArgs, Vacation, reads=_SCRIPT)
_SCRIPT_WRITE = Writes(SIEVE, _SCRIPT)
CREATE_FILTER = _SCRIPT_WRITE("create_filter", CreateFilterArgs, FilterWritten)
UPDATE_FILTER = _SCRIPT_WRITE("update_filter", UpdateFilterArgs, FilterWritten)
DELETE_FILTER = _SCRIPT_WRITE("delete_filter", DeleteFilterArgs, FilterDeleted)
SET_VACATION = _SCRIPT_WRITE("set_vacation", SetVacationArgs, VacationWritten)

FILTER_CONTRACTS: tuple[Contract[Any, Any], ...] = (
    LIST_FILTERS,
    GET_VACATION,
    CREATE_FILTER,
    UPDATE_FILTER,
    DELETE_FILTER,
    SET_VACATION,
    SIEVE_DIAGNOSE,
)
