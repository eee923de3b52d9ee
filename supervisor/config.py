"""Settings from MAILBOX_* environment variables (DESIGN.md section 6).

Every value is checked at start; a wrong one gets one sentence naming the
variable and what it expects. The password itself is fetched separately
(``fetch_password``) because a password command may be slow.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import shlex
import ssl
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from protocol.errors import ConfigError
from supervisor.families import WORKER_FAMILIES
from supervisor.settings_reader import TOOL_FAMILIES, SettingsReader

__all__ = [
    "TOOL_FAMILIES",
    "Settings",
    "fetch_password",
    "load_settings",
    "resolve_password",
    "setting_names",
]

PASSWORD_COMMAND_TIMEOUT = 30.0
PASSWORD_COMMAND_EXAMPLE = "pass show mailbox.org"
CA_FILE_EXAMPLE = "/etc/ssl/certs/my-company-ca.pem"


def default_sections() -> dict[str, Any]:
    """Every worker family's settings slice with nothing set."""
    return {family.name: family.read(SettingsReader({})) for family in WORKER_FAMILIES}


@dataclass(frozen=True)
class Settings:
    email: str
    password: str | None = field(repr=False)
    password_command: str | None = field(repr=False)
    # Each worker family's slice (supervisor.worker_family), by the family's name.
    sections: Mapping[str, Any] = field(default_factory=default_sections)
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

    def describe_servers(self) -> str:
        """The servers this configuration talks to, for --diagnose's first line."""
        servers = ", ".join(f.describe(f.section(self)) for f in WORKER_FAMILIES if f.wanted(self))
        chosen = (
            ""
            if self.tool_families == TOOL_FAMILIES
            else f" (tools: {', '.join(self.tool_families)})"
        )
        return f"{self.email} on {servers}{chosen}"


_D = Settings  # the defaults, written once: on the fields above


def load_settings(env: Mapping[str, str] = os.environ) -> Settings:
    """Read and check every MAILBOX_* variable; raises ConfigError with one sentence."""
    reader = SettingsReader(env)
    settings = _read_settings(reader)
    return dataclasses.replace(settings, warnings=unknown_variables(env, reader.asked))


def setting_names() -> frozenset[str]:
    """Every variable ``load_settings`` reads: all the settings there are."""
    reader = SettingsReader({"MAILBOX_EMAIL": "you@mailbox.org", "MAILBOX_PASSWORD": "-"})
    _read_settings(reader)
    return frozenset(reader.asked)


def _read_settings(reader: SettingsReader) -> Settings:
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
    if ca_file is not None and not _holds_certificates(ca_file):
        raise ConfigError(
            f"MAILBOX_CA_FILE must name a readable PEM file, such as {CA_FILE_EXAMPLE}; "
            f"{ca_file} is not one."
        )
    settings = Settings(
        email=email,
        password=password,
        password_command=command,
        sections={family.name: family.read(reader) for family in WORKER_FAMILIES},
        ca_file=ca_file,
        timezone=reader.timezone("MAILBOX_TIMEZONE"),
        read_only=reader.flag("MAILBOX_READ_ONLY", _D.read_only),
        tool_families=reader.families("MAILBOX_TOOLS"),
        attachment_dir=reader.text("MAILBOX_ATTACHMENT_DIR", None, example="~/Documents/to-send"),
        download_dir=reader.text("MAILBOX_DOWNLOAD_DIR", None, example="~/Downloads/mail")
        or _D.download_dir,
        cache_email_ttl=reader.seconds(
            "MAILBOX_CACHE_EMAIL_TTL", _D.cache_email_ttl, allow_zero=True
        ),
        cache_calendar_ttl=reader.seconds(
            "MAILBOX_CACHE_CALENDAR_TTL", _D.cache_calendar_ttl, allow_zero=True
        ),
        cache_max_entries=reader.integer(
            "MAILBOX_CACHE_MAX_ENTRIES", _D.cache_max_entries, 0, 1_000_000
        ),
        cache_max_bytes=reader.integer("MAILBOX_CACHE_MAX_BYTES", _D.cache_max_bytes, 0, 2**40),
        call_timeout=reader.seconds("MAILBOX_CALL_TIMEOUT", _D.call_timeout),
        log_level=reader.choice(
            "MAILBOX_LOG_LEVEL", _D.log_level, ("debug", "info", "warning", "error")
        ),
        log_format=reader.choice("MAILBOX_LOG_FORMAT", _D.log_format, ("console", "json")),
        max_attachment_bytes=reader.integer(
            "MAILBOX_MAX_ATTACHMENT_BYTES", _D.max_attachment_bytes, 1, 2**34
        ),
        send_allow=reader.send_allow("MAILBOX_SEND_ALLOW"),
        send_limit_per_hour=reader.integer(
            "MAILBOX_SEND_LIMIT_PER_HOUR", _D.send_limit_per_hour, 0, 100_000
        ),
        allow_permanent_delete=reader.flag(
            "MAILBOX_ALLOW_PERMANENT_DELETE", _D.allow_permanent_delete
        ),
        allow_series_delete=reader.flag("MAILBOX_ALLOW_SERIES_DELETE", _D.allow_series_delete),
        heartbeat_interval=reader.seconds("MAILBOX_HEARTBEAT_INTERVAL", _D.heartbeat_interval),
        heartbeat_timeout=reader.seconds("MAILBOX_HEARTBEAT_TIMEOUT", _D.heartbeat_timeout),
        worker_max_rss_mb=reader.integer(
            "MAILBOX_WORKER_MAX_RSS_MB", _D.worker_max_rss_mb, 0, 1_000_000
        ),
    )
    return settings


def _holds_certificates(path: str) -> bool:
    """Whether ``path`` is a PEM file with at least one CA certificate in it: checked at
    start, so a wrong file is named here rather than in each protocol's TLS words."""
    if not Path(path).is_file():
        return False
    try:
        ssl.create_default_context(cafile=path)
    except (ssl.SSLError, OSError, ValueError):
        return False
    return True


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
    """``fetch_password`` for a caller without an event loop (a script, a test).

    Raises ConfigError.
    """
    return anyio.run(fetch_password, settings)


async def fetch_password(settings: Settings) -> str:
    """The password, from MAILBOX_PASSWORD or by running MAILBOX_PASSWORD_COMMAND.

    Only the first line the command prints is the password: ``pass show`` prints
    ``url:`` and ``login:`` lines after it. The command runs without a shell and
    without input, for PASSWORD_COMMAND_TIMEOUT seconds at most; a cancelled caller
    kills it at once (and reaps it), so it never outlives the server. Its output never
    appears in an error. A password with a line break or NUL in it is refused: it would
    break the line-based IMAP and SMTP logins.

    Raises ConfigError.
    """
    if settings.password is not None:
        if _breaks_a_line(settings.password):
            raise ConfigError(
                "MAILBOX_PASSWORD holds a line break or NUL character; set it to the app "
                "password alone, on one line."
            )
        return settings.password
    assert settings.password_command is not None
    argv = _password_argv(settings.password_command)
    try:
        with anyio.fail_after(PASSWORD_COMMAND_TIMEOUT):
            done = await anyio.run_process(argv, stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError as exc:
        raise ConfigError(
            f"MAILBOX_PASSWORD_COMMAND: the program {argv[0]} was not found; name a program "
            f"that is installed, with its full path if needed, such as {PASSWORD_COMMAND_EXAMPLE!r}."
        ) from exc
    except TimeoutError as exc:
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
    return _first_line(done.stdout)


def _password_argv(command: str) -> list[str]:
    try:
        argv = shlex.split(command)
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
    return argv


def _first_line(output: bytes) -> str:
    """The password in what the command printed: its first line, without the line end."""
    try:
        text = output.decode()
    except UnicodeDecodeError:
        raise ConfigError(
            "MAILBOX_PASSWORD_COMMAND printed something that is not UTF-8 text; it must print "
            f"the password, as {PASSWORD_COMMAND_EXAMPLE!r} does."
        ) from None  # not `from exc`: its message shows a byte of the output
    if not text.rstrip("\r\n"):
        raise ConfigError(
            "MAILBOX_PASSWORD_COMMAND printed nothing; it must print the password, as "
            f"{PASSWORD_COMMAND_EXAMPLE!r} does."
        )
    password = text.split("\n", 1)[0].removesuffix("\r")
    if not password:
        raise ConfigError(
            "MAILBOX_PASSWORD_COMMAND printed an empty first line; the password must be on "
            f"the first line, as {PASSWORD_COMMAND_EXAMPLE!r} prints it."
        )
    if _breaks_a_line(password):
        raise ConfigError(
            "MAILBOX_PASSWORD_COMMAND printed a carriage return or NUL character in the "
            "password's line; it must print the password alone on its first line, as "
            f"{PASSWORD_COMMAND_EXAMPLE!r} does."
        )
    return password


def _breaks_a_line(password: str) -> bool:
    return any(c in password for c in "\r\n\0")
