"""The worker processes as the supervisor runs them: password, restart policy, rate limits.

Kept apart from the MCP wiring in ``supervisor.app`` so ``--diagnose`` starts the
same workers without importing the MCP SDK (over a second of start-up).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping

import msgspec
import structlog

from protocol.errors import MailError
from supervisor.config import Settings
from supervisor.families import WORKER_FAMILIES
from supervisor.password import PasswordSource as PasswordSource
from supervisor.rate_limit import TokenBucket
from supervisor.restart_policy import DEFAULT_POLICY, RestartPolicy
from supervisor.worker_family import AnyFamily
from supervisor.worker_handle import WorkerHandle

log = structlog.get_logger()


def restart_policy(settings: Settings) -> RestartPolicy:
    """The restart policy with the heartbeat and memory ceiling the settings ask for."""
    return dataclasses.replace(
        DEFAULT_POLICY,
        ping_interval=settings.heartbeat_interval,
        ping_timeout=settings.heartbeat_timeout,
        max_rss_bytes=settings.worker_max_rss_mb * 2**20,
    )


def rate_limit(settings: Settings, family: AnyFamily) -> TokenBucket | None:
    per_minute = family.section(settings).rate_limit
    return TokenBucket(family.label, per_minute, max(1, per_minute // 5)) if per_minute else None


def build_workers(
    settings: Settings,
    policy: RestartPolicy = DEFAULT_POLICY,
    log_level: str | None = None,
    *,
    password: PasswordSource | None = None,
    limited: bool = False,
    unavailable: Mapping[str, MailError] | None = None,
) -> dict[str, WorkerHandle]:
    """One handle per worker process whose tools are on (MAILBOX_TOOLS); none is started
    yet. ``limited``: with rate limits.

    A worker named in ``unavailable`` is never started: each of its calls raises
    the error given for it (the sandbox without Dovecot has no mail server).
    """
    password = password or PasswordSource(settings)
    unavailable = unavailable or {}

    def settings_for(family: AnyFamily) -> Callable[[], Awaitable[msgspec.Struct]]:
        async def factory() -> msgspec.Struct:
            if family.name in unavailable:
                raise unavailable[family.name]
            return family.worker_settings(settings, await password.get())

        return factory

    return {
        family.name: WorkerHandle(
            family.name,
            settings_for(family),
            policy,
            label=family.label,
            log_level=log_level,
            rate_limit=rate_limit(settings, family) if limited else None,
            refresh_credentials=password.refresh,
        )
        for family in WORKER_FAMILIES
        if family.wanted(settings)
    }
