"""``python -m workers.imap``: serve IMAP tools on stdin/stdout."""

from __future__ import annotations

from protocol.attachment import GetAttachmentArgs
from protocol.conversation import GetEmailThreadArgs
from protocol.diagnosis import DiagnoseArgs
from protocol.email import CreateDirectoryArgs, GetEmailArgs, GetFoldersArgs, SearchEmailsArgs
from protocol.fingerprint import FreshnessArgs
from protocol.settings import ImapSettings
from protocol.writing import (
    AppendArgs,
    ClaimDraftArgs,
    DeleteEmailArgs,
    MarkEmailArgs,
    MoveEmailArgs,
    OriginalArgs,
    SettleDraftArgs,
)
from workers.imap import handlers, write_tools
from workers.imap.diagnose import diagnose
from workers.runtime import Route, WorkerSpec, run_worker

SPEC: WorkerSpec[ImapSettings, handlers.ImapState] = WorkerSpec(
    name="imap",
    settings_type=ImapSettings,
    open_state=handlers.open_imap_state,
    routes={
        "get_folders": Route(GetFoldersArgs, handlers.get_folders),
        "create_directory": Route(CreateDirectoryArgs, handlers.create_directory),
        "search_emails": Route(SearchEmailsArgs, handlers.search_emails),
        "get_email": Route(GetEmailArgs, handlers.get_email),
        "get_email_thread": Route(GetEmailThreadArgs, handlers.get_email_thread),
        "get_attachment": Route(GetAttachmentArgs, handlers.get_attachment),
        "move_email": Route(MoveEmailArgs, write_tools.move_email),
        "mark_email": Route(MarkEmailArgs, write_tools.mark_email),
        "delete_email": Route(DeleteEmailArgs, write_tools.delete_email),
        "fetch_original": Route(OriginalArgs, write_tools.fetch_original),
        "append_message": Route(AppendArgs, write_tools.append_message),
        "claim_draft": Route(ClaimDraftArgs, write_tools.claim_draft),
        "settle_draft": Route(SettleDraftArgs, write_tools.settle_draft),
        "check_fresh": Route(FreshnessArgs, handlers.check_fresh),
        "diagnose": Route(DiagnoseArgs, diagnose),
    },
    metrics=lambda state: state.pool.metrics(),
    max_concurrency=lambda settings: settings.pool.max_concurrency,
)

if __name__ == "__main__":
    run_worker(SPEC)
