"""A Sieve script cut into OX App Suite's rules without changing a byte.

``parse_script`` splits the active script into its header comments, its ``require``
commands and an ordered list of parts: rules, and the text between them (blank lines,
comments). Every rule keeps its exact text -- the ``## Flag:`` line and, for a disabled
rule, its ``#<!-->`` lines included -- so ``render_script`` gives back the very same
script, and an edit (workers/sieve/editing.py) replaces only the rule it is about.

A rule OX can show (a flag line, then an ``if`` or a disabled block) gets its id, name,
flags and enabled state from the flag line, and a structured form (``Filter`` or
``Vacation``) when every test and action in it is one we edit. Anything else -- a command
without a flag line, a rule using tests or actions outside that subset, an ``if`` with
``elsif`` -- is kept as a read-only raw rule. A flagged rule can still be turned on and
off (``switched``) by its ``#<!-->`` prefixes alone, whatever Sieve it holds. The layout
OX writes is described in workers/sieve/ox_format.py, with its sources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from protocol.errors import Refused
from workers.sieve.filters import Filter, filter_block, filter_of
from workers.sieve.ox_format import (
    DISABLED_PREFIX,
    OX_NEWLINE,
    VACATION_FLAG,
    FlagLine,
    check_flags,
    check_name,
    disabled,
    flag_line,
    generated_header,
    read_flag_line,
)
from workers.sieve.syntax import Command, Parsed, SieveSyntaxError, StringList, parse
from workers.sieve.vacation import Vacation, vacation_block, vacation_of

_REST_OF_LINE = re.compile(r"[ \t]*(?:#[^\n]*)?(?:\r?\n|\Z)")
_BLANK_SPACE = " \t\r\n"


@dataclass(frozen=True)
class Rule:
    """One rule of the script and its exact ``text`` (through its last line break).

    ``id`` is OX's UniqueId as a string, None for Sieve written by hand (no flag line).
    ``filter`` or ``vacation`` is set when the rule is one we can edit.
    """

    text: str
    id: str | None
    name: str
    enabled: bool
    flags: tuple[str, ...] = ()
    filter: Filter | None = None
    vacation: Vacation | None = None

    @property
    def editable(self) -> bool:
        """Whether the rule has an id and a structured form, so it may be rewritten."""
        return self.id is not None and (self.filter is not None or self.vacation is not None)


@dataclass(frozen=True)
class Script:
    """A script in order: ``header`` + ``require`` + ``parts``, each part a Rule or text.

    ``require`` is the exact text of the leading ``require`` commands (empty if none);
    ``extensions`` every extension the script requires; ``newline`` its line break.
    """

    header: str
    require: str
    extensions: tuple[str, ...]
    parts: tuple[Rule | str, ...]
    newline: str = OX_NEWLINE

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(part for part in self.parts if isinstance(part, Rule))


def new_script(now: datetime) -> Script:
    """An empty script as OX starts one, for an account that has none yet."""
    return Script(generated_header(now) + OX_NEWLINE, "", (), ())


def parse_script(text: str) -> Script:
    """``text`` cut into header, require and rules; Refused if it is not valid Sieve."""
    try:
        parsed = parse(text)
    except SieveSyntaxError as error:
        raise Refused(
            f"The active Sieve script cannot be read ({error}), so its rules cannot be"
            " changed safely; it was left as it is."
        ) from None
    newline = "\r\n" if "\r\n" in text or "\n" not in text else "\n"
    groups = _command_groups(parsed)
    header_end = _header_end(text)
    require_end, extensions = _require_region(text, header_end, groups)
    parts = _parts(text, require_end, parsed, groups)
    return Script(text[:header_end], text[header_end:require_end], extensions, parts, newline)


def render_script(script: Script) -> str:
    """The script's text: untouched rules and text exactly as they were read."""
    pieces = [part if isinstance(part, str) else part.text for part in script.parts]
    return script.header + script.require + "".join(pieces)


def render_rule(rule: Rule, newline: str = OX_NEWLINE) -> str:
    """``rule`` written from its structured form in OX's layout, flag line first.

    Raises Refused for a rule without an id or structured form (it is never rewritten),
    InvalidArgument for a name or flag OX could not read back.
    """
    if rule.id is None or not rule.id.isdigit() or not rule.editable:
        raise Refused(
            "This rule was written by hand or uses Sieve this tool does not edit,"
            " so it is kept exactly as it is; change it in the web interface."
        )
    if rule.vacation is not None:
        body = vacation_block(rule.vacation, newline)
    else:
        assert rule.filter is not None
        body = filter_block(rule.filter, newline)
    if not rule.enabled:
        body = disabled(body, newline)
    head = flag_line(check_flags(rule.flags), int(rule.id), check_name(rule.name))
    return head + newline + body


def ox_rule(
    rule_id: int,
    name: str,
    content: Filter | Vacation,
    *,
    enabled: bool = True,
    flags: tuple[str, ...] = (),
    newline: str = OX_NEWLINE,
) -> Rule:
    """A new or changed rule with its text written; a vacation's own ``enabled`` wins."""
    if isinstance(content, Vacation):
        draft = Rule("", str(rule_id), name, content.enabled, flags, vacation=content)
    else:
        draft = Rule("", str(rule_id), name, enabled, flags, filter=content)
    return replace(draft, text=render_rule(draft, newline))


def switched(rule: Rule, enabled: bool) -> Rule:
    """OX-flagged ``rule`` turned on or off by its lines alone, whatever Sieve it holds.

    Turning off prefixes every line after the flag line with ``#<!-->``, as OX does;
    turning on takes that prefix off again, so turning a rule off and on gives back its
    exact text. Raises Refused for a rule without a flag line, and for one whose text,
    turned on, would not read back as that rule (the code under the prefix is not Sieve).
    """
    if rule.id is None:
        raise Refused(
            "This rule was written by hand, so it has no on/off switch the web interface"
            " knows; change it in the web interface."
        )
    if rule.enabled == enabled:
        return rule
    head_end = rule.text.find("\n") + 1 or len(rule.text)
    head, lines = rule.text[:head_end], _lines(rule.text[head_end:])
    if enabled:
        body = "".join(line.removeprefix(DISABLED_PREFIX) for line in lines)
    else:
        body = "".join(DISABLED_PREFIX + line for line in lines)
    text = head + body
    try:
        read = parse_script(text).parts
    except Refused:
        read = ()
    found = read[0] if len(read) == 1 and isinstance(read[0], Rule) else None
    if found is None or (found.id, found.text, found.enabled) != (rule.id, text, enabled):
        which = "on" if enabled else "off"
        raise Refused(
            f"Rule {rule.id} ({rule.name or 'no name'}) cannot be turned {which} here: its"
            " text would not read back as the same rule; change it in the web interface."
        )
    return found


def _command_groups(parsed: Parsed) -> list[tuple[Command, ...]]:
    """Top-level commands, an ``if`` kept together with its ``elsif``/``else``."""
    groups: list[tuple[Command, ...]] = []
    for command in parsed.commands:
        if command.name in ("elsif", "else") and groups and groups[-1][-1].name in ("if", "elsif"):
            groups[-1] = (*groups[-1], command)
        else:
            groups.append((command,))
    return groups


def _header_end(text: str) -> int:
    """Where the leading comment lines (OX's "Generated by" line) end."""
    position = 1 if text.startswith("\ufeff") else 0
    while position < len(text):
        newline = text.find("\n", position)
        end = len(text) if newline < 0 else newline + 1
        line = text[position:end].rstrip("\r\n")
        if not line.startswith("#") or line.startswith(DISABLED_PREFIX) or read_flag_line(line):
            break
        position = end
    return position


def _require_region(
    text: str, start: int, groups: list[tuple[Command, ...]]
) -> tuple[int, tuple[str, ...]]:
    """The end of the require commands right after ``start``, and every required name."""
    extensions: list[str] = []
    for group in groups:
        if group[0].name == "require":
            for argument in group[0].arguments:
                if isinstance(argument, StringList):
                    extensions.extend(e for e in argument.values if e not in extensions)
    end = start
    for group in groups:
        if group[0].start < start:
            continue
        if group[0].name != "require" or text[end : group[0].start].strip(_BLANK_SPACE):
            break
        end = _line_end(text, group[-1].end)
    return end, tuple(extensions)


def _parts(
    text: str, start: int, parsed: Parsed, groups: list[tuple[Command, ...]]
) -> tuple[Rule | str, ...]:
    """Rules and the text between them, from ``start`` to the end of ``text``."""
    flags = [
        (comment.start, comment.end, flag)
        for comment in parsed.comments
        if comment.start >= start
        and (comment.start == 0 or text[comment.start - 1] == "\n")
        and (flag := read_flag_line(comment.text)) is not None
    ]
    commands = [(group[0].start, group) for group in groups if group[0].start >= start]
    events = sorted(
        [(at, 0, index) for index, (at, _, _) in enumerate(flags)]
        + [(at, 1, index) for index, (at, _) in enumerate(commands)]
    )
    parts: list[Rule | str] = []
    cursor = start
    index = 0
    while index < len(events):
        at, kind, which = events[index]
        index += 1
        if at < cursor:
            continue
        if kind == 1:
            group = commands[which][1]
            end = _line_end(text, group[-1].end)
            parts += [text[cursor:at], _raw(text[at:end])]
            cursor = end
            continue
        _, flag_end, flag = flags[which]
        line_end = _line_end(text, flag_end)
        block_end = _disabled_end(text, line_end)
        if block_end > line_end:
            parts += [text[cursor:at], _disabled_rule(text[at:block_end], flag, line_end - at)]
            cursor = block_end
            continue
        following = events[index] if index < len(events) else None
        if following is None or following[1] != 1:
            continue
        group = commands[following[2]][1]
        if text[line_end : group[0].start].strip(_BLANK_SPACE):
            continue
        end = _line_end(text, group[-1].end)
        parts += [text[cursor:at], _enabled_rule(text[at:end], flag, group)]
        cursor = end
        index += 1
    parts.append(text[cursor:])
    return tuple(part for part in parts if part != "")


def _line_end(text: str, position: int) -> int:
    """``position`` moved past spaces, a trailing comment and the line break, if only those
    follow on its line."""
    match = _REST_OF_LINE.match(text, position)
    return position if match is None else match.end()


def _disabled_end(text: str, position: int) -> int:
    """The end of the run of ``#<!-->`` lines starting at ``position``."""
    while text.startswith(DISABLED_PREFIX, position):
        newline = text.find("\n", position)
        position = len(text) if newline < 0 else newline + 1
    return position


def _raw(text: str) -> Rule:
    return Rule(text, None, "", enabled=True)


def _enabled_rule(text: str, flag: FlagLine, group: tuple[Command, ...]) -> Rule:
    return _understood(text, flag, group, enabled=True)


def _disabled_rule(text: str, flag: FlagLine, body_start: int) -> Rule:
    code = "".join(line[len(DISABLED_PREFIX) :] for line in _lines(text[body_start:]))
    try:
        parsed = parse(code)
    except SieveSyntaxError:
        return Rule(text, str(flag.unique_id), flag.name, False, flag.flags)
    return _understood(text, flag, tuple(parsed.commands), enabled=False)


def _understood(text: str, flag: FlagLine, group: tuple[Command, ...], *, enabled: bool) -> Rule:
    rule = Rule(text, str(flag.unique_id), flag.name, enabled, flag.flags)
    if len(group) != 1:
        return rule
    if VACATION_FLAG in flag.flags:
        reply = vacation_of(group[0], enabled)
        return rule if reply is None else replace(rule, vacation=reply)
    found = filter_of(group[0])
    return rule if found is None else replace(rule, filter=found)


def _lines(text: str) -> list[str]:
    """``text`` in lines that keep their breaks; only ``\\n`` ends a line, as in Sieve."""
    lines = text.split("\n")
    last = lines.pop()
    return [line + "\n" for line in lines] + ([last] if last else [])
