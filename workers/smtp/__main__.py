"""``python -m workers.smtp``: compose and send mail on stdin/stdout."""

from __future__ import annotations

from protocol import mail
from protocol.contract import routes_for
from protocol.settings import SmtpSettings
from workers.runtime import WorkerSpec, run_worker
from workers.smtp import handlers
from workers.smtp.diagnose import diagnose

SPEC: WorkerSpec[SmtpSettings, handlers.SmtpState] = WorkerSpec(
    name=mail.SMTP,
    settings_type=SmtpSettings,
    open_state=handlers.open_smtp_state,
    routes=routes_for(
        mail.SMTP,
        mail.MAIL_CONTRACTS,
        {
            mail.COMPOSE_MESSAGE: handlers.compose_message,
            mail.SEND_MESSAGE: handlers.send_message,
            mail.SEND_RAW: handlers.send_raw,
            mail.SMTP_DIAGNOSE: diagnose,
        },
    ),
    metrics=lambda state: state.pool.metrics(),
    max_concurrency=lambda settings: settings.pool.max_concurrency,
)

if __name__ == "__main__":
    run_worker(SPEC)
