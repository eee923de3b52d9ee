"""Reading and changing the vacation reply: OX's rule flagged ``vacation``.

``vacation_state`` says what the script holds: that rule read as a ``Vacation``, None
for no vacation reply at all, or an ``UnreadableVacation`` -- OX's rule in Sieve these
tools do not read (it can still be turned off: ``turn_off_vacation``), or a ``vacation``
action outside it (written by hand, or inside a rule we cannot read), which these tools
never change and beside which ``set_vacation`` refuses to add a second one (two make
delivery fail). The changes themselves are rule edits (workers/sieve/editing.py): the
rule is added first, rewritten in its place, or turned off by its ``#<!-->`` prefixes.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.errors import Refused
from workers.sieve.editing import add_rule, has_command, switch_rule, update_rule, vacation_rule
from workers.sieve.ox_format import VACATION_FLAG, VACATION_NAME
from workers.sieve.rules import Rule, Script
from workers.sieve.vacation import Vacation

HAND_WRITTEN_VACATION = (
    "The active script already has a vacation reply written by hand (or inside a rule"
    " these tools cannot read), which these tools cannot change; change or remove it in"
    " the web interface first."
)


@dataclass(frozen=True)
class UnreadableVacation:
    """A vacation reply in the script that these tools cannot read as a ``Vacation``.

    ``rule`` holds it: its ``text`` is the Sieve to show, its ``enabled`` whether it can
    answer. ``hand_written`` is False for OX's vacation rule (flagged ``vacation``) written
    in Sieve we do not read -- it can be turned off, not changed -- and True for a
    ``vacation`` action anywhere else (a rule written by hand, or one we cannot read),
    which cannot be changed here at all.
    """

    rule: Rule
    hand_written: bool

    @property
    def enabled(self) -> bool:
        return self.rule.enabled


def get_vacation(script: Script) -> Vacation | None:
    """OX's vacation notice as read, or None if there is none or we cannot read it.

    None does not mean "off": a vacation reply we cannot read (``vacation_state``) may
    be answering mail all the same.
    """
    rule = vacation_rule(script)
    return None if rule is None else rule.vacation


def vacation_state(script: Script) -> Vacation | UnreadableVacation | None:
    """What the script holds as a vacation reply: OX's rule read as a ``Vacation``; an
    ``UnreadableVacation`` for a ``vacation`` action outside OX's rule (first, as it
    cannot be changed here) or for OX's rule in Sieve we do not read; None for none.
    """
    other = _other_vacation(script)
    if other is not None:
        return UnreadableVacation(other, hand_written=True)
    rule = vacation_rule(script)
    if rule is None:
        return None
    return rule.vacation or UnreadableVacation(rule, hand_written=False)


def set_vacation(script: Script, reply: Vacation) -> tuple[Script, Rule]:
    """``script`` with its vacation rule replaced in place, or a new one first if none.

    A ``reply`` that is off turns off OX's rule even when we cannot read it (its text
    is kept, prefixed as OX prefixes a disabled rule). Raises Refused when a vacation
    action outside OX's rule exists (``HAND_WRITTEN_VACATION``), and for turning on or
    changing a vacation rule in Sieve we do not edit.
    """
    if _other_vacation(script) is not None:
        raise Refused(HAND_WRITTEN_VACATION)
    rule = vacation_rule(script)
    if rule is None:
        return add_rule(script, VACATION_NAME, reply, flags=(VACATION_FLAG,), position=0)
    assert rule.id is not None
    if rule.vacation is None and not reply.enabled:
        return switch_rule(script, rule.id, False)
    return update_rule(script, rule.id, content=reply)


def turn_off_vacation(script: Script) -> tuple[Script, Rule | None]:
    """``script`` with OX's vacation rule turned off, readable or not, and that rule;
    (``script``, None) when there is nothing to turn off (no vacation rule, or one
    already off). Raises Refused when a vacation action outside OX's rule exists."""
    if _other_vacation(script) is not None:
        raise Refused(HAND_WRITTEN_VACATION)
    rule = vacation_rule(script)
    if rule is None or not rule.enabled:
        return script, None
    assert rule.id is not None
    if rule.vacation is not None:
        return update_rule(script, rule.id, enabled=False)
    return switch_rule(script, rule.id, False)


def _other_vacation(script: Script) -> Rule | None:
    """The first rule but OX's vacation rule with an active ``vacation`` action in it."""
    ours = vacation_rule(script)
    for rule in script.rules:
        if rule is not ours and rule.enabled and has_command(rule.text, ("vacation",)):
            return rule
    return None
