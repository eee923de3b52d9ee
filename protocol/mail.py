"""The mail family's contracts: the IMAP and SMTP tools and the internal steps of sending.

``send_email``, ``create_draft`` and ``send_draft`` span both workers and are
run by the supervisor's Outbox out of the internal steps listed here.
"""

from __future__ import annotations

from typing import Any

from protocol import writing as w
from protocol.attachment import AttachmentContent, GetAttachmentArgs
from protocol.contract import SUPERVISOR, Contract
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
MOVE_EMAIL = Contract(
    "move_email", IMAP, w.MoveEmailArgs, w.MoveEmailResult, writes=True, changes=_EVERYWHERE
)
MARK_EMAIL = Contract(
    "mark_email", IMAP, w.MarkEmailArgs, w.MarkEmailResult, writes=True, changes=_EVERYWHERE
)
DELETE_EMAIL = Contract(
    "delete_email", IMAP, w.DeleteEmailArgs, w.DeleteEmailResult, writes=True, changes=_EVERYWHERE
)

# The Outbox's steps.
FETCH_ORIGINAL = Contract("fetch_original", IMAP, w.OriginalArgs, w.Original)
APPEND_MESSAGE = Contract(
    "append_message", IMAP, w.AppendArgs, w.Appended, writes=True, changes=_EVERYWHERE
)
CLAIM_DRAFT = Contract(
    "claim_draft", IMAP, w.ClaimDraftArgs, w.ClaimedDraft, writes=True, changes=_EVERYWHERE
)
SETTLE_DRAFT = Contract(
    "settle_draft", IMAP, w.SettleDraftArgs, w.SettledDraft, writes=True, changes=_EVERYWHERE
)
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
