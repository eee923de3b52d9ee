"""``python -m workers.imap``: serve IMAP tools on stdin/stdout."""

from __future__ import annotations

from protocol import mail
from protocol.invitations import INVITATION_CONTRACTS
from protocol.settings import ImapSettings
from workers.imap import diagnose, handlers, invitation_mail, write_tools
from workers.runtime import pool_worker, run_worker

SPEC = pool_worker(
    mail.IMAP,
    ImapSettings,
    handlers.open_imap_state,
    (*mail.MAIL_CONTRACTS, *INVITATION_CONTRACTS),
    handlers,
    write_tools,
    diagnose,
    invitation_mail,
)

if __name__ == "__main__":
    run_worker(SPEC)
