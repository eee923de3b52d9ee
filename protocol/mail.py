"""The mail family's contracts: the IMAP and SMTP tools and the internal steps of sending.

``send_email``, ``create_draft`` and ``send_draft`` span both workers and are
run by the supervisor's Outbox out of the internal steps listed here.
"""

from __future__ import annotations

from typing import Any

from protocol import writing as w
from protocol.attachment import AttachmentContent, GetAttachmentArgs
from protocol.contract import SUPERVISOR, Contract, Writes
from protocol.conversation import EmailThread, GetEmailThreadArgs
from protocol.diagnosis import diagnosis
from protocol.email import (
    CreateDirectoryArgs,
    CreateDirectoryResult,
    Email,
    GetEmailArgs,
    GetFoldersArgs,
    GetFoldersResult,
    SearchEmailsArgs,
    SearchEmailsResult,
)
from protocol.fingerprint import IMAP_FOLDER, IMAP_FOLDERS, freshness_check

IMAP, SMTP = "imap", "smtp"
_EVERYWHERE = (IMAP_FOLDERS, IMAP_FOLDER)

IMAP_CHECK_FRESH = freshness_check(IMAP)
IMAP_DIAGNOSE = diagnosis(IMAP)
SMTP_DIAGNOSE = diagnosis(SMTP)

GET_FOLDERS = Contract(
    "get_folders",
    IMAP,
    GetFoldersArgs,
    GetFoldersResult,
    reads=(IMAP_FOLDERS,),
    revalidated_by=IMAP_CHECK_FRESH,
)
SEARCH_EMAILS = Contract(
    "search_emails",
    IMAP,
    SearchEmailsArgs,
    SearchEmailsResult,
    reads=_EVERYWHERE,
    revalidated_by=IMAP_CHECK_FRESH,
)
GET_EMAIL = Contract(
    "get_email",
    IMAP,
    GetEmailArgs,
    Email,
    writes_when=lambda args: bool(args.mark_read),
    reads=(IMAP_FOLDER,),
    changes=_EVERYWHERE,
    revalidated_by=IMAP_CHECK_FRESH,
)
GET_EMAIL_THREAD = Contract(
    "get_email_thread",
    IMAP,
    GetEmailThreadArgs,
    EmailThread,
    reads=(IMAP_FOLDER,),
    revalidated_by=IMAP_CHECK_FRESH,
)
GET_ATTACHMENT = Contract("get_attachment", IMAP, GetAttachmentArgs, AttachmentContent)
CREATE_DIRECTORY = Contract(
    "create_directory",
    IMAP,
    CreateDirectoryArgs,
    CreateDirectoryResult,
    writes=True,
    changes=(IMAP_FOLDERS,),
)
# A write to messages may change any folder's listing and counts.
MESSAGES_WRITE = Writes(IMAP, _EVERYWHERE)
MOVE_EMAIL = MESSAGES_WRITE("move_email", w.MoveEmailArgs, w.MoveEmailResult)
MARK_EMAIL = MESSAGES_WRITE("mark_email", w.MarkEmailArgs, w.MarkEmailResult)
DELETE_EMAIL = MESSAGES_WRITE("delete_email", w.DeleteEmailArgs, w.DeleteEmailResult)

# The Outbox's steps.
FETCH_ORIGINAL = Contract("fetch_original", IMAP, w.OriginalArgs, w.Original)
APPEND_MESSAGE = MESSAGES_WRITE("append_message", w.AppendArgs, w.Appended)
CLAIM_DRAFT = MESSAGES_WRITE("claim_draft", w.ClaimDraftArgs, w.ClaimedDraft)
SETTLE_DRAFT = MESSAGES_WRITE("settle_draft", w.SettleDraftArgs, w.SettledDraft)
COMPOSE_MESSAGE = Contract("compose_message", SMTP, w.ComposeRequest, w.Composed)
SEND_MESSAGE = Contract("send_message", SMTP, w.ComposeRequest, w.SendOutcome, writes=True)
SEND_RAW = Contract("send_raw", SMTP, w.SendRawRequest, w.SendOutcome, writes=True)

# Tools the supervisor runs out of the steps above; their steps invalidate the cache.
SEND_EMAIL = Contract("send_email", SUPERVISOR, w.SendEmailArgs, w.SendEmailResult, writes=True)
CREATE_DRAFT = Contract("create_draft", SUPERVISOR, w.SendEmailArgs, w.DraftResult, writes=True)
SEND_DRAFT = Contract("send_draft", SUPERVISOR, w.SendDraftArgs, w.SendEmailResult, writes=True)

MAIL_CONTRACTS: tuple[Contract[Any, Any], ...] = (
    GET_FOLDERS,
    SEARCH_EMAILS,
    GET_EMAIL,
    GET_EMAIL_THREAD,
    GET_ATTACHMENT,
    CREATE_DIRECTORY,
    MOVE_EMAIL,
    MARK_EMAIL,
    DELETE_EMAIL,
    FETCH_ORIGINAL,
    APPEND_MESSAGE,
    CLAIM_DRAFT,
    SETTLE_DRAFT,
    COMPOSE_MESSAGE,
    SEND_MESSAGE,
    SEND_RAW,
    SEND_EMAIL,
    CREATE_DRAFT,
    SEND_DRAFT,
    IMAP_CHECK_FRESH,
    IMAP_DIAGNOSE,
    SMTP_DIAGNOSE,
)
