"""The worker processes as the supervisor runs them: password, restart policy, rate limits.

Kept apart from the MCP wiring in ``supervisor.app`` so ``--diagnose`` starts the
same workers without importing the MCP SDK (over a second of start-up).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping

import anyio
import msgspec
import structlog

from protocol.errors import ConfigError, MailError
from protocol.logs import register_secret
from supervisor.config import Settings, resolve_password
from supervisor.rate_limit import TokenBucket
from supervisor.restart_policy import DEFAULT_POLICY, RestartPolicy
from supervisor.worker_handle import WorkerHandle

log = structlog.get_logger()


class PasswordSource:
    """Fetches the password once (running the password command in a thread) and keeps it."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = anyio.Lock()
        self._password: str | None = None
        self._refreshed = False

    async def refresh(self) -> bool:
        """After a refused login: run the password command once more (once per session).

        True if it now prints a different password, so a worker restart may help;
        False without a command, on the second call, or when nothing changed.
        """
        async with self._lock:
            if self._settings.password_command is None or self._refreshed:
                return False
            self._refreshed = True
            try:
                fresh = await anyio.to_thread.run_sync(resolve_password, self._settings)
            except ConfigError as exc:
                log.warning("password.refresh_failed", error=exc.message)
                return False
            register_secret(fresh)
            changed, self._password = fresh != self._password, fresh
            log.info("password.refreshed", changed=changed)
            return changed

    async def get(self) -> str:
        async with self._lock:
            if self._password is None:
                self._password = await anyio.to_thread.run_sync(resolve_password, self._settings)
                register_secret(self._password)
            return self._password


def restart_policy(settings: Settings) -> RestartPolicy:
    """The restart policy with the heartbeat and memory ceiling the settings ask for."""
    return dataclasses.replace(
        DEFAULT_POLICY,
        ping_interval=settings.heartbeat_interval,
        ping_timeout=settings.heartbeat_timeout,
        max_rss_bytes=settings.worker_max_rss_mb * 2**20,
    )


def rate_limit(settings: Settings, name: str, label: str) -> TokenBucket | None:
    per_minute = settings.rate_limits.get(name, 0)
    return TokenBucket(label, per_minute, max(1, per_minute // 5)) if per_minute else None


def build_workers(
    settings: Settings,
    policy: RestartPolicy = DEFAULT_POLICY,
    log_level: str | None = None,
    *,
    password: PasswordSource | None = None,
    limited: bool = False,
    unavailable: Mapping[str, MailError] | None = None,
) -> dict[str, WorkerHandle]:
    """One handle per worker process; none is started yet. ``limited``: with rate limits.

    A worker named in ``unavailable`` is never started: each of its calls raises
    the error given for it (the sandbox without Dovecot has no mail server).
    """
    password = password or PasswordSource(settings)
    unavailable = unavailable or {}

    def settings_for(
        name: str, make: Callable[[str], msgspec.Struct]
    ) -> Callable[[], Awaitable[msgspec.Struct]]:
        async def factory() -> msgspec.Struct:
            if name in unavailable:
                raise unavailable[name]
            return make(await password.get())

        return factory

    kinds = (
        ("imap", settings.imap_settings, "IMAP"),
        ("smtp", settings.smtp_settings, "SMTP"),
        ("dav", settings.dav_settings, "CalDAV"),
    )
    return {
        name: WorkerHandle(
            name,
            settings_for(name, make),
            policy,
            label=label,
            log_level=log_level,
            rate_limit=rate_limit(settings, name, label) if limited else None,
            refresh_credentials=password.refresh,
        )
        for name, make, label in kinds
    }
