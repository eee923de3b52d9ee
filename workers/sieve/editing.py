"""Changes to a parsed script that touch only the rule they are about.

Each function takes a ``Script`` (workers/sieve/rules.py) and returns a new one; the
worker renders it and uploads it in place of the active script. Every other rule, and
all text between rules, keeps its exact bytes: a rule is added with one blank line
between it and its neighbours (OX's layout), replaced in its own place, deleted together
with one blank line, and moved by swapping whole rules between the places rules occupy --
each rule together with the comment lines right above it (no blank line between), which
belong to it (the note above a hand-written rule), so no comment ends up above another rule.
The ``require`` line is left alone unless a rule written now needs an extension it lacks;
then it becomes OX's single ``require [ ... ];`` line with the old names first. (OX itself
rewrites the whole script on every save, date line included; we keep the date line.)

Rule ids are OX's UniqueIds as strings; a new rule gets the highest id plus one, as OX
does. Positions count, from 0, the rules ``listed_rules`` gives -- the ones list_filters
shows: every rule, hand-written ones included, but OX's vacation rule (``vacation_rule``),
which workers/sieve/vacation_editing.py reads and changes through these edits.
"""

from __future__ import annotations

import re
from dataclasses import replace

from protocol.errors import InvalidArgument, NotFound, Refused
from workers.sieve.filters import Filter, filter_extensions
from workers.sieve.ox_format import DISABLED_PREFIX, VACATION_FLAG, require_line
from workers.sieve.rules import Rule, Script, ox_rule, parse_script, render_script, switched
from workers.sieve.syntax import Command, SieveSyntaxError, StringList, parse
from workers.sieve.vacation import Vacation, vacation_extensions

_FIRST_LINE_BLANK = re.compile(r"[ \t]*\r?\n")
_LAST_LINE_BLANK = re.compile(r"(?:\A|\n)[ \t]*\r?\n\Z")
_SENDING = ("redirect", "notify")  # actions that send mail to an address the rule names


def listed_rules(script: Script) -> tuple[Rule, ...]:
    """The rules list_filters shows, in order: all but OX's vacation rule (readable or
    not), which get_vacation shows instead. Positions count these rules."""
    vacation = vacation_rule(script)
    return tuple(rule for rule in script.rules if rule is not vacation)


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
    """``script`` with a new rule at ``position`` (default: last), and that rule.

    ``position`` counts the rules ``listed_rules`` gives; the new rule goes before the one
    at that position and the comment lines that belong to it.
    """
    rules = listed_rules(script)
    if position is None:
        position = len(rules)
    if not 0 <= position <= len(rules):
        raise InvalidArgument(
            f"position must be from 0 to {len(rules)} (the number of rules listed)."
        )
    rule = ox_rule(
        next_rule_id(script), name, content, enabled=enabled, flags=flags, newline=script.newline
    )
    parts = list(script.parts)
    if position < len(rules):
        slot = _slot(parts, rules[position])
        before = parts[slot - 1] if slot > 0 else None
        if isinstance(before, str):
            stay, comments = _split_comments(before, slot > 1 or _at_line_start(script))
            parts[slot - 1 : slot] = [stay, rule, script.newline, comments]
        else:
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

    A rule we cannot rewrite can still be turned on or off alone (``enabled`` with no
    name or content): its lines get or lose OX's ``#<!-->`` prefix, nothing else changes.
    Raises NotFound, Refused for a rule we do not edit, InvalidArgument for a filter
    given to the vacation rule or the other way round.
    """
    found = find_rule(script, rule_id)
    if not found.editable and name is None and content is None and enabled is not None:
        return switch_rule(script, rule_id, enabled)
    old = _editable(found)
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


def switch_rule(script: Script, rule_id: str, enabled: bool) -> tuple[Script, Rule]:
    """``script`` with OX rule ``rule_id`` turned on or off by its ``#<!-->`` prefixes alone,
    whatever Sieve it holds (``rules.switched``); turning it back gives its exact text.

    Raises NotFound; Refused for a rule without a flag line, for turning on a rule we
    cannot read that forwards mail (its addresses cannot be checked), and where the
    change would not read back as the same rule.
    """
    old = find_rule(script, rule_id)
    if enabled and not old.enabled and old.filter is None and old.vacation is None:
        body = "".join(line.removeprefix(DISABLED_PREFIX) for line in old.text.split("\n")[1:])
        if _sends(body):
            raise Refused(
                f"Rule {rule_id} ({old.name or 'no name'}) forwards mail in Sieve these tools"
                " do not read, so its addresses cannot be checked; turn it on in the web"
                " interface."
            )
    rule = switched(old, enabled)
    if rule is old:
        return script, rule
    parts = list(script.parts)
    slot = _slot(parts, old)
    if not rule.text.endswith("\n") and slot < len(parts) - 1:
        raise Refused(
            f"Rule {rule_id} ({old.name or 'no name'}) ends in the middle of a line, so it"
            " cannot be turned on or off here; change it in the web interface."
        )
    parts[slot] = rule
    changed = replace(script, parts=tuple(parts))
    return (_with_extensions(changed, rule) if enabled else changed), rule


def move_rule(script: Script, rule_id: str, position: int) -> Script:
    """``script`` with rule ``rule_id`` at ``position`` among ``listed_rules``; the others
    keep their order, and every rule moves with the comment lines right above it."""
    rule = find_rule(script, rule_id)
    listed = listed_rules(script)
    if not any(other is rule for other in listed):
        raise InvalidArgument(f"Rule {rule_id} is the vacation reply; it has no position.")
    order = [other for other in listed if other is not rule]
    if not 0 <= position <= len(order):
        raise InvalidArgument(f"position must be from 0 to {len(order)} (the last rule listed).")
    order.insert(position, rule)
    texts, units = _units(script)
    unit_of = {id(unit[1]): unit for unit in units}
    listed_slots = [i for i, unit in enumerate(units) if any(unit[1] is r for r in listed)]
    moved = list(units)
    for slot, other in zip(listed_slots, order, strict=True):
        moved[slot] = unit_of[id(other)]
    parts: list[Rule | str] = [texts[0]]
    expected: list[tuple[str | None, str]] = []
    for slot, (comments, other) in enumerate(moved):
        follows = texts[slot + 1]
        unended = other is not units[slot][1] and not other.text.endswith("\n")
        if unended and (follows or slot < len(moved) - 1):  # it was last, with no line break
            other = replace(other, text=other.text + script.newline)
        parts += [comments, other, follows]
        expected.append((other.id, other.text))
    result = _tidy(script, parts)
    try:
        read = [(other.id, other.text) for other in parse_script(render_script(result)).rules]
    except Refused:
        read = []
    if read != expected:
        raise Refused(
            f"Rule {rule_id} cannot be moved there without changing how the script reads"
            " (a rule there starts or ends in the middle of a line); move it in the web"
            " interface."
        )
    return result


def vacation_rule(script: Script) -> Rule | None:
    """OX's vacation rule: the first rule flagged ``vacation``."""
    for rule in script.rules:
        if VACATION_FLAG in rule.flags and rule.id is not None:
            return rule
    return None


def has_command(code: str, names: tuple[str, ...], *, unreadable: bool = True) -> bool:
    """Whether Sieve ``code`` runs one of the commands ``names`` anywhere (a disabled
    rule's text is comments only, so it runs none); ``unreadable`` if it is not Sieve.
    Here it finds forwarding; vacation_editing.py finds ``vacation`` actions with it."""
    try:
        pending = list(parse(code).commands)
    except SieveSyntaxError:
        return unreadable
    while pending:
        command: Command = pending.pop()
        if command.name in names:
            return True
        pending.extend(command.block or ())
    return False


def _sends(code: str) -> bool:
    return has_command(code, _SENDING, unreadable=False)  # then rules.switched refuses


def _slot(parts: list[Rule | str], rule: Rule) -> int:
    """The index of this very rule (not an equal one) among ``parts``."""
    return next(index for index, part in enumerate(parts) if part is rule)


def _units(script: Script) -> tuple[list[str], list[tuple[str, Rule]]]:
    """The script's parts as texts and units: ``texts[i]`` comes before unit ``i`` and the
    last text after the last unit; a unit is a rule with the comment lines that belong to
    it (right above it, no blank line between), which move with it."""
    texts: list[str] = []
    units: list[tuple[str, Rule]] = []
    pending = ""
    for part in script.parts:
        if isinstance(part, str):
            pending += part
            continue
        start = not units or units[-1][1].text.endswith("\n")
        stay, comments = _split_comments(pending, start if units else _at_line_start(script))
        texts.append(stay)
        units.append((comments, part))
        pending = ""
    texts.append(pending)
    return texts, units


def _at_line_start(script: Script) -> bool:
    """Whether the script's parts start at the beginning of a line."""
    head = script.header + script.require
    return not head or head.endswith("\n")


def _split_comments(text: str, at_line_start: bool) -> tuple[str, str]:
    """``text`` (which comes right before a rule) cut before the hash-comment lines at its
    end, which belong to that rule. ``at_line_start`` says whether ``text`` starts a line."""
    if not text.endswith("\n"):
        return text, ""
    try:
        starts = {comment.start for comment in parse(text).comments}
    except SieveSyntaxError:
        return text, ""
    cut = len(text)
    while cut > 0:
        line_start = text.rfind("\n", 0, cut - 1) + 1
        if line_start == 0 and not at_line_start:
            break
        line = text[line_start:cut]
        hash_at = line_start + len(line) - len(line.lstrip(" \t"))
        if hash_at not in starts:
            break
        cut = line_start
    return text[:cut], text[cut:]


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
