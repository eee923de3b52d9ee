"""The mail tools as the model sees them: descriptions, annotations, renderings, caching."""

from __future__ import annotations

from protocol import mail, writing
from supervisor.rendering import (
    render_attachment,
    render_created,
    render_deleted,
    render_draft,
    render_email,
    render_folders,
    render_marked,
    render_moved,
    render_search,
    render_sent,
    render_thread,
)
from supervisor.tool_spec import CachePolicy, ToolSpec

EMAIL_CACHE = CachePolicy(ttl=lambda settings: settings.cache_email_ttl)


MAIL_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        contract=mail.GET_FOLDERS,
        title="List mail folders",
        description=(
            "List the mail folders with their role (inbox, sent, drafts, trash, junk, archive "
            "or null) and message and unread counts. Names, with '/' between levels, are what "
            "search_emails takes as 'folder' and move_email as 'destination'. Cheap: call it to "
            "find where mail lives."
        ),
        render=render_folders,
        family="mail",
        cache=EMAIL_CACHE,
    ),
    ToolSpec(
        contract=mail.SEARCH_EMAILS,
        title="Search email",
        description=(
            "Find emails in one folder ('folder': a name from get_folders; default INBOX) or "
            "all ('*'), newest first; filters combine ('query' is full text). Returns "
            "summaries, the total and next_cursor: pass it as 'cursor' for the next page. "
            "Read one with get_email, its conversation with get_email_thread."
        ),
        render=render_search,
        family="mail",
        cache=EMAIL_CACHE,
    ),
    ToolSpec(
        contract=mail.GET_EMAIL,
        title="Read an email",
        description=(
            "Read one email by its 'id': headers, the body as text (HTML converted, links kept), "
            "invitations and attachments, also those inside attached emails, each with the "
            "'part' get_attachment takes. A long body comes in pages: when 'truncated', call "
            "again with 'offset'. It stays unread unless 'mark_read' is true."
        ),
        render=render_email,
        family="mail",
        cache=EMAIL_CACHE,
    ),
    ToolSpec(
        contract=mail.GET_EMAIL_THREAD,
        title="Read a conversation",
        description=(
            "The whole conversation of the email 'id': every message linked to it by replies, "
            "from its folder, INBOX, Sent and Archive, oldest first, each with sender, date, "
            "subject and an excerpt of what it adds. Use it to follow a discussion; get_email "
            "reads one message in full."
        ),
        render=render_thread,
        family="mail",
        cache=EMAIL_CACHE,
    ),
    ToolSpec(
        contract=mail.GET_ATTACHMENT,
        title="Open or save an attachment",
        description=(
            "Open an attachment: the email 'id' and the 'part' get_email listed. Text-like "
            "ones (text, invitations, attached emails, JSON, XML, CSV) come back as text, in "
            "pages ('offset' when 'truncated'); any other, or with 'save', is saved in the "
            "user's download folder, never over a file, and its path returned."
        ),
        render=render_attachment,
        family="mail",
        idempotent=False,  # each save adds a file
        timeout=600.0,
    ),
    ToolSpec(
        contract=mail.CREATE_DIRECTORY,
        title="Create a mail folder",
        description=(
            "Create the mail folder 'name', subscribed so other mail apps show it; fails if "
            "it exists. Make one here before move_email files mail into it."
        ),
        render=render_created,
        family="mail",
        destructive=False,
        idempotent=False,
    ),
    ToolSpec(
        contract=mail.SEND_EMAIL,
        title="Send an email",
        description=(
            "Send an email now from the user's address (create_draft saves one for review "
            "instead): 'to', 'cc', 'bcc', 'subject', 'body', optional 'html_body' and "
            "'attachments'. To answer pass 'reply_to_id' (threads, adds 'Re:', quotes unless "
            "'quote' is false, marks it answered; 'to' defaults to the sender, 'reply_all' adds "
            "the others); to forward, 'forward_id' (attached whole, or 'forward_inline'). A copy "
            "goes to Sent. Never call it twice for one message: if the outcome is unknown, look "
            "in Sent first."
        ),
        render=render_sent,
        family="mail",
        destructive=False,
        idempotent=False,
        composite=lambda outbox, args: outbox.send_email(args),
    ),
    ToolSpec(
        contract=mail.CREATE_DRAFT,
        title="Save a draft",
        description=(
            "Save an email in Drafts without sending it, for the user to review: the same "
            "arguments as send_email, replies and forwards too. Returns the draft's id for "
            "send_draft."
        ),
        render=render_draft,
        family="mail",
        arguments_of=writing.SendEmailArgs,
        destructive=False,
        idempotent=False,
        composite=lambda outbox, args: outbox.create_draft(args),
    ),
    ToolSpec(
        contract=mail.SEND_DRAFT,
        title="Send a saved draft",
        description=(
            "Send the draft 'id' (from create_draft or search_emails in Drafts) to the "
            "recipients written in it; the copy goes to Sent and the draft is removed."
        ),
        render=render_sent,
        family="mail",
        destructive=False,
        idempotent=False,
        composite=lambda outbox, args: outbox.send_draft(args),
    ),
    ToolSpec(
        contract=mail.MOVE_EMAIL,
        title="Move emails",
        description=(
            "Move emails ('ids') to the existing folder 'destination' ('/' between levels; "
            "create_directory makes one). Returns each new id: the old ones stop working."
        ),
        render=render_moved,
        family="mail",
        destructive=False,
        idempotent=False,
    ),
    ToolSpec(
        contract=mail.MARK_EMAIL,
        title="Mark emails",
        description=(
            "Mark emails ('ids') 'read', 'flagged' or 'answered': true sets, false clears, "
            "left out stays. To file or remove mail use move_email or delete_email."
        ),
        render=render_marked,
        family="mail",
        destructive=False,
        idempotent=True,
    ),
    ToolSpec(
        contract=mail.DELETE_EMAIL,
        title="Delete emails",
        description=(
            "Delete emails ('ids'): to Trash, where they can be restored (move_email brings them "
            "back); in Trash they are erased. 'permanent' true erases at once, for good: only "
            "when the user asked for exactly that."
        ),
        render=render_deleted,
        family="mail",
        destructive=True,
        idempotent=False,
    ),
)
