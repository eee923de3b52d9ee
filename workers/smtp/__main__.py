"""``python -m workers.smtp``: compose and send mail on stdin/stdout."""

from __future__ import annotations

from protocol import mail
from protocol.settings import SmtpSettings
from workers.runtime import pool_worker, run_worker
from workers.smtp import diagnose, handlers

SPEC = pool_worker(
    mail.SMTP, SmtpSettings, handlers.open_smtp_state, mail.MAIL_CONTRACTS, handlers, diagnose
)

if __name__ == "__main__":
    run_worker(SPEC)
