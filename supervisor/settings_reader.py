"""Typed reading of MAILBOX_* variables, each error one sentence naming the variable.

Every error says what the variable expects, with an example of a right value,
and the value it got. Every name read is remembered: together they are the
settings there are, which is how a typo in a variable name is caught.
"""

from __future__ import annotations

import ipaddress
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Protocol, TypedDict, TypeVar
from urllib.parse import urlparse

from protocol.errors import ConfigError
from protocol.settings import PoolSettings

T = TypeVar("T")

# The families of tools MAILBOX_TOOLS chooses from (a family not built yet has no tools).
TOOL_FAMILIES = ("mail", "calendar", "contacts", "filters", "tasks")


class Server(TypedDict):
    """Where one protocol's worker connects, with how many connections and how often."""

    host: str
    port: int
    pool: PoolSettings
    rate_limit: int


class ServerDefaults(Protocol):
    """A family's section with its defaults: what ``SettingsReader.server`` falls back to."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def pool(self) -> PoolSettings: ...

    @property
    def rate_limit(self) -> int: ...


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SettingsReader:
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

    def pool(self, protocol: str, defaults: PoolSettings, *, warm: bool = False) -> PoolSettings:
        """One protocol's pool: its own MAILBOX_<PROTOCOL>_POOL_MAX, and the timeouts
        every pool shares. Only a ``warm`` pool (IMAP: it opens connections at start)
        has a MAILBOX_<PROTOCOL>_POOL_MIN; the others open one when a call needs it, so
        offering a minimum there would be a setting that does nothing."""
        shared = PoolSettings()
        low, high = f"MAILBOX_{protocol}_POOL_MIN", f"MAILBOX_{protocol}_POOL_MAX"
        pool = PoolSettings(
            min_size=self.integer(low, defaults.min_size, 0, 32) if warm else 0,
            max_size=self.integer(high, defaults.max_size, 1, 32),
            connect_timeout=self.seconds("MAILBOX_CONNECT_TIMEOUT", shared.connect_timeout),
            read_timeout=self.seconds("MAILBOX_READ_TIMEOUT", shared.read_timeout),
            idle_check_after=self.seconds("MAILBOX_IDLE_CHECK_AFTER", shared.idle_check_after),
            idle_close_after=self.seconds(
                "MAILBOX_IDLE_CLOSE_AFTER", min(shared.idle_close_after, defaults.idle_close_after)
            ),
            max_concurrency=self.integer("MAILBOX_MAX_CONCURRENCY", shared.max_concurrency, 1, 256),
        )
        if pool.min_size > pool.max_size:
            raise ConfigError(
                f"{low} must not be larger than {high} ({pool.max_size}), such as "
                f"{min(1, pool.max_size)}; it is {pool.min_size}."
            )
        return pool

    def rate_limit(self, protocol: str, default: int) -> int:
        """Requests a minute this protocol's worker may send (0: no limit)."""
        return self.integer(f"MAILBOX_RATE_LIMIT_{protocol}", default, 0, 1_000_000)

    def server(self, protocol: str, default: ServerDefaults, *, warm: bool = False) -> Server:
        """MAILBOX_<PROTOCOL>_HOST and _PORT, the pool and the rate limit of one protocol."""
        return Server(
            host=self.host(f"MAILBOX_{protocol}_HOST", default.host),
            port=self.integer(f"MAILBOX_{protocol}_PORT", default.port, 1, 65535),
            pool=self.pool(protocol, default.pool, warm=warm),
            rate_limit=self.rate_limit(protocol, default.rate_limit),
        )
