"""Changes to a parsed script that touch only the rule they are about.

Each function takes a ``Script`` (workers/sieve/rules.py) and returns a new one; the
worker renders it and uploads it in place of the active script. Every other rule, and
all text between rules, keeps its exact bytes: a rule is added with one blank line
between it and its neighbours (OX's layout), replaced in its own place, deleted together
with one blank line, and moved by swapping whole rules between the places rules occupy.
The ``require`` line is left alone unless a rule written now needs an extension it lacks;
then it becomes OX's single ``require [ ... ];`` line with the old names first. (OX itself
rewrites the whole script on every save, date line included; we keep the date line.)

Rule ids are OX's UniqueIds as strings; a new rule gets the highest id plus one, as OX
does. Positions count every rule of the script, hand-written ones included, from 0.
"""

from __future__ import annotations

import re
from dataclasses import replace

from protocol.errors import InvalidArgument, NotFound, Refused
from workers.sieve.filters import Filter, filter_extensions
from workers.sieve.ox_format import VACATION_FLAG, VACATION_NAME, require_line
from workers.sieve.rules import Rule, Script, ox_rule, render_script
from workers.sieve.syntax import StringList, parse
from workers.sieve.vacation import Vacation, vacation_extensions

_FIRST_LINE_BLANK = re.compile(r"[ \t]*\r?\n")
_LAST_LINE_BLANK = re.compile(r"(?:\A|\n)[ \t]*\r?\n\Z")


def find_rule(script: Script, rule_id: str) -> Rule:
    """The rule with OX id ``rule_id``; NotFound with a sentence if there is none."""
    for rule in script.rules:
        if rule.id is not None and rule.id == rule_id:
            return rule
    raise NotFound(
        f"There is no filter rule with id '{rule_id}'; list the filters to see their ids."
    )


def next_rule_id(script: Script) -> int:
    """The id OX would give a new rule: the highest id plus one, 0 for the first."""
    ids = [int(rule.id) for rule in script.rules if rule.id is not None]
    return max(ids, default=-1) + 1


def add_rule(
    script: Script,
    name: str,
    content: Filter | Vacation,
    *,
    enabled: bool = True,
    flags: tuple[str, ...] = (),
    position: int | None = None,
) -> tuple[Script, Rule]:
    """``script`` with a new rule at ``position`` (default: last), and that rule."""
    rules = script.rules
    if position is None:
        position = len(rules)
    if not 0 <= position <= len(rules):
        raise InvalidArgument(f"position must be from 0 to {len(rules)} (the number of rules).")
    rule = ox_rule(
        next_rule_id(script), name, content, enabled=enabled, flags=flags, newline=script.newline
    )
    parts = list(script.parts)
    if position < len(rules):
        slot = _slot(parts, rules[position])
        parts[slot:slot] = [rule, script.newline]
    else:
        separator = _separator(render_script(script), script.newline)
        parts += [separator, rule] if separator else [rule]
    return _with_extensions(_tidy(script, parts), rule), rule


def update_rule(
    script: Script,
    rule_id: str,
    *,
    name: str | None = None,
    content: Filter | Vacation | None = None,
    enabled: bool | None = None,
) -> tuple[Script, Rule]:
    """``script`` with rule ``rule_id`` rewritten in its place; what is None is kept.

    Raises NotFound, Refused for a rule we do not edit, InvalidArgument for a filter
    given to the vacation rule or the other way round.
    """
    old = _editable(find_rule(script, rule_id))
    if content is None:
        content = old.vacation if old.vacation is not None else old.filter
        assert content is not None
        if isinstance(content, Vacation) and enabled is not None:
            content = replace(content, enabled=enabled)
    if isinstance(content, Vacation) != (old.vacation is not None):
        which = "is the vacation notice" if old.vacation is not None else "is a filter"
        raise InvalidArgument(f"Rule {rule_id} {which}; it cannot be turned into the other kind.")
    rule = ox_rule(
        int(rule_id),
        old.name if name is None else name,
        content,
        enabled=old.enabled if enabled is None else enabled,
        flags=old.flags,
        newline=script.newline,
    )
    parts = [rule if part is old else part for part in script.parts]
    return _with_extensions(replace(script, parts=tuple(parts)), rule), rule


def delete_rule(script: Script, rule_id: str) -> Script:
    """``script`` without rule ``rule_id`` and the blank line that separated it."""
    rule = find_rule(script, rule_id)
    parts = list(script.parts)
    slot = _slot(parts, rule)
    del parts[slot]
    after = parts[slot] if slot < len(parts) else None
    before = parts[slot - 1] if slot > 0 else None
    if isinstance(after, str) and (blank := _FIRST_LINE_BLANK.match(after)):
        parts[slot] = after[blank.end() :]
    elif isinstance(before, str) and (blank := _LAST_LINE_BLANK.search(before)):
        parts[slot - 1] = before[: blank.start() + (1 if blank.group().startswith("\n") else 0)]
    return _tidy(script, parts)


def move_rule(script: Script, rule_id: str, position: int) -> Script:
    """``script`` with rule ``rule_id`` at ``position``; the others keep their order."""
    rule = find_rule(script, rule_id)
    order = [other for other in script.rules if other is not rule]
    if not 0 <= position <= len(order):
        raise InvalidArgument(f"position must be from 0 to {len(order)} (the last rule).")
    order.insert(position, rule)
    moved = iter(order)
    parts = [next(moved) if isinstance(part, Rule) else part for part in script.parts]
    return replace(script, parts=tuple(parts))


def get_vacation(script: Script) -> Vacation | None:
    """The vacation notice, or None if the script has none (or one we cannot read)."""
    rule = _vacation_rule(script)
    return None if rule is None else rule.vacation


def set_vacation(script: Script, reply: Vacation) -> tuple[Script, Rule]:
    """``script`` with its vacation rule replaced in place, or a new one first if none.

    Raises Refused when the existing vacation rule uses Sieve we do not edit.
    """
    rule = _vacation_rule(script)
    if rule is None:
        return add_rule(script, VACATION_NAME, reply, flags=(VACATION_FLAG,), position=0)
    assert rule.id is not None
    return update_rule(script, rule.id, content=reply)


def _slot(parts: list[Rule | str], rule: Rule) -> int:
    """The index of this very rule (not an equal one) among ``parts``."""
    return next(index for index, part in enumerate(parts) if part is rule)


def _vacation_rule(script: Script) -> Rule | None:
    for rule in script.rules:
        if VACATION_FLAG in rule.flags and rule.id is not None:
            return rule
    return None


def _editable(rule: Rule) -> Rule:
    if not rule.editable:
        raise Refused(
            f"Rule {rule.id} ({rule.name or 'no name'}) uses Sieve this tool does not edit,"
            " so it is kept exactly as it is; change it in the web interface."
        )
    return rule


def _separator(before: str, newline: str) -> str:
    """What goes between the script so far and a rule added after it: one blank line."""
    if not before.strip():
        return "" if not before or before.endswith("\n") else newline
    if not before.endswith("\n"):
        return newline + newline
    return "" if _LAST_LINE_BLANK.search(before) else newline


def _tidy(script: Script, parts: list[Rule | str]) -> Script:
    """Adjacent texts joined, empty ones dropped."""
    tidy: list[Rule | str] = []
    for part in parts:
        if isinstance(part, str) and tidy and isinstance(tidy[-1], str):
            tidy[-1] += part
        elif part != "":
            tidy.append(part)
    return replace(script, parts=tuple(part for part in tidy if part != ""))


def _with_extensions(script: Script, rule: Rule) -> Script:
    """``script`` whose require line covers what ``rule`` (if enabled) needs."""
    if not rule.enabled:
        return script
    needed = vacation_extensions(rule.vacation) if rule.vacation else ()
    needed += filter_extensions(rule.filter) if rule.filter else ()
    missing = tuple(name for name in needed if name not in script.extensions)
    if not missing:
        return script
    newline = script.newline
    own = _required_in(script.require)
    line = require_line(own + tuple(name for name in missing if name not in own)) + newline
    extensions = script.extensions + missing
    if script.require:
        lead = len(script.require) - len(script.require.lstrip(" \t\r\n"))
        return replace(script, require=script.require[:lead] + line, extensions=extensions)
    header = script.header
    if header and not header.endswith("\n"):
        header += newline
    rest = "".join(part if isinstance(part, str) else part.text for part in script.parts)
    blank = "" if not rest or _FIRST_LINE_BLANK.match(rest) else newline
    return replace(script, header=header, require=line + blank, extensions=extensions)


def _required_in(require: str) -> tuple[str, ...]:
    """The extension names the require commands ``require`` name, in order."""
    names: list[str] = []
    for command in parse(require).commands:
        for argument in command.arguments:
            if isinstance(argument, StringList):
                names.extend(name for name in argument.values if name not in names)
    return tuple(names)
