"""The mail tools as the model sees them: descriptions, annotations, renderings, caching."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import msgspec

from protocol import mail, writing
from protocol.diagnosis import IMAP_CHECKS, SMTP_CHECKS
from protocol.settings import ImapSettings, PoolSettings, SmtpSettings
from supervisor import rendering as text
from supervisor.families.invitations import with_conflicts
from supervisor.recipient_hints import recipients_need_addresses
from supervisor.settings_reader import SettingsReader
from supervisor.tool_spec import CachePolicy, ToolSpec
from supervisor.worker_family import WorkerFamily, access

if TYPE_CHECKING:
    from supervisor.config import Settings


class ImapSection(msgspec.Struct, frozen=True):
    host: str = "imap.mailbox.org"
    port: int = 993
    pool: PoolSettings = PoolSettings()
    # Requests a minute: below what a desktop mail client does.
    rate_limit: int = 300


def _read_imap(reader: SettingsReader) -> ImapSection:
    return ImapSection(**reader.server("IMAP", ImapSection(), warm=True))


def _configure_imap(section: ImapSection, settings: Settings, password: str) -> ImapSettings:
    return ImapSettings(
        host=section.host,
        port=section.port,
        **access(section, settings, password),
        download_dir=settings.download_dir,
        allow_permanent_delete=settings.allow_permanent_delete,
    )


IMAP_WORKER = WorkerFamily(
    name=mail.IMAP,
    label="IMAP",
    read=_read_imap,
    configure=_configure_imap,
    describe=lambda section: f"IMAP {section.host}:{section.port}",
    checks=IMAP_CHECKS,
    tool_families=("mail",),
)


class SmtpSection(msgspec.Struct, frozen=True):
    host: str = "smtp.mailbox.org"
    port: int = 465
    security: str = "tls"
    # Sending is rare and bursty: no connection kept open at start, none kept long.
    pool: PoolSettings = PoolSettings(min_size=0, max_size=2, idle_close_after=120.0)
    rate_limit: int = 30


def _read_smtp(reader: SettingsReader) -> SmtpSection:
    default = SmtpSection()
    return SmtpSection(
        **reader.server("SMTP", default),
        security=reader.choice(
            "MAILBOX_SMTP_SECURITY",
            default.security,
            ("tls", "starttls"),
            "tls (for port 465) or starttls (for port 587)",
        ),
    )


def _configure_smtp(section: SmtpSection, settings: Settings, password: str) -> SmtpSettings:
    return SmtpSettings(
        host=section.host,
        port=section.port,
        security=section.security,
        **access(section, settings, password),
        from_address=settings.email,
        attachment_dir=settings.attachment_dir,
        max_attachment_bytes=settings.max_attachment_bytes,
        send_allow=list(settings.send_allow),
    )


SMTP_WORKER = WorkerFamily(
    name=mail.SMTP,
    label="SMTP",
    read=_read_smtp,
    configure=_configure_smtp,
    describe=lambda section: f"SMTP {section.host}:{section.port} ({section.security})",
    checks=SMTP_CHECKS,
    tool_families=("mail",),
)

EMAIL_CACHE = CachePolicy(ttl=lambda settings: settings.cache_email_ttl)


# The mail reads share one cache policy. No write is idempotent (a second call sends,
# saves, moves or deletes again), nor is get_attachment: each save adds a file.
_read = partial(ToolSpec, family="mail", cache=EMAIL_CACHE)
_write = partial(ToolSpec, family="mail", idempotent=False)

MAIL_TOOLS: tuple[ToolSpec, ...] = (
    _read(
        contract=mail.GET_FOLDERS,
        title="List mail folders",
        description=(
            "List the mail folders with their role (inbox, sent, drafts, trash, junk, archive "
            "or null) and message and unread counts. Names, with '/' between levels, are what "
            "search_emails takes as 'folder' and move_email as 'destination'. Cheap: call it to "
            "find where mail lives."
        ),
        render=text.render_folders,
    ),
    _read(
        contract=mail.SEARCH_EMAILS,
        title="Search email",
        description=(
            "Find emails in one folder ('folder': a name from get_folders; default INBOX) or "
            "all ('*'), newest first; filters combine ('query' is full text). Returns "
            "summaries, the total and next_cursor: pass it as 'cursor' for the next page. "
            "Read one with get_email, its conversation with get_email_thread."
        ),
        render=text.render_search,
    ),
    _read(
        contract=mail.GET_EMAIL,
        title="Read an email",
        description=(
            "Read one email by its 'id': headers, the body as text (HTML converted, links kept), "
            "invitations and attachments, also those inside attached emails, each with the "
            "'part' get_attachment takes. A long body comes in pages: when 'truncated', call "
            "again with 'offset'. It stays unread unless 'mark_read' is true."
        ),
        render=text.render_email,
        afterward=with_conflicts,
    ),
    _read(
        contract=mail.GET_EMAIL_THREAD,
        title="Read a conversation",
        description=(
            "The whole conversation of the email 'id': every message linked to it by replies, "
            "from its folder, INBOX, Sent and Archive, oldest first, each with sender, date, "
            "subject and an excerpt of what it adds. Use it to follow a discussion; get_email "
            "reads one message in full."
        ),
        render=text.render_thread,
    ),
    _write(
        contract=mail.GET_ATTACHMENT,
        title="Open or save an attachment",
        description=(
            "Open an attachment: the email 'id' and the 'part' get_email listed. Text-like "
            "ones (text, invitations, attached emails, JSON, XML, CSV) come back as text, in "
            "pages ('offset' when 'truncated'); any other, or with 'save', is saved in the "
            "user's download folder, never over a file, and its path returned."
        ),
        render=text.render_attachment,
        timeout=600.0,
    ),
    _write(
        contract=mail.CREATE_DIRECTORY,
        title="Create a mail folder",
        description=(
            "Create the mail folder 'name', subscribed so other mail apps show it; fails if "
            "it exists. Make one here before move_email files mail into it."
        ),
        render=text.render_created,
        destructive=False,
    ),
    _write(
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
        render=text.render_sent,
        destructive=False,
        composite=lambda outbox, args: outbox.send_email(args),
        preflight=recipients_need_addresses(mail.SEND_EMAIL, "Nothing was sent"),
    ),
    _write(
        contract=mail.CREATE_DRAFT,
        title="Save a draft",
        description=(
            "Save an email in Drafts without sending it, for the user to review: the same "
            "arguments as send_email, replies and forwards too. Returns the draft's id for "
            "send_draft."
        ),
        render=text.render_draft,
        arguments_of=writing.SendEmailArgs,
        destructive=False,
        composite=lambda outbox, args: outbox.create_draft(args),
        preflight=recipients_need_addresses(mail.CREATE_DRAFT, "Nothing was saved"),
    ),
    _write(
        contract=mail.SEND_DRAFT,
        title="Send a saved draft",
        description=(
            "Send the draft 'id' (from create_draft or search_emails in Drafts) to the "
            "recipients written in it; the copy goes to Sent and the draft is removed."
        ),
        render=text.render_sent,
        destructive=False,
        composite=lambda outbox, args: outbox.send_draft(args),
    ),
    _write(
        contract=mail.MOVE_EMAIL,
        title="Move emails",
        description=(
            "Move emails ('ids') to the existing folder 'destination' ('/' between levels; "
            "create_directory makes one). Returns each new id: the old ones stop working."
        ),
        render=text.render_moved,
        destructive=False,
    ),
    ToolSpec(
        contract=mail.MARK_EMAIL,
        title="Mark emails",
        description=(
            "Mark emails ('ids') 'read', 'flagged' or 'answered': true sets, false clears, "
            "left out stays. To file or remove mail use move_email or delete_email."
        ),
        render=text.render_marked,
        family="mail",
        destructive=False,
        idempotent=True,
    ),
    _write(
        contract=mail.DELETE_EMAIL,
        title="Delete emails",
        description=(
            "Delete emails ('ids'): to Trash, where they can be restored (move_email brings them "
            "back); in Trash they are erased. 'permanent' true erases at once, for good: only "
            "when the user asked for exactly that."
        ),
        render=text.render_deleted,
        destructive=True,
    ),
)
