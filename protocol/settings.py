"""Settings the supervisor hands to each worker in its Configure message."""

from __future__ import annotations

import msgspec


class PoolSettings(msgspec.Struct, frozen=True):
    """Connection-pool sizing and timeouts shared by every worker."""

    min_size: int = 1
    max_size: int = 4
    connect_timeout: float = 15.0
    read_timeout: float = 60.0
    idle_check_after: float = 60.0
    idle_close_after: float = 600.0
    max_concurrency: int = 8


class LoginSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What every worker logs in with, whatever its protocol (each adds where its server
    is). Its repr, which log lines show, never shows the password."""

    username: str
    password: str
    ca_file: str | None = None

    def __repr__(self) -> str:
        shown = [f"{name}={getattr(self, name)!r}" for name in self.__struct_fields__]
        shown[self.__struct_fields__.index("password")] = "password='***'"
        return f"{type(self).__name__}({', '.join(shown)})"


class ImapSettings(LoginSettings, frozen=True):
    host: str
    port: int
    pool: PoolSettings = PoolSettings()
    download_dir: str = "~/Downloads/mailbox-mcp"
    allow_permanent_delete: bool = True


class SmtpSettings(LoginSettings, frozen=True):
    host: str
    port: int
    security: str  # "tls" (implicit, 465) or "starttls" (required, 587)
    from_address: str
    attachment_dir: str | None = None
    max_attachment_bytes: int = 25 * 1024 * 1024
    pool: PoolSettings = PoolSettings(min_size=0, max_size=2)
    # Addresses ("ben@example.org") or domains ("example.org") mail may go to; empty: any.
    send_allow: list[str] = []


class DavSettings(LoginSettings, frozen=True):
    url: str
    timezone: str | None = None
    pool: PoolSettings = PoolSettings(min_size=1, max_size=4)
    allow_series_delete: bool = True
