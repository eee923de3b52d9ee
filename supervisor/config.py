"""Settings from MAILBOX_* environment variables (DESIGN.md section 6).

Every value is checked at start; a wrong one gets one sentence naming the
variable and what it expects. The password itself is fetched separately
(``resolve_password``) because a password command may be slow.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import os
import shlex
import subprocess
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

from protocol.errors import ConfigError
from protocol.settings import DavSettings, ImapSettings, PoolSettings, SmtpSettings

T = TypeVar("T")

PASSWORD_COMMAND_TIMEOUT = 30.0
PASSWORD_COMMAND_EXAMPLE = "pass show mailbox.org"
CA_FILE_EXAMPLE = "/etc/ssl/certs/my-company-ca.pem"
# The families of tools MAILBOX_TOOLS chooses from (a family not built yet has no tools).
TOOL_FAMILIES = ("mail", "calendar", "contacts", "filters", "tasks")


@dataclass(frozen=True)
class Settings:
    email: str
    password: str | None = field(repr=False)
    password_command: str | None = field(repr=False)
    imap_host: str = "imap.mailbox.org"
    imap_port: int = 993
    smtp_host: str = "smtp.mailbox.org"
    smtp_port: int = 465
    smtp_security: str = "tls"
    caldav_url: str = "https://dav.mailbox.org/"
    ca_file: str | None = None
    timezone: str | None = None
    read_only: bool = False
    tool_families: tuple[str, ...] = TOOL_FAMILIES
    attachment_dir: str | None = None
    download_dir: str = str(Path.home() / "Downloads" / "mailbox-mcp")
    cache_email_ttl: float = 300.0
    cache_calendar_ttl: float = 900.0
    cache_max_entries: int = 512
    cache_max_bytes: int = 64 * 1024 * 1024
    call_timeout: float = 60.0
    log_level: str = "info"
    log_format: str = "console"
    imap_pool: PoolSettings = field(default_factory=PoolSettings)
    max_attachment_bytes: int = 25 * 1024 * 1024
    heartbeat_interval: float = 15.0
    heartbeat_timeout: float = 10.0
    worker_max_rss_mb: int = 1024
    send_allow: tuple[str, ...] = ()
    send_limit_per_hour: int = 60
    allow_permanent_delete: bool = True
    allow_series_delete: bool = True
    # Sentences about MAILBOX_* variables that are set but mean nothing here (typos).
    warnings: tuple[str, ...] = ()
    # Requests a minute each worker may send (0 = no limit); CalDAV stays well below
    # mailbox.org's 1,500 per 5 minutes, IMAP below what a desktop client does.
    rate_limits: dict[str, int] = field(
        default_factory=lambda: {"imap": 300, "smtp": 30, "dav": 150}
    )

    def imap_settings(self, password: str) -> ImapSettings:
        return ImapSettings(
            host=self.imap_host,
            port=self.imap_port,
            username=self.email,
            password=password,
            ca_file=self.ca_file,
            pool=self.imap_pool,
            download_dir=self.download_dir,
            allow_permanent_delete=self.allow_permanent_delete,
        )

    def dav_settings(self, password: str) -> DavSettings:
        return DavSettings(
            url=self.caldav_url,
            username=self.email,
            password=password,
            ca_file=self.ca_file,
            timezone=self.timezone,
            pool=self.imap_pool,
            allow_series_delete=self.allow_series_delete,
        )

    def smtp_settings(self, password: str) -> SmtpSettings:
        pool = self.imap_pool
        return SmtpSettings(
            host=self.smtp_host,
            port=self.smtp_port,
            security=self.smtp_security,
            username=self.email,
            password=password,
            from_address=self.email,
            ca_file=self.ca_file,
            attachment_dir=self.attachment_dir,
            max_attachment_bytes=self.max_attachment_bytes,
            send_allow=list(self.send_allow),
            # Sending is rare and bursty: no connection kept open at start.
            pool=PoolSettings(
                min_size=0,
                max_size=2,
                connect_timeout=pool.connect_timeout,
                read_timeout=pool.read_timeout,
                idle_check_after=pool.idle_check_after,
                idle_close_after=min(pool.idle_close_after, 120.0),
                max_concurrency=pool.max_concurrency,
            ),
        )


def load_settings(env: Mapping[str, str] = os.environ) -> Settings:
    """Read and check every MAILBOX_* variable; raises ConfigError with one sentence."""
    reader = _Reader(env)
    settings = _read_settings(reader)
    return dataclasses.replace(settings, warnings=unknown_variables(env, reader.asked))


def setting_names() -> frozenset[str]:
    """Every variable ``load_settings`` reads: all the settings there are."""
    reader = _Reader({"MAILBOX_EMAIL": "you@mailbox.org", "MAILBOX_PASSWORD": "-"})
    _read_settings(reader)
    return frozenset(reader.asked)


def _read_settings(reader: _Reader) -> Settings:
    email = reader.text("MAILBOX_EMAIL", None, example="you@mailbox.org")
    if email is None:
        raise ConfigError(
            "MAILBOX_EMAIL must be set to your full mail address, such as you@mailbox.org."
        )
    if "@" not in email:
        raise ConfigError(
            f"MAILBOX_EMAIL must be your full mail address, such as you@mailbox.org; it is {email!r}."
        )
    password = reader.secret("MAILBOX_PASSWORD")
    command = reader.secret("MAILBOX_PASSWORD_COMMAND")
    if password is None and command is None:
        raise ConfigError(
            "Set MAILBOX_PASSWORD to an app password, or MAILBOX_PASSWORD_COMMAND to a command "
            f"that prints it, such as {PASSWORD_COMMAND_EXAMPLE!r}."
        )
    ca_file = reader.text("MAILBOX_CA_FILE", None, example=CA_FILE_EXAMPLE)
    if ca_file is not None and not Path(ca_file).is_file():
        raise ConfigError(
            f"MAILBOX_CA_FILE must name a readable PEM file, such as {CA_FILE_EXAMPLE}; "
            f"{ca_file} is not one."
        )
    pool_defaults = PoolSettings()
    pool = PoolSettings(
        min_size=reader.integer("MAILBOX_IMAP_POOL_MIN", pool_defaults.min_size, 0, 32),
        max_size=reader.integer("MAILBOX_IMAP_POOL_MAX", pool_defaults.max_size, 1, 32),
        connect_timeout=reader.seconds("MAILBOX_CONNECT_TIMEOUT", pool_defaults.connect_timeout),
        read_timeout=reader.seconds("MAILBOX_READ_TIMEOUT", pool_defaults.read_timeout),
        idle_check_after=reader.seconds("MAILBOX_IDLE_CHECK_AFTER", pool_defaults.idle_check_after),
        idle_close_after=reader.seconds("MAILBOX_IDLE_CLOSE_AFTER", pool_defaults.idle_close_after),
        max_concurrency=reader.integer(
            "MAILBOX_MAX_CONCURRENCY", pool_defaults.max_concurrency, 1, 256
        ),
    )
    if pool.min_size > pool.max_size:
        raise ConfigError(
            f"MAILBOX_IMAP_POOL_MIN must not be larger than MAILBOX_IMAP_POOL_MAX "
            f"({pool.max_size}), such as {min(1, pool.max_size)}; it is {pool.min_size}."
        )
    settings = Settings(
        email=email,
        password=password,
        password_command=command,
        imap_host=reader.host("MAILBOX_IMAP_HOST", "imap.mailbox.org"),
        imap_port=reader.integer("MAILBOX_IMAP_PORT", 993, 1, 65535),
        smtp_host=reader.host("MAILBOX_SMTP_HOST", "smtp.mailbox.org"),
        smtp_port=reader.integer("MAILBOX_SMTP_PORT", 465, 1, 65535),
        smtp_security=reader.choice(
            "MAILBOX_SMTP_SECURITY",
            "tls",
            ("tls", "starttls"),
            "tls (for port 465) or starttls (for port 587)",
        ),
        caldav_url=reader.url(
            "MAILBOX_CALDAV_URL",
            "https://dav.mailbox.org/",
            allow_plaintext=reader.flag("MAILBOX_ALLOW_PLAINTEXT", False),
        ),
        ca_file=ca_file,
        timezone=reader.timezone("MAILBOX_TIMEZONE"),
        read_only=reader.flag("MAILBOX_READ_ONLY", False),
        tool_families=reader.families("MAILBOX_TOOLS"),
        attachment_dir=reader.text("MAILBOX_ATTACHMENT_DIR", None, example="~/Documents/to-send"),
        download_dir=reader.text("MAILBOX_DOWNLOAD_DIR", None, example="~/Downloads/mail")
        or Settings.download_dir,
        cache_email_ttl=reader.seconds("MAILBOX_CACHE_EMAIL_TTL", 300.0, allow_zero=True),
        cache_calendar_ttl=reader.seconds("MAILBOX_CACHE_CALENDAR_TTL", 900.0, allow_zero=True),
        cache_max_entries=reader.integer("MAILBOX_CACHE_MAX_ENTRIES", 512, 0, 1_000_000),
        cache_max_bytes=reader.integer("MAILBOX_CACHE_MAX_BYTES", 64 * 1024 * 1024, 0, 2**40),
        call_timeout=reader.seconds("MAILBOX_CALL_TIMEOUT", 60.0),
        log_level=reader.choice("MAILBOX_LOG_LEVEL", "info", ("debug", "info", "warning", "error")),
        log_format=reader.choice("MAILBOX_LOG_FORMAT", "console", ("console", "json")),
        imap_pool=pool,
        max_attachment_bytes=reader.integer(
            "MAILBOX_MAX_ATTACHMENT_BYTES", 25 * 1024 * 1024, 1, 2**34
        ),
        send_allow=reader.send_allow("MAILBOX_SEND_ALLOW"),
        send_limit_per_hour=reader.integer("MAILBOX_SEND_LIMIT_PER_HOUR", 60, 0, 100_000),
        allow_permanent_delete=reader.flag("MAILBOX_ALLOW_PERMANENT_DELETE", True),
        allow_series_delete=reader.flag("MAILBOX_ALLOW_SERIES_DELETE", True),
        heartbeat_interval=reader.seconds("MAILBOX_HEARTBEAT_INTERVAL", 15.0),
        heartbeat_timeout=reader.seconds("MAILBOX_HEARTBEAT_TIMEOUT", 10.0),
        worker_max_rss_mb=reader.integer("MAILBOX_WORKER_MAX_RSS_MB", 1024, 0, 1_000_000),
        rate_limits={
            "imap": reader.integer("MAILBOX_RATE_LIMIT_IMAP", 300, 0, 1_000_000),
            "smtp": reader.integer("MAILBOX_RATE_LIMIT_SMTP", 30, 0, 1_000_000),
            "dav": reader.integer("MAILBOX_RATE_LIMIT_CALDAV", 150, 0, 1_000_000),
        },
    )
    return settings


def unknown_variables(env: Mapping[str, str], known: set[str]) -> tuple[str, ...]:
    """A sentence for each MAILBOX_* variable that is set but not a setting, with the
    closest real name: a typo would otherwise be ignored without a word."""
    sentences = []
    for name in sorted(n for n in env if n.startswith("MAILBOX_") and n not in known):
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]}?" if close else "; the README lists the settings."
        sentences.append(f"{name} is not a setting of this server and is ignored{hint}")
    return tuple(sentences)


def resolve_password(settings: Settings) -> str:
    """The password, from MAILBOX_PASSWORD or by running MAILBOX_PASSWORD_COMMAND.

    The command runs without a shell; its output never appears in an error.
    Raises ConfigError.
    """
    if settings.password is not None:
        return settings.password
    assert settings.password_command is not None
    try:
        argv = shlex.split(settings.password_command)
    except ValueError as exc:
        raise ConfigError(
            f"MAILBOX_PASSWORD_COMMAND could not be read as a command ({exc}); it must be a "
            f"program and its arguments, such as {PASSWORD_COMMAND_EXAMPLE!r}."
        ) from exc
    if not argv:
        raise ConfigError(
            "MAILBOX_PASSWORD_COMMAND is empty; set it to a command that prints the password, "
            f"such as {PASSWORD_COMMAND_EXAMPLE!r}."
        )
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=PASSWORD_COMMAND_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        raise ConfigError(
            f"MAILBOX_PASSWORD_COMMAND: the program {argv[0]} was not found; name a program "
            f"that is installed, with its full path if needed, such as {PASSWORD_COMMAND_EXAMPLE!r}."
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise ConfigError(
            f"MAILBOX_PASSWORD_COMMAND did not finish within {PASSWORD_COMMAND_TIMEOUT:.0f} s "
            "(is it waiting for input?); it must print the password without asking, such as "
            f"{PASSWORD_COMMAND_EXAMPLE!r} with an unlocked password store."
        ) from exc
    if done.returncode != 0:
        raise ConfigError(
            f"MAILBOX_PASSWORD_COMMAND exited with status {done.returncode}; run it by hand to "
            f"see why (it should print the password, as {PASSWORD_COMMAND_EXAMPLE!r} does)."
        )
    password = done.stdout.rstrip("\r\n")
    if not password:
        raise ConfigError(
            "MAILBOX_PASSWORD_COMMAND printed nothing; it must print the password, as "
            f"{PASSWORD_COMMAND_EXAMPLE!r} does."
        )
    return password


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Reader:
    """Typed access to the environment with one-sentence errors.

    Every error names the variable, what it expects with an example of a right
    value, and the value it got.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self.asked: set[str] = set()  # every variable name read: the known settings

    def _raw(self, name: str) -> str | None:
        self.asked.add(name)
        value = self._env.get(name)
        return value.strip() if value is not None and value.strip() else None

    def secret(self, name: str) -> str | None:
        """The value exactly as set (never stripped, never quoted in an error)."""
        self.asked.add(name)
        return self._env.get(name) or None

    def _parse(
        self, name: str, default: T, parse: Callable[[str], T], expects: str, example: object
    ) -> T:
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            return parse(raw)
        except (ValueError, TypeError, KeyError) as exc:
            raise ConfigError(
                f"{name} must be {expects}, such as {example}; it is {raw!r}."
            ) from exc

    def text(self, name: str, default: str | None, *, example: str) -> str | None:
        raw = self._raw(name)
        if raw is not None and any(c in raw for c in "\r\n\x00"):
            raise ConfigError(
                f"{name} must be a single line of text, such as {example}; it is {raw!r}."
            )
        return raw if raw is not None else default

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        def parse(raw: str) -> int:
            value = int(raw)
            if not low <= value <= high:
                raise ValueError
            return value

        return self._parse(name, default, parse, f"a whole number from {low} to {high}", default)

    def seconds(self, name: str, default: float, *, allow_zero: bool = False) -> float:
        def parse(raw: str) -> float:
            value = float(raw)
            if value < 0 or (value == 0 and not allow_zero) or value != value:
                raise ValueError
            return value

        expects = "a number of seconds" + (" (0 turns it off)" if allow_zero else " above 0")
        return self._parse(name, default, parse, expects, f"{default:g}")

    def flag(self, name: str, default: bool) -> bool:
        truth = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
        return self._parse(
            name, default, lambda raw: truth[raw.lower()], "1 (on) or 0 (off)", int(not default)
        )

    def choice(self, name: str, default: str, options: tuple[str, ...], expects: str = "") -> str:
        def parse(raw: str) -> str:
            if raw.lower() not in options:
                raise ValueError
            return raw.lower()

        expects = expects or "one of " + ", ".join(options)
        return self._parse(name, default, parse, expects, default)

    def host(self, name: str, default: str) -> str:
        def parse(raw: str) -> str:
            if any(c in raw for c in " /:\r\n\x00") and not raw.startswith("["):
                raise ValueError
            return raw

        return self._parse(name, default, parse, "a host name without port or scheme", default)

    def url(self, name: str, default: str, *, allow_plaintext: bool = False) -> str:
        def parse(raw: str) -> str:
            parsed = urlparse(raw)
            if parsed.scheme not in ("https", "http") or not parsed.hostname:
                raise ValueError
            return raw

        url = self._parse(name, default, parse, "an https:// URL", default)
        host = urlparse(url).hostname or ""
        if urlparse(url).scheme == "http" and not (allow_plaintext and _is_loopback(host)):
            # The password would cross the network readable by anyone on the way.
            raise ConfigError(
                f"{name} must be an https:// URL such as {default}; plain http is "
                "allowed only to this computer (localhost) and only with MAILBOX_ALLOW_PLAINTEXT=1."
            )
        return url

    def send_allow(self, name: str) -> tuple[str, ...]:
        """Comma-separated addresses or domains, lower-cased."""

        def parse(raw: str) -> tuple[str, ...]:
            entries = tuple(e.strip().lower().removeprefix("@") for e in raw.split(","))
            for entry in entries:
                domain = entry.rpartition("@")[2]
                if not domain or "." not in domain or any(c in entry for c in " <>\r\n\x00,;"):
                    raise ValueError
            return entries

        return self._parse(
            name,
            (),
            parse,
            "addresses or domains separated by commas",
            "'ben@example.org, example.com'",
        )

    def families(self, name: str) -> tuple[str, ...]:
        """Tool families separated by commas, each named once; default: all of them."""

        def parse(raw: str) -> tuple[str, ...]:
            chosen = [entry.strip().lower() for entry in raw.split(",")]
            if any(entry not in TOOL_FAMILIES for entry in chosen):
                raise ValueError
            return tuple(f for f in TOOL_FAMILIES if f in chosen)

        return self._parse(
            name,
            TOOL_FAMILIES,
            parse,
            "tool families separated by commas, from " + ", ".join(TOOL_FAMILIES),
            "'mail,calendar'",
        )

    def timezone(self, name: str) -> str | None:
        def parse(raw: str) -> str:
            try:
                zoneinfo.ZoneInfo(raw)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError from exc
            return raw

        return self._parse(name, None, parse, "an IANA time zone", "Europe/Berlin")
