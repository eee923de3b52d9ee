"""The filters tools: read and edit the user's active Sieve script.

Every change reads the active script, edits only the rules it is about (the others
keep their exact text: ``workers.sieve.editing``), has the server check the new
text (CHECKSCRIPT), reads the script once more to find a change another client made
meanwhile (ManageSieve has no compare-and-swap, so this keeps the window to one
round trip), and replaces the whole script in one PUTSCRIPT. Edits from this
worker take turns, so parallel calls never drop each other's rules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time
from typing import TypeVar

import anyio

from protocol import filters as api
from protocol.errors import Conflict, InvalidArgument, Refused
from protocol.when import user_zone
from protocol.writing import outside_allowed
from workers.runtime import CallContext, serves
from workers.sieve import editing, vacation_editing
from workers.sieve.client import SieveClient, SieveEndpoint, connect
from workers.sieve.filters import Action, Condition, Filter
from workers.sieve.pool import SievePool
from workers.sieve.rules import Rule, Script, new_script, parse_script, render_script
from workers.sieve.vacation import Vacation

T = TypeVar("T")

# The name OX App Suite gives the script it creates; used only when none is active.
SCRIPT_NAME = "Open-Xchange"


@dataclass
class SieveState:
    settings: api.SieveSettings
    pool: SievePool
    editing: anyio.Lock = field(default_factory=anyio.Lock)


@asynccontextmanager
async def open_sieve_state(settings: api.SieveSettings) -> AsyncIterator[SieveState]:
    endpoint = SieveEndpoint.of(settings)
    pool = SievePool(lambda: connect(endpoint), settings.pool)
    try:
        yield SieveState(settings, pool)
    finally:
        await pool.aclose()


@dataclass(frozen=True)
class _Active:
    name: str | None
    others: list[str]
    text: str | None

    def script(self) -> Script:
        return parse_script(self.text) if self.text is not None else new_script(datetime.now(UTC))


async def _read_active(client: SieveClient) -> _Active:
    scripts = await client.list_scripts()
    active = next((s.name for s in scripts if s.active), None)
    others = [s.name for s in scripts if not s.active]
    text = await client.get_script(active) if active is not None else None
    return _Active(active, others, text)


async def _current(state: SieveState) -> _Active:
    """The active script as it is now, for a tool that only reads it."""
    async with state.pool.connection() as client:
        return await _read_active(client)


async def _edit(
    state: SieveState, ctx: CallContext, change: Callable[[Script], tuple[Script, T]]
) -> tuple[str, T]:
    """Apply ``change`` to the active script (or a new one, activated) and save it."""
    ctx.tags = [api.SIEVE_SCRIPT.tag]
    async with state.editing, state.pool.connection() as client:
        found = await _read_active(client)
        changed, outcome = change(found.script())
        text = render_script(changed)
        name = found.name or _free_name(found.others)
        await client.check_script(text)
        now = await _read_active(client)
        if (now.name, now.text) != (found.name, found.text):
            raise Conflict(
                "Nothing was changed: the filter rules were changed elsewhere (in the web "
                "interface or another app) a moment ago; call list_filters and try again."
            )
        await client.put_script(name, text)
        if found.name is None:
            await client.set_active(name)
    return name, outcome


def _free_name(taken: list[str]) -> str:
    return SCRIPT_NAME if SCRIPT_NAME not in taken else f"{SCRIPT_NAME} (mailbox-mcp)"


# -- reading ----------------------------------------------------------------------------


def _as_api(condition: Condition) -> api.Condition:
    return api.Condition(
        field=condition.field, value=condition.value, match=condition.match, header=condition.header
    )


def _as_api_action(action: Action) -> api.Action:
    return api.Action(type=action.type, folder=action.folder, address=action.address)


def _listed(rule: Rule) -> api.Rule:
    """A rule as the tools show it; one we cannot express is shown read-only, as text."""
    if rule.id is not None and rule.filter is not None:
        try:
            return api.Rule(
                id=rule.id,
                name=rule.name,
                enabled=rule.enabled,
                match_all=rule.filter.match_all,
                conditions=[_as_api(c) for c in rule.filter.conditions],
                actions=[_as_api_action(a) for a in rule.filter.actions],
            )
        except ValueError:  # server text our arguments would refuse: show it as it is
            pass
    return api.Rule(
        id=rule.id or "",
        name=rule.name or "(written by hand)",
        enabled=rule.enabled,
        read_only=True,
        raw=rule.text,
    )


def _vacation(reply: Vacation | None) -> api.Vacation:
    if reply is None:
        return api.Vacation(enabled=False)
    return api.Vacation(
        enabled=reply.enabled,
        subject=reply.subject,
        body=reply.body,
        days=reply.days,
        addresses=list(reply.addresses),
        start=reply.start.isoformat() if reply.start else None,
        end=reply.end.isoformat() if reply.end else None,
    )


@serves(api.LIST_FILTERS)
async def list_filters(
    args: api.ListFiltersArgs, state: SieveState, ctx: CallContext
) -> api.FiltersResult:
    found = await _current(state)
    script = found.script()
    vacation, notes = _vacation_state(script)
    return api.FiltersResult(
        rules=[_listed(rule) for rule in editing.listed_rules(script)],
        vacation=vacation,
        active_script=found.name,
        other_scripts=found.others,
        notes=notes,
    )


def _vacation_state(script: Script) -> tuple[api.Vacation, list[str]]:
    """The vacation reply as the tools show it, and a note when it is one they cannot read
    (its state is then what its rule says, never a guessed "off")."""
    state = vacation_editing.vacation_state(script)
    if not isinstance(state, vacation_editing.UnreadableVacation):
        return _vacation(state), []
    where = "written by hand" if state.hand_written else "in a form these tools cannot read"
    note = (
        f"The vacation reply is {where}; it is {'on' if state.enabled else 'off'}. Its Sieve: "
        + " ".join(state.rule.text.split())[:500]
    )
    return api.Vacation(enabled=state.enabled), [note]


@serves(api.GET_VACATION)
async def get_vacation(
    args: api.GetVacationArgs, state: SieveState, ctx: CallContext
) -> api.Vacation:
    found = await _current(state)
    return _vacation_state(found.script())[0]


# -- writing ----------------------------------------------------------------------------


def _filter(conditions: list[api.Condition], actions: list[api.Action], match_all: bool) -> Filter:
    return Filter(
        conditions=tuple(
            Condition(field=c.field, value=c.value, match=c.match, header=c.header)
            for c in conditions
        ),
        actions=tuple(Action(type=a.type, folder=a.folder, address=a.address) for a in actions),
        match_all=match_all,
    )


@serves(api.CREATE_FILTER)
async def create_filter(
    args: api.CreateFilterArgs, state: SieveState, ctx: CallContext
) -> api.FilterWritten:
    content = _filter(args.conditions, args.actions, args.match_all)

    def change(script: Script) -> tuple[Script, Rule]:
        script, rule = editing.add_rule(
            script, args.name, content, enabled=args.enabled, position=args.position
        )
        _check_forwards(rule, state.settings.send_allow)
        return script, rule

    name, rule = await _edit(state, ctx, change)
    return api.FilterWritten(id=rule.id or "", name=rule.name, script=name)


@serves(api.UPDATE_FILTER)
async def update_filter(
    args: api.UpdateFilterArgs, state: SieveState, ctx: CallContext
) -> api.FilterWritten:
    def change(script: Script) -> tuple[Script, Rule]:
        old = _filter_rule(script, args.id, "change it")
        content = None
        if (args.conditions, args.actions, args.match_all) != (None, None, None):
            if old.filter is None:
                content = None  # update_rule refuses a rule it cannot rewrite, in words
            else:
                content = _filter(
                    [_as_api(c) for c in old.filter.conditions]
                    if args.conditions is None
                    else args.conditions,
                    [_as_api_action(a) for a in old.filter.actions]
                    if args.actions is None
                    else args.actions,
                    old.filter.match_all if args.match_all is None else args.match_all,
                )
        script, rule = editing.update_rule(
            script, args.id, name=args.name, content=content, enabled=args.enabled
        )
        if args.position is not None:
            script = editing.move_rule(script, args.id, args.position)
        _check_forwards(rule, state.settings.send_allow)
        return script, rule

    name, rule = await _edit(state, ctx, change)
    return api.FilterWritten(id=rule.id or args.id, name=rule.name, script=name)


@serves(api.DELETE_FILTER)
async def delete_filter(
    args: api.DeleteFilterArgs, state: SieveState, ctx: CallContext
) -> api.FilterDeleted:
    def change(script: Script) -> tuple[Script, Rule]:
        rule = _filter_rule(script, args.id, "turn it off")
        return editing.delete_rule(script, args.id), rule

    name, rule = await _edit(state, ctx, change)
    return api.FilterDeleted(id=args.id, name=rule.name, script=name)


def _check_forwards(rule: Rule, allow: list[str]) -> None:
    """A rule that will forward, whether the call gave the address or the rule kept it,
    forwards only where MAILBOX_SEND_ALLOW lets mail go."""
    if not rule.enabled or rule.filter is None:
        return
    addresses = [a.address for a in rule.filter.actions if a.type == "forward" and a.address]
    outside = outside_allowed(addresses, allow)
    if outside:
        raise Refused(
            f"Nothing was changed: the rule would forward to {', '.join(outside)}, which is not "
            "among the recipients this server may send to (MAILBOX_SEND_ALLOW)."
        )


def _filter_rule(script: Script, rule_id: str, instead: str) -> Rule:
    """The rule ``rule_id`` for a filter tool to change; raises NotFound (editing.find_rule),
    or InvalidArgument for the vacation reply, which set_vacation does ``instead``."""
    rule = editing.find_rule(script, rule_id)
    if rule.vacation is not None:
        raise InvalidArgument(f"Rule {rule_id} is the vacation reply; {instead} with set_vacation.")
    return rule


def _zone_offset(day: object, timezone: str | None) -> str:
    """The UTC offset OX writes on the date tests, in the user's zone on that day."""
    zone = user_zone(timezone)
    moment = datetime.combine(day, time(12), zone)  # type: ignore[arg-type]
    return moment.strftime("%z")


@serves(api.SET_VACATION)
async def set_vacation(
    args: api.SetVacationArgs, state: SieveState, ctx: CallContext
) -> api.VacationWritten:
    start = datetime.fromisoformat(args.start).date() if args.start else None
    end = datetime.fromisoformat(args.end).date() if args.end else None
    notes: list[str] = []

    def change(script: Script) -> tuple[Script, Vacation | None]:
        old = vacation_editing.get_vacation(script)
        if not args.enabled:
            script, _ = vacation_editing.turn_off_vacation(script)  # readable or not
            return script, replace(old, enabled=False) if old is not None else None
        else:
            reply = Vacation(
                enabled=True,
                subject=args.subject if args.subject is not None else (old.subject if old else ""),
                body=args.body or (old.body if old else ""),
                days=args.days,
                addresses=tuple(args.addresses)
                if args.addresses is not None
                else (old.addresses if old else ()),
                start=start,
                end=end,
                sender=old.sender if old else None,
                zone=_zone_offset(start or end, state.settings.timezone)
                if (start or end)
                else None,
            )
        script, _ = vacation_editing.set_vacation(script, reply)
        return script, reply

    if not args.enabled:
        found = await _current(state)
        current = vacation_editing.vacation_state(found.script())
        if current is None or not current.enabled:
            notes.append(
                "The vacation reply is already off; nothing was changed."
                if current is not None
                else "There was no vacation reply to turn off; nothing was changed."
            )
            return api.VacationWritten(_vacation(None), "", notes)  # "": nothing saved
    name, reply = await _edit(state, ctx, change)
    return api.VacationWritten(_vacation(reply), name, notes)
