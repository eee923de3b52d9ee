"""The tool registry: what each MCP tool is, who serves it, and how it is cached.

Descriptions are written for the model. Schemas come from the protocol
Structs; annotations tell clients which tools only read and which destroy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import mcp_types as types
import msgspec

from protocol import attachment, calendar, conversation, email, writing
from protocol.fingerprint import IMAP_FOLDERS_TAG
from protocol.schema import object_schema
from protocol.status import ServerStatusArgs, ServerStatusResult
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
        return types.Tool(
            name=self.name,
            title=self.title,
            description=self.description,
            input_schema=object_schema(self.args_type),
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
) -> ToolSpec:
    return ToolSpec(
        name=name,
        title=title,
        description=description,
        worker=worker,
        args_type=args_type,
        result_type=result_type,
        render=render,
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
            "List every mail folder of the account with its role (inbox, sent, drafts, trash, "
            "junk, archive or null), its number of messages and of unread messages. Folder names "
            "use '/' between levels (e.g. 'Projects/2026') and are what other email tools take "
            "as 'folder' or 'destination'. Call it to find where mail lives before searching or "
            "moving; it is cheap and its answer is kept up to date."
        ),
        worker="imap",
        args_type=email.GetFoldersArgs,
        result_type=email.GetFoldersResult,
        render=render_folders,
        cache=EMAIL_CACHE,
    ),
    ToolSpec(
        name="search_emails",
        title="Search email",
        description=(
            "Search one mail folder (default INBOX) or all of them (folder='*'), newest first. "
            "Filters combine: 'query' (words anywhere in the message), 'sender', 'recipient', "
            "'subject', 'since'/'before' (ISO dates like 2026-11-01 or date-times), 'unread', "
            "'flagged', 'has_attachments'. Returns summaries (id, date, from, to, subject, "
            "flags, preview), the total count and next_cursor for the next page ('limit' per "
            "page, default 20). Pass an id to get_email to read the message."
        ),
        worker="imap",
        args_type=email.SearchEmailsArgs,
        result_type=email.SearchEmailsResult,
        render=render_search,
        cache=EMAIL_CACHE,
    ),
    ToolSpec(
        name="get_email",
        title="Read an email",
        description=(
            "Read one message by the 'id' that search_emails returned: sender, recipients, "
            "subject, date, the text body (HTML converted to text, links kept) and the list "
            "of attachments, files inside attached emails included (their 'part' goes to "
            "get_attachment). Long bodies come in pages: "
            "if 'truncated' is true, call again with 'offset'. Reading does not mark the "
            "message as read unless 'mark_read' is true."
        ),
        worker="imap",
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
            "Show the whole conversation an email belongs to: every message linked to it by "
            "replies (Message-ID, In-Reply-To, References), gathered from its own folder, "
            "INBOX, Sent and Archive, each once, oldest first, with the sender, date, subject "
            "and an excerpt of what that message adds. Takes the 'id' from search_emails or "
            "get_email; 'limit' keeps the newest messages (default 50). Use get_email with a "
            "message's id to read it in full."
        ),
        worker="imap",
        args_type=conversation.GetEmailThreadArgs,
        result_type=conversation.EmailThread,
        render=render_thread,
        cache=EMAIL_CACHE,
    ),
    ToolSpec(
        name="get_attachment",
        title="Open or save an attachment",
        description=(
            "Get one attachment of an email: pass the email 'id' and the attachment's 'part' "
            "from get_email. Text-like attachments (text, calendar invitations, attached "
            "emails, JSON, XML, CSV) come back as text, in pages ('max_chars', 'offset', "
            "'truncated'). Anything else, or any attachment with 'save' true, is saved into "
            "the user's download folder under a safe name that never replaces an existing "
            "file, and the saved path is returned. It never changes the mailbox."
        ),
        worker="imap",
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
            "Create a mail folder. 'name' is the full path with '/' between levels, e.g. "
            "'Projects/2026' (missing parents are created too); any Unicode name works. The "
            "new folder is subscribed so it shows in other mail apps. Fails with a clear "
            "message if the folder already exists."
        ),
        worker="imap",
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
        "smtp",
        "send_email",
        "Send an email",
        "Send an email from the user's address. 'to', 'cc', 'bcc' are lists of addresses; "
        "'subject' and 'body' (plain text), optional 'html_body' and 'attachments' (paths in "
        "the folder the user allowed). To answer a message pass 'reply_to_id' (threads it, adds "
        "'Re:', quotes it unless 'quote' is false, marks it answered; 'reply_all' adds the other "
        "recipients; 'to' defaults to the sender). To forward pass 'forward_id' (attached whole, "
        "or in the body with 'forward_inline'). A copy is saved to Sent. Never call it twice "
        "for one message: if the result says the outcome is unknown, check Sent first.",
        writing.SendEmailArgs,
        writing.SendEmailResult,
        render_sent,
        destructive=False,
        composite=lambda outbox, args: outbox.send_email(args),
    ),
    _writing_tool(
        "smtp",
        "create_draft",
        "Save a draft",
        "Save a message in Drafts without sending it; same arguments as send_email (including "
        "reply_to_id and forward_id). Returns the draft's 'id' for send_draft. Use it when the "
        "user wants to review a message before it goes out.",
        writing.SendEmailArgs,
        writing.DraftResult,
        render_draft,
        destructive=False,
        composite=lambda outbox, args: outbox.create_draft(args),
    ),
    _writing_tool(
        "smtp",
        "send_draft",
        "Send a saved draft",
        "Send a draft saved in Drafts (its 'id' from create_draft or search_emails) to the "
        "recipients written in it, save the copy to Sent and remove the draft.",
        writing.SendDraftArgs,
        writing.SendEmailResult,
        render_sent,
        destructive=False,
        composite=lambda outbox, args: outbox.send_draft(args),
    ),
    _writing_tool(
        "imap",
        "move_email",
        "Move emails",
        "Move one or more emails ('ids' from search_emails) to the folder 'destination' "
        "('/' between levels, e.g. 'Projects/Budget'). Returns each message's new id; old ids "
        "stop working.",
        writing.MoveEmailArgs,
        writing.MoveEmailResult,
        render_moved,
        destructive=False,
        idempotent=False,
    ),
    _writing_tool(
        "imap",
        "mark_email",
        "Mark emails",
        "Mark one or more emails ('ids'): 'read', 'flagged', 'answered' each true (set) or "
        "false (clear); leave out what should not change.",
        writing.MarkEmailArgs,
        writing.MarkEmailResult,
        render_marked,
        destructive=False,
        idempotent=True,
    ),
    _writing_tool(
        "imap",
        "delete_email",
        "Delete emails",
        "Delete one or more emails ('ids'): moved to Trash, where they can be restored; a "
        "message already in Trash is erased. 'permanent' true erases at once and cannot be "
        "undone — only when the user asked for exactly that.",
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
            "List the user's calendars: id, name, color, description, whether it is read-only "
            "and what it holds (events, tasks). Pass an id or name as 'calendars' or 'calendar' "
            "to the other calendar tools."
        ),
        worker="dav",
        args_type=calendar.ListCalendarsArgs,
        result_type=calendar.ListCalendarsResult,
        render=render_calendars,
        cache=CALENDAR_CACHE,
    ),
    ToolSpec(
        name="get_calendar_events",
        title="Calendar events in a range",
        description=(
            "Every event occurrence between 'start' and 'end' (ISO dates or date-times), with "
            "repeating events expanded, sorted, times with offsets in the user's time zone; "
            "all-day events as dates. 'calendars' limits it to some calendars (ids or names). "
            "Each occurrence has an 'id' for update_event and delete_event."
        ),
        worker="dav",
        args_type=calendar.GetCalendarEventsArgs,
        result_type=calendar.EventsResult,
        render=render_events,
        cache=CALENDAR_CACHE,
    ),
    ToolSpec(
        name="search_calendar",
        title="Search the calendar",
        description=(
            "Find event occurrences whose summary, description, location or attendees contain "
            "'query' (case-insensitive), between 'start' and 'end' (default: a year back to a "
            "year ahead), in all or some 'calendars'."
        ),
        worker="dav",
        args_type=calendar.SearchCalendarArgs,
        result_type=calendar.EventsResult,
        render=render_events,
        cache=CALENDAR_CACHE,
    ),
    ToolSpec(
        name="get_free_busy",
        title="Free and busy time",
        description=(
            "When the user is busy and free between 'start' and 'end': merged busy periods "
            "(tentative ones marked; cancelled and transparent events never block) and free "
            "slots of at least 'duration_minutes' inside 'working_hours' ('09:00-17:00') on "
            "'working_days' (ISO weekdays, 1 = Monday). Use it to find a time for a meeting."
        ),
        worker="dav",
        args_type=calendar.GetFreeBusyArgs,
        result_type=calendar.FreeBusyResult,
        render=render_free_busy,
        cache=CALENDAR_CACHE,
    ),
    _writing_tool(
        "dav",
        "create_event",
        "Create an event",
        "Create an event: 'summary', 'start' and 'end' (date-times, or dates with 'all_day' "
        "true — the end date is the last day), optional 'calendar', 'timezone' (IANA), "
        "'location', 'description', 'attendees', 'rrule' (e.g. FREQ=WEEKLY;BYDAY=MO) and "
        "'reminders_minutes'. Attendees may get an invitation from the server.",
        calendar.CreateEventArgs,
        calendar.EventWritten,
        render_written,
        destructive=False,
    ),
    _writing_tool(
        "dav",
        "update_event",
        "Change an event",
        "Change an event by its 'id' from get_calendar_events: give only the fields to change. "
        "For a repeating event, 'scope' 'occurrence' (default) changes just that one date, "
        "'series' changes all of them. Fails with a clear message if the event was changed "
        "elsewhere meanwhile.",
        calendar.UpdateEventArgs,
        calendar.EventWritten,
        render_written,
        destructive=False,
    ),
    _writing_tool(
        "dav",
        "delete_event",
        "Delete an event",
        "Delete an event by its 'id'. For a repeating event 'scope' 'occurrence' (default) "
        "removes only that date, 'series' removes every occurrence.",
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
        "How this mail server itself is doing: for each worker (imap, smtp, dav) whether it "
        "is ready, its process id, restarts after crashes, memory, requests served and "
        "failed, connections in use and idle, waits for a connection, whether a login was "
        "refused, and rate limiting; plus the cache. Use it when tools fail or are slow. "
        "It reads no mail and contacts no server."
    ),
    worker="supervisor",
    args_type=ServerStatusArgs,
    result_type=ServerStatusResult,
    render=render_status,
    open_world=False,
    local=True,
)


def available_tools(read_only: bool) -> dict[str, ToolSpec]:
    """The tools to list: every tool, or only the reading ones in read-only mode."""
    every = (*EMAIL_TOOLS, *WRITING_TOOLS, *CALENDAR_TOOLS, STATUS_TOOL)
    return {spec.name: spec for spec in every if not (read_only and spec.writes)}
