"""The tool registry: what each MCP tool is, who serves it, and how it is cached.

Descriptions are written for the model. Schemas come from the protocol
Structs; annotations tell clients which tools only read and which destroy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import mcp_types as types
import msgspec

from protocol import attachment, calendar, conversation, email, writing
from protocol.fingerprint import IMAP_FOLDERS_TAG
from protocol.schema import input_schema, object_schema
from protocol.status import ServerStatusArgs, ServerStatusResult
from supervisor.config import TOOL_FAMILIES
from supervisor.rendering import (
    render_attachment,
    render_calendars,
    render_created,
    render_deleted,
    render_draft,
    render_email,
    render_event_deleted,
    render_events,
    render_folders,
    render_free_busy,
    render_marked,
    render_moved,
    render_search,
    render_sent,
    render_thread,
    render_written,
)
from supervisor.status import render_status


@dataclass(frozen=True)
class CachePolicy:
    """How a read is cached: which TTL applies. The worker supplies the freshness
    token and the tags (protocol.fingerprint); ``check_fresh`` revalidates."""

    ttl: Callable[[Any], float]  # settings -> seconds


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str
    description: str
    worker: str
    args_type: type[msgspec.Struct]
    result_type: type[msgspec.Struct]
    render: Callable[[Any], str]
    # The family MAILBOX_TOOLS turns on and off (config.TOOL_FAMILIES); None: always listed.
    family: str | None = None
    # The arguments of another tool (create_draft: send_email's), which its schema and
    # description explain: those that this tool shares keep their types here, not their
    # descriptions, and this description names that tool.
    arguments_of: type[msgspec.Struct] | None = None
    writes: bool = False
    destructive: bool = False
    idempotent: bool = True
    open_world: bool = True
    cache: CachePolicy | None = None
    invalidates: Callable[[Any], Sequence[str]] = field(default=lambda _args: ())
    # A reading tool that writes for some arguments (get_email with mark_read).
    writes_when: Callable[[Any], bool] = field(default=lambda _args: False)
    # Seconds to wait for the worker, when the default call timeout is too short.
    timeout: float | None = None
    # A tool that spans workers (send_email): run by supervisor.outbox.Outbox.
    composite: Callable[[Any, Any], Awaitable[msgspec.Struct]] | None = None
    # Answered by the supervisor itself from its own state (server_status).
    local: bool = False

    def to_mcp(self) -> types.Tool:
        arguments = input_schema(self.args_type)
        if self.arguments_of is not None:
            explained = input_schema(self.arguments_of)["properties"]
            for name, argument in arguments["properties"].items():
                if name in explained:
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


EMAIL_CACHE = CachePolicy(ttl=lambda settings: settings.cache_email_ttl)


def _writing_tool(
    family: str,
    worker: str,
    name: str,
    title: str,
    description: str,
    args_type: type[msgspec.Struct],
    result_type: type[msgspec.Struct],
    render: Callable[[Any], str],
    *,
    destructive: bool,
    idempotent: bool = False,
    composite: Callable[[Any, Any], Awaitable[msgspec.Struct]] | None = None,
    arguments_of: type[msgspec.Struct] | None = None,
) -> ToolSpec:
    return ToolSpec(
        name=name,
        title=title,
        description=description,
        worker=worker,
        args_type=args_type,
        result_type=result_type,
        render=render,
        family=family,
        arguments_of=arguments_of,
        writes=True,
        destructive=destructive,
        idempotent=idempotent,
        composite=composite,
    )


EMAIL_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="get_folders",
        title="List mail folders",
        description=(
            "List the mail folders with their role (inbox, sent, drafts, trash, junk, archive "
            "or null) and message and unread counts. Names, with '/' between levels, are what "
            "search_emails takes as 'folder' and move_email as 'destination'. Cheap: call it to "
            "find where mail lives."
        ),
        worker="imap",
        family="mail",
        args_type=email.GetFoldersArgs,
        result_type=email.GetFoldersResult,
        render=render_folders,
        cache=EMAIL_CACHE,
    ),
    ToolSpec(
        name="search_emails",
        title="Search email",
        description=(
            "Find emails in one folder ('folder': a name from get_folders; default INBOX) or "
            "all ('*'), newest first; filters combine ('query' is full text). Returns "
            "summaries, the total and next_cursor: pass it as 'cursor' for the next page. "
            "Read one with get_email, its conversation with get_email_thread."
        ),
        worker="imap",
        family="mail",
        args_type=email.SearchEmailsArgs,
        result_type=email.SearchEmailsResult,
        render=render_search,
        cache=EMAIL_CACHE,
    ),
    ToolSpec(
        name="get_email",
        title="Read an email",
        description=(
            "Read one email by its 'id': headers, the body as text (HTML converted, links kept), "
            "invitations and attachments, also those inside attached emails, each with the "
            "'part' get_attachment takes. A long body comes in pages: when 'truncated', call "
            "again with 'offset'. It stays unread unless 'mark_read' is true."
        ),
        worker="imap",
        family="mail",
        args_type=email.GetEmailArgs,
        result_type=email.Email,
        render=render_email,
        cache=EMAIL_CACHE,
        writes_when=lambda args: bool(args.mark_read),
    ),
    ToolSpec(
        name="get_email_thread",
        title="Read a conversation",
        description=(
            "The whole conversation of the email 'id': every message linked to it by replies, "
            "from its folder, INBOX, Sent and Archive, oldest first, each with sender, date, "
            "subject and an excerpt of what it adds. Use it to follow a discussion; get_email "
            "reads one message in full."
        ),
        worker="imap",
        family="mail",
        args_type=conversation.GetEmailThreadArgs,
        result_type=conversation.EmailThread,
        render=render_thread,
        cache=EMAIL_CACHE,
    ),
    ToolSpec(
        name="get_attachment",
        title="Open or save an attachment",
        description=(
            "Open an attachment: the email 'id' and the 'part' get_email listed. Text-like "
            "ones (text, invitations, attached emails, JSON, XML, CSV) come back as text, in "
            "pages ('offset' when 'truncated'); any other, or with 'save', is saved in the "
            "user's download folder, never over a file, and its path returned."
        ),
        worker="imap",
        family="mail",
        args_type=attachment.GetAttachmentArgs,
        result_type=attachment.AttachmentContent,
        render=render_attachment,
        idempotent=False,  # each save adds a file
        timeout=600.0,
    ),
    ToolSpec(
        name="create_directory",
        title="Create a mail folder",
        description=(
            "Create the mail folder 'name', subscribed so other mail apps show it; fails if "
            "it exists. Make one here before move_email files mail into it."
        ),
        worker="imap",
        family="mail",
        args_type=email.CreateDirectoryArgs,
        result_type=email.CreateDirectoryResult,
        render=render_created,
        writes=True,
        destructive=False,
        idempotent=False,
        invalidates=lambda _args: (IMAP_FOLDERS_TAG,),
    ),
)


WRITING_TOOLS: tuple[ToolSpec, ...] = (
    _writing_tool(
        "mail",
        "smtp",
        "send_email",
        "Send an email",
        "Send an email now from the user's address (create_draft saves one for review "
        "instead): 'to', 'cc', 'bcc', 'subject', 'body', optional 'html_body' and "
        "'attachments'. To answer pass 'reply_to_id' (threads, adds 'Re:', quotes unless "
        "'quote' is false, marks it answered; 'to' defaults to the sender, 'reply_all' adds "
        "the others); to forward, 'forward_id' (attached whole, or 'forward_inline'). A copy "
        "goes to Sent. Never call it twice for one message: if the outcome is unknown, look "
        "in Sent first.",
        writing.SendEmailArgs,
        writing.SendEmailResult,
        render_sent,
        destructive=False,
        composite=lambda outbox, args: outbox.send_email(args),
    ),
    _writing_tool(
        "mail",
        "smtp",
        "create_draft",
        "Save a draft",
        "Save an email in Drafts without sending it, for the user to review: the same "
        "arguments as send_email, replies and forwards too. Returns the draft's id for "
        "send_draft.",
        writing.SendEmailArgs,
        writing.DraftResult,
        render_draft,
        destructive=False,
        composite=lambda outbox, args: outbox.create_draft(args),
        arguments_of=writing.SendEmailArgs,
    ),
    _writing_tool(
        "mail",
        "smtp",
        "send_draft",
        "Send a saved draft",
        "Send the draft 'id' (from create_draft or search_emails in Drafts) to the "
        "recipients written in it; the copy goes to Sent and the draft is removed.",
        writing.SendDraftArgs,
        writing.SendEmailResult,
        render_sent,
        destructive=False,
        composite=lambda outbox, args: outbox.send_draft(args),
    ),
    _writing_tool(
        "mail",
        "imap",
        "move_email",
        "Move emails",
        "Move emails ('ids') to the existing folder 'destination' ('/' between levels; "
        "create_directory makes one). Returns each new id: the old ones stop working.",
        writing.MoveEmailArgs,
        writing.MoveEmailResult,
        render_moved,
        destructive=False,
        idempotent=False,
    ),
    _writing_tool(
        "mail",
        "imap",
        "mark_email",
        "Mark emails",
        "Mark emails ('ids') 'read', 'flagged' or 'answered': true sets, false clears, "
        "left out stays. To file or remove mail use move_email or delete_email.",
        writing.MarkEmailArgs,
        writing.MarkEmailResult,
        render_marked,
        destructive=False,
        idempotent=True,
    ),
    _writing_tool(
        "mail",
        "imap",
        "delete_email",
        "Delete emails",
        "Delete emails ('ids'): to Trash, where they can be restored (move_email brings them "
        "back); in Trash they are erased. 'permanent' true erases at once, for good: only "
        "when the user asked for exactly that.",
        writing.DeleteEmailArgs,
        writing.DeleteEmailResult,
        render_deleted,
        destructive=True,
        idempotent=False,
    ),
)


CALENDAR_CACHE = CachePolicy(ttl=lambda settings: settings.cache_calendar_ttl)


CALENDAR_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="list_calendars",
        title="List calendars",
        description=(
            "List the user's calendars: id, name, color, description, read-only, and what "
            "each holds. Other calendar tools take an id or name as 'calendars' or 'calendar' "
            "(get_calendar_events, create_event)."
        ),
        worker="dav",
        family="calendar",
        args_type=calendar.ListCalendarsArgs,
        result_type=calendar.ListCalendarsResult,
        render=render_calendars,
        cache=CALENDAR_CACHE,
    ),
    ToolSpec(
        name="get_calendar_events",
        title="Calendar events in a range",
        description=(
            "Every event between 'start' and 'end' (ISO dates or date-times), repeating ones "
            "expanded, sorted, with offsets in the user's zone; all-day events as dates. Each "
            "occurrence's id goes to update_event or delete_event. To find an event by its "
            "words use search_calendar."
        ),
        worker="dav",
        family="calendar",
        args_type=calendar.GetCalendarEventsArgs,
        result_type=calendar.EventsResult,
        render=render_events,
        cache=CALENDAR_CACHE,
    ),
    ToolSpec(
        name="search_calendar",
        title="Search the calendar",
        description=(
            "Find events whose summary, description, location or attendees contain 'query' "
            "(any case), between 'start' and 'end' (default a year back to a year ahead). For "
            "all events of some days use get_calendar_events."
        ),
        worker="dav",
        family="calendar",
        args_type=calendar.SearchCalendarArgs,
        result_type=calendar.EventsResult,
        render=render_events,
        cache=CALENDAR_CACHE,
    ),
    ToolSpec(
        name="get_free_busy",
        title="Free and busy time",
        description=(
            "Find time for a meeting between 'start' and 'end': merged busy time (tentative "
            "marked; cancelled and transparent events never block) and free slots from now "
            "on of at least 'duration_minutes' within 'working_hours' (HH:MM-HH:MM) on "
            "'working_days' (1 = Monday; default Monday to Friday). Then create_event."
        ),
        worker="dav",
        family="calendar",
        args_type=calendar.GetFreeBusyArgs,
        result_type=calendar.FreeBusyResult,
        render=render_free_busy,
        cache=CALENDAR_CACHE,
    ),
    _writing_tool(
        "calendar",
        "dav",
        "create_event",
        "Create an event",
        "Create an event: 'summary', 'start' and 'end' (ISO date-times, without an offset "
        "in 'timezone' or the user's zone; or dates with 'all_day'), optional 'calendar', "
        "'location', 'description', 'attendees', 'rrule', 'reminders_minutes'. To change "
        "one use update_event.",
        calendar.CreateEventArgs,
        calendar.EventWritten,
        render_written,
        destructive=False,
    ),
    _writing_tool(
        "calendar",
        "dav",
        "update_event",
        "Change an event",
        "Change the event 'id' (from get_calendar_events or search_calendar): give only what "
        "changes, as for create_event. For a repeating event 'scope' 'occurrence' changes "
        "that date, 'series' all of them. Fails if it was changed elsewhere meanwhile.",
        calendar.UpdateEventArgs,
        calendar.EventWritten,
        render_written,
        destructive=False,
        arguments_of=calendar.CreateEventArgs,
    ),
    _writing_tool(
        "calendar",
        "dav",
        "delete_event",
        "Delete an event",
        "Delete the event 'id' (from get_calendar_events or search_calendar). For a "
        "repeating event 'scope' 'occurrence' removes that date, 'series' all of them.",
        calendar.DeleteEventArgs,
        calendar.EventDeleted,
        render_event_deleted,
        destructive=True,
    ),
)


STATUS_TOOL = ToolSpec(
    name="server_status",
    title="Server status",
    description=(
        "How this server itself is doing: per worker (imap, smtp, dav) readiness, restarts, "
        "memory, requests and failures, connections, refused logins, rate limiting; and "
        "the cache. Use it when other tools fail or are slow; it reads no mail."
    ),
    worker="supervisor",
    args_type=ServerStatusArgs,
    result_type=ServerStatusResult,
    render=render_status,
    open_world=False,
    local=True,
)


ALL_TOOLS: tuple[ToolSpec, ...] = (*EMAIL_TOOLS, *WRITING_TOOLS, *CALENDAR_TOOLS, STATUS_TOOL)


def available_tools(
    read_only: bool, families: Collection[str] = TOOL_FAMILIES
) -> dict[str, ToolSpec]:
    """The tools to list: those of the chosen families (MAILBOX_TOOLS) and the ones that
    belong to none, and in read-only mode only the reading ones."""
    return {
        spec.name: spec
        for spec in ALL_TOOLS
        if not (read_only and spec.writes) and (spec.family is None or spec.family in families)
    }
