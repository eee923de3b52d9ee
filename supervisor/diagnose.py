"""``--diagnose``: a health check a person runs before wiring the server into Claude Desktop.

It goes through the same worker processes as the server, so what it proves is
what the server will do. One line per check; exit status 0 only when all pass.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import TextIO

import anyio
import msgspec

from protocol.diagnosis import Check, DiagnoseArgs, DiagnoseResult
from protocol.errors import ConfigError, MailError
from supervisor.app import PasswordSource, build_workers
from supervisor.config import Settings
from supervisor.restart_policy import RestartPolicy
from supervisor.status import describe, refresh_metrics, worker_statuses

DIAGNOSE_TIMEOUT = 60.0


async def run_diagnose(
    settings: Settings | None, config_error: ConfigError | None, out: TextIO, as_json: bool
) -> int:
    """Run every check, print the report, return the exit status."""
    checks = await collect_checks(settings, config_error)
    report(checks, out, as_json)
    return 0 if checks and all(c.ok for c in checks) else 1


async def collect_checks(
    settings: Settings | None, config_error: ConfigError | None
) -> list[Check]:
    if settings is None:
        message = config_error.message if config_error else "The configuration could not be read."
        return [Check("config", False, message, 0.0)]
    checks = [
        Check(
            "config",
            True,
            f"{settings.email} on IMAP {settings.imap_host}:{settings.imap_port}, "
            f"SMTP {settings.smtp_host}:{settings.smtp_port} ({settings.smtp_security}), "
            f"CalDAV {settings.caldav_url}",
            0.0,
        )
    ]
    checks += [Check("config warning", True, warning, 0.0) for warning in settings.warnings]
    start = time.perf_counter()
    try:
        await PasswordSource(settings).get()
    except MailError as exc:
        return [*checks, Check("password", False, exc.message, _since(start))]
    if settings.password_command:
        checks.append(
            Check("password", True, "MAILBOX_PASSWORD_COMMAND printed a password", _since(start))
        )
    # A health check must not retry a failing worker in a loop: one start, one answer.
    policy = RestartPolicy(max_restarts_in_window=0, circuit_cooldown=DIAGNOSE_TIMEOUT)
    # No pre-warmed connections: each check logs in exactly once, as it reports.
    quiet = dataclasses.replace(
        settings, imap_pool=msgspec.structs.replace(settings.imap_pool, min_size=0)
    )
    workers = build_workers(quiet, policy, log_level="warning")
    async with anyio.create_task_group() as tg:
        for worker in workers.values():
            tg.start_soon(worker.run)
        for name, worker in workers.items():
            start = time.perf_counter()
            try:
                result, _ = await worker.call(
                    "diagnose",
                    DiagnoseArgs(),
                    DiagnoseResult,
                    timeout=DIAGNOSE_TIMEOUT,
                    idempotent=False,
                )
                checks.extend(result.checks)
            except MailError as exc:
                checks.append(Check(f"{name} worker", False, exc.message, _since(start)))
        await refresh_metrics(workers)
        for status in worker_statuses(workers):
            checks.append(Check(f"{status.name} process", True, describe(status), 0.0))
        for worker in workers.values():
            await worker.aclose()
        tg.cancel_scope.cancel()
    return checks


def report(checks: list[Check], out: TextIO, as_json: bool) -> None:
    failed = [c for c in checks if not c.ok]
    if as_json:
        payload = {
            "ok": not failed,
            "checks": [
                {"name": c.name, "ok": c.ok, "detail": c.detail, "ms": round(c.seconds * 1000, 1)}
                for c in checks
            ],
        }
        out.write(json.dumps(payload, indent=2) + "\n")
        return
    width = max(len(c.name) for c in checks)
    for c in checks:
        status = "ok  " if c.ok else "FAIL"
        out.write(f"{status}  {c.name:<{width}}  {c.seconds * 1000:7.0f} ms  {c.detail}\n")
    if failed:
        out.write(f"Not ready: {failed[0].detail}\n")
    else:
        out.write("Ready: everything checked works. Add the server to Claude Desktop.\n")


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 4)
