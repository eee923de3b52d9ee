"""``--diagnose``: a health check a person runs before wiring the server into Claude Desktop.

It goes through the same worker processes as the server, so what it proves is
what the server will do. The three workers check their servers at the same
time. One line per check with its time; a failed check says what to do; a check
that could not run because an earlier one failed is shown as skipped. The last
line is the verdict, naming the first failure and what to do about it. Exit
status 0 only when nothing failed (warnings pass).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from collections.abc import Mapping
from typing import TextIO

import anyio
import msgspec

from protocol.diagnosis import Check, DiagnoseArgs, diagnosis, skipped
from protocol.errors import ConfigError, MailError
from supervisor.config import Settings
from supervisor.families import WORKER_FAMILIES
from supervisor.restart_policy import RestartPolicy
from supervisor.status import describe, refresh_metrics, worker_statuses
from supervisor.worker_handle import WorkerHandle
from supervisor.worker_setup import PasswordSource, build_workers

DIAGNOSE_TIMEOUT = 60.0
FAMILIES = {family.name: family for family in WORKER_FAMILIES}

CONFIG_ADVICE = (
    'Correct the variable in the "env" section of claude_desktop_config.json (or in your '
    "shell), then run --diagnose again."
)
UNKNOWN_VARIABLE_ADVICE = (
    'Correct or remove it in the "env" section of claude_desktop_config.json; as it is, '
    "it changes nothing."
)
PASSWORD_ADVICE = (
    "Fix MAILBOX_PASSWORD_COMMAND so that it prints the password and nothing else, without "
    "asking for anything; or put an app password in MAILBOX_PASSWORD instead."
)
WORKER_ADVICE = (
    "Run --diagnose again; if this repeats, run it with MAILBOX_LOG_LEVEL=debug and report "
    "the log (it never contains the password)."
)
_MARKS = {"ok": "ok", "warning": "WARN", "failed": "FAIL", "skipped": "skip"}


async def run_diagnose(
    settings: Settings | None,
    config_error: ConfigError | None,
    out: TextIO,
    as_json: bool,
    *,
    verbose: bool = False,
    unavailable: Mapping[str, MailError] | None = None,
) -> int:
    """Run every check, print the report, return the exit status.

    ``verbose`` adds a line per worker process and prints every skipped check on
    its own line; ``unavailable`` names workers not to start, with the reason.
    """
    start = time.perf_counter()
    checks = await collect_checks(settings, config_error, verbose=verbose, unavailable=unavailable)
    report(checks, out, as_json, time.perf_counter() - start, verbose=verbose)
    return 0 if passed(checks) else 1


def passed(checks: list[Check]) -> bool:
    return bool(checks) and all(c.ok for c in checks)


async def collect_checks(
    settings: Settings | None,
    config_error: ConfigError | None,
    *,
    verbose: bool = False,
    unavailable: Mapping[str, MailError] | None = None,
) -> list[Check]:
    if settings is None:
        message = config_error.message if config_error else "The configuration could not be read."
        return [Check("config", False, message, 0.0, advice=CONFIG_ADVICE), *_skip_all("config")]
    checks = [
        Check(
            "config",
            True,
            settings.describe_servers(),
            0.0,
        )
    ]
    checks += [
        Check("config warning", True, warning, 0.0, advice=UNKNOWN_VARIABLE_ADVICE)
        for warning in settings.warnings
    ]
    password = PasswordSource(settings)
    start = time.perf_counter()
    try:
        await password.get()
    except MailError as exc:
        failure = Check("password", False, exc.message, _since(start), advice=PASSWORD_ADVICE)
        return [*checks, failure, *_skip_all("password")]
    if settings.password_command:
        checks.append(
            Check("password", True, "MAILBOX_PASSWORD_COMMAND printed a password", _since(start))
        )
    return checks + await _ask_workers(settings, password, verbose, unavailable or {})


async def _ask_workers(
    settings: Settings,
    password: PasswordSource,
    verbose: bool,
    unavailable: Mapping[str, MailError],
) -> list[Check]:
    """Every worker's checks, all at once, in a fixed order; then, if ``verbose``, one
    line per process."""
    # A health check must not retry a failing worker in a loop: one start, one answer.
    policy = RestartPolicy(max_restarts_in_window=0, circuit_cooldown=DIAGNOSE_TIMEOUT)
    # No pre-warmed connections: each check logs in exactly once, as it reports.
    quiet = dataclasses.replace(
        settings,
        sections={
            name: msgspec.structs.replace(
                section, pool=msgspec.structs.replace(section.pool, min_size=0)
            )
            for name, section in settings.sections.items()
        },
    )
    workers = build_workers(
        quiet, policy, log_level="warning", password=password, unavailable=unavailable
    )
    answers: dict[str, list[Check]] = {}
    async with anyio.create_task_group() as tg:
        for worker in workers.values():
            tg.start_soon(worker.run)
        async with anyio.create_task_group() as calls:
            for name, worker in workers.items():
                calls.start_soon(_ask_one, name, worker, answers)
        if verbose:
            await refresh_metrics(workers)
        statuses = worker_statuses(workers)
        async with anyio.create_task_group() as closing:
            for worker in workers.values():
                closing.start_soon(worker.aclose)
        tg.cancel_scope.cancel()
    checks = [check for name in workers for check in answers[name]]
    if not verbose:
        return checks
    return checks + [
        Check(f"{s.name} process", True, describe(s), 0.0)
        for s in statuses
        if s.name not in unavailable
    ]


async def _ask_one(name: str, worker: WorkerHandle, answers: dict[str, list[Check]]) -> None:
    start = time.perf_counter()
    try:
        answer = await worker.call(diagnosis(name), DiagnoseArgs(), timeout=DIAGNOSE_TIMEOUT)
        answers[name] = answer.value.checks
    except MailError as exc:
        # A setting the worker cannot run with says itself what to do.
        advice = "" if isinstance(exc, ConfigError) else WORKER_ADVICE
        failure = Check(f"{name} worker", False, exc.message, _since(start), advice=advice)
        planned = FAMILIES[name].checks
        answers[name] = [failure, *(skipped(n, failure.name) for n in planned)]


def _skip_all(because: str) -> list[Check]:
    return [skipped(name, because) for family in WORKER_FAMILIES for name in family.checks]


# -- the report --------------------------------------------------------------------------


def verdict(checks: list[Check], seconds: float) -> str:
    """The last line: ready or not, and if not, the first failure and what to do."""
    failed = [c for c in checks if c.status == "failed"]
    if failed:
        first = failed[0]
        line = f"Not ready: {first.name} failed: {first.detail.rstrip('.')}."
        if first.advice:
            line += f" What to do: {first.advice}"
        if len(failed) > 1:
            others = len(failed) - 1
            line += (
                f" ({others} other check{'s' if others > 1 else ''} failed as well; fix this "
                "one first, then run --diagnose again.)"
            )
        return line
    warnings = [c.name for c in checks if c.status == "warning"]
    took = f"{len(checks)} checks passed in {seconds:.1f} s"
    if warnings:
        return (
            f"Ready, with {len(warnings)} warning{'s' if len(warnings) > 1 else ''} "
            f"({', '.join(warnings)}; see above): {took}. Add the server to Claude Desktop."
        )
    return f"Ready: all {took}. Add the server to Claude Desktop."


def report(
    checks: list[Check], out: TextIO, as_json: bool, seconds: float = 0.0, *, verbose: bool = False
) -> None:
    """Print the report: text for people, JSON (every check) for scripts.

    In text, checks skipped one after another for the same reason share one line,
    unless ``verbose``."""
    if as_json:
        first = next((c for c in checks if c.status == "failed"), None)
        payload = {
            "ok": passed(checks),
            "verdict": verdict(checks, seconds),
            "ms": round(seconds * 1000, 1),
            "first_failure": (
                {"name": first.name, "detail": first.detail, "advice": first.advice}
                if first
                else None
            ),
            "checks": [
                {
                    "name": c.name,
                    "status": c.status,
                    "ok": c.ok,
                    "detail": c.detail,
                    "advice": c.advice,
                    "ms": round(c.seconds * 1000, 1),
                }
                for c in checks
            ],
        }
        out.write(json.dumps(payload, indent=2) + "\n")
        return
    lines = checks if verbose else _fold_skipped(checks)
    width = max(len(c.name) for c in lines)
    indent = " " * (4 + 2 + width + 2 + 7 + 2)
    for c in lines:
        took = "" if c.skipped else f"{c.seconds * 1000:.0f} ms"
        out.write(f"{_MARKS[c.status]:<4}  {c.name:<{width}}  {took:>7}  {c.detail}\n")
        if c.advice and c.status in ("failed", "warning"):
            out.write(f"{indent}what to do: {c.advice}\n")
    out.write(verdict(checks, seconds) + "\n")


def _fold_skipped(checks: list[Check]) -> list[Check]:
    """Checks skipped in a row for the same reason, as one line naming the first and last."""
    folded: list[Check] = []
    for (skipped_run, detail), group in itertools.groupby(
        checks, key=lambda c: (c.skipped, c.detail if c.skipped else id(c))
    ):
        run = list(group)
        if not skipped_run or len(run) == 1:
            folded += run
            continue
        span = f"{run[0].name} to {run[-1].name}"
        folded.append(Check(f"{len(run)} checks", False, f"{detail} ({span})", 0.0, skipped=True))
    return folded


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 4)
