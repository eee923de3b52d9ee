"""``python -m workers.imap``: serve IMAP tools on stdin/stdout."""

from __future__ import annotations

from protocol import mail
from protocol.contract import routes_for
from protocol.settings import ImapSettings
from workers.imap import handlers, write_tools
from workers.imap.diagnose import diagnose
from workers.runtime import WorkerSpec, run_worker

SPEC: WorkerSpec[ImapSettings, handlers.ImapState] = WorkerSpec(
    name=mail.IMAP,
    settings_type=ImapSettings,
    open_state=handlers.open_imap_state,
    routes=routes_for(
        mail.IMAP,
        mail.MAIL_CONTRACTS,
        {
            mail.GET_FOLDERS: handlers.get_folders,
            mail.CREATE_DIRECTORY: handlers.create_directory,
            mail.SEARCH_EMAILS: handlers.search_emails,
            mail.GET_EMAIL: handlers.get_email,
            mail.GET_EMAIL_THREAD: handlers.get_email_thread,
            mail.GET_ATTACHMENT: handlers.get_attachment,
            mail.MOVE_EMAIL: write_tools.move_email,
            mail.MARK_EMAIL: write_tools.mark_email,
            mail.DELETE_EMAIL: write_tools.delete_email,
            mail.FETCH_ORIGINAL: write_tools.fetch_original,
            mail.APPEND_MESSAGE: write_tools.append_message,
            mail.CLAIM_DRAFT: write_tools.claim_draft,
            mail.SETTLE_DRAFT: write_tools.settle_draft,
            mail.IMAP_CHECK_FRESH: handlers.check_fresh,
            mail.IMAP_DIAGNOSE: diagnose,
        },
    ),
    metrics=lambda state: state.pool.metrics(),
    max_concurrency=lambda settings: settings.pool.max_concurrency,
)

if __name__ == "__main__":
    run_worker(SPEC)
