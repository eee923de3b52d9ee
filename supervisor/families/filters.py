"""The filters family as the model sees it, and its ManageSieve worker."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

import msgspec

from protocol import filters as api
from protocol import mail
from protocol.email import GetFoldersArgs
from protocol.errors import InvalidArgument, Refused
from protocol.settings import PoolSettings
from protocol.writing import outside_allowed
from supervisor.rendering import counted, fence, plain
from supervisor.settings_reader import SettingsReader
from supervisor.tool_spec import ToolSpec
from supervisor.worker_family import WorkerFamily, access

if TYPE_CHECKING:
    from supervisor.config import Settings
    from supervisor.worker_calls import WorkerCalls


class SieveSection(msgspec.Struct, frozen=True):
    # mailbox.org serves ManageSieve on its IMAP host, on the standard port.
    host: str = "imap.mailbox.org"
    port: int = 4190
    # Filters change seldom: a connection is opened when needed.
    pool: PoolSettings = PoolSettings(min_size=0, max_size=2, idle_close_after=60.0)
    rate_limit: int = 60


def _read_sieve(reader: SettingsReader) -> SieveSection:
    return SieveSection(**reader.server("SIEVE", SieveSection()))


def _configure_sieve(section: SieveSection, settings: Settings, password: str) -> api.SieveSettings:
    return api.SieveSettings(
        host=section.host,
        port=section.port,
        **access(section, settings, password),
        timezone=settings.timezone,
        send_allow=list(settings.send_allow),
    )


SIEVE_WORKER = WorkerFamily(
    name=api.SIEVE,
    label="ManageSieve",
    read=_read_sieve,
    configure=_configure_sieve,
    describe=lambda section: f"ManageSieve {section.host}:{section.port}",
    checks=api.SIEVE_CHECKS,
    tool_families=("filters",),
)


# -- what is checked before the script is touched ------------------------------------------


async def check_rule(calls: WorkerCalls, settings: Settings, args: Any) -> list[str]:
    """A folder a rule files into must exist (a typo would file mail nowhere), and a
    forward must go where MAILBOX_SEND_ALLOW lets mail go."""
    actions: list[api.Action] = list(args.actions or [])
    outside = outside_allowed([a.address for a in actions if a.address], settings.send_allow)
    if outside:
        raise Refused(
            f"Nothing was changed: a rule may not forward to {', '.join(outside)}, which is not "
            "among the recipients this server may send to (MAILBOX_SEND_ALLOW)."
        )
    wanted = [a.folder for a in actions if a.folder is not None]
    if not wanted:
        return []
    if not calls.serves(mail.IMAP):
        return ["The folders were not checked: the mail tools are turned off (MAILBOX_TOOLS)."]
    listing = await calls.run(mail.GET_FOLDERS, GetFoldersArgs(), timeout=settings.call_timeout)
    names = [folder.name for folder in listing.value.folders]
    by_case = {name.lower(): name for name in names}
    for folder in wanted:
        if folder not in names:
            # IMAP names are case-sensitive (but INBOX): a case slip is the likeliest typo.
            same = by_case.get(folder.lower())
            found = difflib.get_close_matches(folder.lower(), list(by_case), n=1, cutoff=0.6)
            close = [same] if same else [by_case[found[0]]] if found else []
            hint = (
                f"; did you mean '{close[0]}'?" if close else "; create it with create_directory."
            )
            raise InvalidArgument(f"Nothing was changed: there is no folder '{folder}'{hint}")
    return []


# -- text answers ---------------------------------------------------------------------------


def _condition(c: api.Condition) -> str:
    field = c.header if c.field == "header" else c.field
    return f"{field} {c.match} '{c.value}'"


def _action(a: api.Action) -> str:
    target = a.folder or a.address
    return f"{a.type} '{target}'" if target else a.type


def _rule(rule: api.Rule) -> str:
    state = "" if rule.enabled else " (off)"
    if rule.read_only:
        return f"- {rule.name}{state}: id {rule.id}; written by hand, read-only:\n{rule.raw}"
    joiner = " and " if rule.match_all else " or "
    conditions = joiner.join(_condition(c) for c in rule.conditions)
    actions = ", ".join(_action(a) for a in rule.actions)
    return f"- {rule.name}{state}: id {rule.id}; if {conditions}: {actions}"


def _vacation(v: api.Vacation) -> str:
    if not v.enabled:
        return "Vacation reply: off."
    when = f" from {v.start or 'now'} to {v.end or 'open end'}"
    return f"Vacation reply: on{when}, each sender every {counted(v.days, 'day')}, '{v.subject}'."


def render_filters(result: api.FiltersResult) -> str:
    head = (
        f"{counted(len(result.rules), 'rule')} in the active script '{result.active_script}'"
        if result.active_script
        else "No script is active: there are no rules."
    )
    lines = [plain(head)]
    if result.rules:
        lines.append(fence("the filter rules", "\n".join(_rule(r) for r in result.rules)))
    lines.append(fence("the vacation reply", _vacation(result.vacation)))
    if result.other_scripts:
        lines.append(plain(f"Other scripts (inactive): {', '.join(result.other_scripts)}"))
    lines += [plain(n) for n in result.notes]
    return "\n".join(lines)


def render_vacation(result: api.Vacation) -> str:
    text = _vacation(result)
    if result.enabled:
        text += f"\n{result.body}"
    return fence("the vacation reply", text)


def render_filter_written(result: api.FilterWritten) -> str:
    lines = [f"Saved rule '{result.name}' (id {result.id}) in the script '{result.script}'."]
    return "\n".join(plain(line) for line in [*lines, *result.notes])


def render_filter_deleted(result: api.FilterDeleted) -> str:
    return plain(f"Deleted rule '{result.name}' (id {result.id}) from '{result.script}'.")


def render_vacation_written(result: api.VacationWritten) -> str:
    saved = [f"Saved in the script '{result.script}'."] if result.script else []
    lines = [_vacation(result.vacation), *saved, *result.notes]
    return "\n".join(plain(line) for line in lines)


FILTER_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        contract=api.LIST_FILTERS,
        title="List mail filters",
        description=(
            "The user's sorting rules, in the order they run, each with its id, conditions and "
            "actions, and the vacation reply's state; also the ones made in the web interface "
            "(hand-written ones as text, read-only). Ids go to update_filter and delete_filter."
        ),
        render=render_filters,
        family="filters",
    ),
    ToolSpec(
        contract=api.CREATE_FILTER,
        title="Create a mail filter",
        description=(
            "Add a sorting rule that runs as mail arrives: 'name', 'conditions' (all must "
            "match, or any with match_all false) and 'actions' (move and copy take a folder "
            "from get_folders). It shows in the web interface. Changes existing mail: no."
        ),
        render=render_filter_written,
        family="filters",
        destructive=True,  # a rule may discard mail
        idempotent=False,
        preflight=check_rule,
    ),
    ToolSpec(
        contract=api.UPDATE_FILTER,
        title="Change a mail filter",
        description=(
            "Change the rule 'id' from list_filters: give only what changes, as for "
            "create_filter ('enabled' false turns it off, 'position' moves it)."
        ),
        render=render_filter_written,
        family="filters",
        arguments_of=api.CreateFilterArgs,
        destructive=True,
        idempotent=True,
        preflight=check_rule,
    ),
    ToolSpec(
        contract=api.DELETE_FILTER,
        title="Delete a mail filter",
        description=(
            "Delete the rule 'id' from list_filters, for good; to keep it but stop it, "
            "update_filter with 'enabled' false."
        ),
        render=render_filter_deleted,
        family="filters",
        destructive=True,
        idempotent=False,
    ),
    ToolSpec(
        contract=api.GET_VACATION,
        title="Read the vacation reply",
        description=(
            "Whether the automatic vacation reply is on, its subject, text, first and last "
            "day and addresses; change it with set_vacation."
        ),
        render=render_vacation,
        family="filters",
    ),
    ToolSpec(
        contract=api.SET_VACATION,
        title="Set the vacation reply",
        description=(
            "Turn the automatic reply on ('enabled', 'subject', 'body', optional 'start' and "
            "'end' days, 'days' between replies to one sender) or off; the web interface's "
            "vacation rule is changed, never a second one added. get_vacation reads it."
        ),
        render=render_vacation_written,
        family="filters",
        destructive=False,
        idempotent=True,
    ),
)
