"""Filter rules in the shape OX App Suite's rule editor gives them: conditions and actions.

A ``Filter`` is what the web interface edits: conditions on From, To, Cc, Subject, any
other header or the size, all or any of which must hold, and actions (move, copy, mark as
read, flag, forward, discard, stop). ``filter_of`` reads a parsed ``if`` command into one
when -- and only when -- every part of it is in that subset; ``filter_block`` writes one
the way OX writes it (see workers/sieve/ox_format.py). Values are checked when a
``Filter`` is made, so one that exists can always be written safely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

from protocol.errors import InvalidArgument
from workers.sieve.ox_format import all_of, if_block
from workers.sieve.quoting import check_address, check_line, quote
from workers.sieve.syntax import Command, Number, StringList, Tag, Test

ConditionField = Literal["from", "to", "cc", "subject", "header", "size_over", "size_under"]
MatchType = Literal["contains", "is", "matches"]
ActionType = Literal["move", "copy", "mark_read", "flag", "forward", "discard", "stop"]

_HEADER_OF_FIELD = {"from": "From", "to": "To", "cc": "Cc", "subject": "Subject"}
_SIZE_FIELDS = {"size_over": "over", "size_under": "under"}
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 field name: visible ASCII but ':'
_SIZE = re.compile(r"([0-9]{1,10})([KMG]?)", re.IGNORECASE)
_FACTORS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
_MAX_SIZE = 2**31 - 1  # OX keeps sizes in a Java int
_FLAG_OF_ACTION = {"mark_read": "\\seen", "flag": "\\flagged"}
_ACTION_OF_FLAG: dict[str, ActionType] = {"\\seen": "mark_read", "\\flagged": "flag"}
_FIELD_OF_SIZE: dict[str, ConditionField] = {"over": "size_over", "under": "size_under"}
_BARE_ACTIONS: dict[str, ActionType] = {"discard": "discard", "stop": "stop"}
_MATCHES: dict[str, MatchType] = {"contains": "contains", "is": "is", "matches": "matches"}


@dataclass(frozen=True)
class Condition:
    """One condition. ``header`` names the header when ``field`` is "header".

    ``value`` is the text to match, or for the size fields a number of bytes (``"100K"``
    and ``"2M"`` are accepted and kept as bytes). ``match`` does not apply to sizes.
    A "header" condition on From, To, Cc or Subject becomes that field.
    Raises InvalidArgument for a value a script cannot hold.
    """

    field: ConditionField
    value: str
    match: MatchType = "contains"
    header: str | None = None

    def __post_init__(self) -> None:
        if self.field not in get_args(ConditionField):
            raise InvalidArgument(f"'{self.field}' is not a condition field.")
        if self.match not in get_args(MatchType):
            raise InvalidArgument(
                f"'{self.match}' is not a match type: use contains, is or matches."
            )
        if self.field in _SIZE_FIELDS:
            object.__setattr__(self, "value", _bytes(self.value))
            object.__setattr__(self, "match", "is")
            object.__setattr__(self, "header", None)
            return
        check_line(self.value, "The condition's value")
        if self.field != "header":
            object.__setattr__(self, "header", None)
            return
        if self.header is None or not _HEADER_NAME.fullmatch(self.header):
            raise InvalidArgument(
                "A header condition needs the header's name (e.g. X-Priority): visible"
                " ASCII characters without spaces or a colon."
            )
        field = self.header.lower()
        if field in _HEADER_OF_FIELD:
            object.__setattr__(self, "field", field)
            object.__setattr__(self, "header", None)


@dataclass(frozen=True)
class Action:
    """One action; ``folder`` for move and copy, ``address`` for forward."""

    type: ActionType
    folder: str | None = None
    address: str | None = None

    def __post_init__(self) -> None:
        if self.type not in get_args(ActionType):
            raise InvalidArgument(f"'{self.type}' is not a filter action.")
        wants_folder = self.type in ("move", "copy")
        if wants_folder != (self.folder is not None):
            need = "needs" if wants_folder else "takes no"
            raise InvalidArgument(f"A {self.type} action {need} a folder.")
        if (self.type == "forward") != (self.address is not None):
            need = "needs" if self.type == "forward" else "takes no"
            raise InvalidArgument(f"A {self.type} action {need} an address.")
        if self.folder is not None and not check_line(self.folder, "The folder name"):
            raise InvalidArgument("The folder name is empty.")
        if self.address is not None:
            check_address(self.address, "The forwarding address")


@dataclass(frozen=True)
class Filter:
    """Conditions, whether all (``match_all``) or any of them must hold, and actions.

    No condition means every message. ``match_all`` matters only with two or more
    conditions and is True otherwise. A ``stop`` is moved last, as the web interface does.
    """

    conditions: tuple[Condition, ...]
    actions: tuple[Action, ...]
    match_all: bool = True

    def __post_init__(self) -> None:
        conditions, actions = tuple(self.conditions), tuple(self.actions)
        if not actions:
            raise InvalidArgument("A filter needs at least one action.")
        stops = tuple(action for action in actions if action.type == "stop")
        object.__setattr__(self, "conditions", conditions)
        object.__setattr__(self, "actions", tuple(a for a in actions if a.type != "stop") + stops)
        if len(conditions) < 2:
            object.__setattr__(self, "match_all", True)


def filter_block(rule: Filter, newline: str) -> str:
    """The ``if`` command for ``rule`` in OX's layout (without the flag line)."""
    tests = [_test_text(condition) for condition in rule.conditions]
    return if_block(all_of(tests, rule.match_all), [_action_text(a) for a in rule.actions], newline)


def filter_extensions(rule: Filter) -> tuple[str, ...]:
    """The Sieve extensions ``rule`` needs, in OX's order."""
    needed: list[str] = []
    for action in rule.actions:
        if action.type in ("move", "copy") and "fileinto" not in needed:
            needed.append("fileinto")
        if action.type == "copy" and "copy" not in needed:
            needed.append("copy")
        if action.type in _FLAG_OF_ACTION and "imap4flags" not in needed:
            needed.append("imap4flags")
    return tuple(needed)


def filter_of(command: Command) -> Filter | None:
    """``command`` as a Filter, or None when any part of it is outside what we edit."""
    if command.name != "if" or command.block is None or len(command.tests) != 1:
        return None
    read = _conditions(command.tests[0])
    if read is None:
        return None
    actions: list[Action] = []
    for inner in command.block:
        found = _actions(inner)
        if found is None:
            return None
        actions.extend(found)
    try:
        rule = Filter(read[0], tuple(actions), read[1])
    except InvalidArgument:
        return None
    return rule if rule.actions == tuple(actions) else None


def _bytes(value: str) -> str:
    match = _SIZE.fullmatch(value.strip())
    size = int(match.group(1)) * _FACTORS[match.group(2).upper()] if match else -1
    if not 0 <= size <= _MAX_SIZE:
        raise InvalidArgument(
            f"'{value}' is not a message size: give bytes, or a number with K, M or G (under 2G)."
        )
    return str(size)


def _test_text(condition: Condition) -> str:
    if condition.field in _SIZE_FIELDS:
        return f"size :{_SIZE_FIELDS[condition.field]} {condition.value}"
    header = condition.header or _HEADER_OF_FIELD[condition.field]
    value = quote(condition.value, "The condition's value")
    return f"header :{condition.match} {quote(header, 'The header name')} {value}"


def _action_text(action: Action) -> str:
    if action.type == "move":
        return f"fileinto {quote(action.folder or '', 'The folder name')}"
    if action.type == "copy":
        return f"fileinto :copy {quote(action.folder or '', 'The folder name')}"
    if action.type in _FLAG_OF_ACTION:
        return f"addflag {quote(_FLAG_OF_ACTION[action.type], 'The flag')}"
    if action.type == "forward":
        return f"redirect {quote(action.address or '', 'The address')}"
    return action.type


def _conditions(test: Test) -> tuple[tuple[Condition, ...], bool] | None:
    if test.name == "true" and not test.arguments and not test.tests:
        return (), True
    if test.name in ("allof", "anyof") and test.in_list and not test.arguments:
        found = [_condition(inner) for inner in test.tests]
        if any(condition is None for condition in found):
            return None
        return tuple(c for c in found if c is not None), test.name == "allof"
    single = _condition(test)
    return None if single is None else ((single,), True)


def _condition(test: Test) -> Condition | None:
    tags = [a.name for a in test.arguments if isinstance(a, Tag)]
    rest = [a for a in test.arguments if not isinstance(a, Tag)]
    if test.tests:
        return None
    try:
        if test.name == "size" and len(tags) == 1 and tags[0] in _FIELD_OF_SIZE:
            if len(rest) == 1 and isinstance(rest[0], Number):
                return Condition(_FIELD_OF_SIZE[tags[0]], str(rest[0].value))
            return None
        if test.name != "header" or len(tags) > 1 or (tags and tags[0] not in _MATCHES):
            return None
        strings = [a.values for a in rest if isinstance(a, StringList)]
        if len(rest) != 2 or len(strings) != 2 or len(strings[0]) != 1 or len(strings[1]) != 1:
            return None
        match = _MATCHES[tags[0]] if tags else "is"
        return Condition("header", strings[1][0], match, strings[0][0])
    except InvalidArgument:
        return None


def _actions(command: Command) -> list[Action] | None:
    if command.tests or command.block is not None:
        return None
    tags = [a.name for a in command.arguments if isinstance(a, Tag)]
    rest = [a for a in command.arguments if not isinstance(a, Tag)]
    if command.name in _BARE_ACTIONS:
        return [Action(_BARE_ACTIONS[command.name])] if not command.arguments else None
    if len(rest) != 1 or not isinstance(rest[0], StringList):
        return None
    values = rest[0].values
    try:
        if command.name == "fileinto" and tags in ([], ["copy"]) and len(values) == 1:
            return [Action("copy" if tags else "move", folder=values[0])]
        if command.name == "redirect" and not tags and len(values) == 1:
            return [Action("forward", address=values[0])]
        if command.name == "addflag" and not tags:
            flags = [flag.lower() for value in values for flag in value.split()]
            if flags and all(flag in _ACTION_OF_FLAG for flag in flags):
                return [Action(_ACTION_OF_FLAG[flag]) for flag in flags]
    except InvalidArgument:
        return None
    return None
