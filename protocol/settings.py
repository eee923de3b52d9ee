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


class ImapSettings(msgspec.Struct, frozen=True):
    host: str
    port: int
    username: str
    password: str
    ca_file: str | None = None
    pool: PoolSettings = PoolSettings()
    download_dir: str = "~/Downloads/mailbox-mcp"
    allow_permanent_delete: bool = True

    def __repr__(self) -> str:  # the password must never reach a log line
        return (
            f"ImapSettings(host={self.host!r}, port={self.port}, "
            f"username={self.username!r}, password='***', ca_file={self.ca_file!r}, "
            f"download_dir={self.download_dir!r})"
        )


class SmtpSettings(msgspec.Struct, frozen=True):
    host: str
    port: int
    security: str  # "tls" (implicit, 465) or "starttls" (required, 587)
    username: str
    password: str
    from_address: str
    ca_file: str | None = None
    attachment_dir: str | None = None
    max_attachment_bytes: int = 25 * 1024 * 1024
    pool: PoolSettings = PoolSettings(min_size=0, max_size=2)
    # Addresses ("ben@example.org") or domains ("example.org") mail may go to; empty: any.
    send_allow: list[str] = []

    def __repr__(self) -> str:  # the password must never reach a log line
        return (
            f"SmtpSettings(host={self.host!r}, port={self.port}, security={self.security!r}, "
            f"username={self.username!r}, password='***')"
        )


class DavSettings(msgspec.Struct, frozen=True):
    url: str
    username: str
    password: str
    ca_file: str | None = None
    timezone: str | None = None
    pool: PoolSettings = PoolSettings(min_size=1, max_size=4)
    allow_series_delete: bool = True

    def __repr__(self) -> str:  # the password must never reach a log line
        return f"DavSettings(url={self.url!r}, username={self.username!r}, password='***')"
