"""``python -m workers.smtp``: compose and send mail on stdin/stdout."""

from __future__ import annotations

from protocol.diagnosis import DiagnoseArgs
from protocol.settings import SmtpSettings
from protocol.writing import ComposeRequest, SendRawRequest
from workers.runtime import Route, WorkerSpec, run_worker
from workers.smtp import handlers
from workers.smtp.diagnose import diagnose

SPEC: WorkerSpec[SmtpSettings, handlers.SmtpState] = WorkerSpec(
    name="smtp",
    settings_type=SmtpSettings,
    open_state=handlers.open_smtp_state,
    routes={
        "compose_message": Route(ComposeRequest, handlers.compose_message),
        "send_message": Route(ComposeRequest, handlers.send_message),
        "send_raw": Route(SendRawRequest, handlers.send_raw),
        "diagnose": Route(DiagnoseArgs, diagnose),
    },
    metrics=lambda state: state.pool.metrics(),
    max_concurrency=lambda settings: settings.pool.max_concurrency,
)

if __name__ == "__main__":
    run_worker(SPEC)
