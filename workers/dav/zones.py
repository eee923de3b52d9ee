"""The user's time zone: MAILBOX_TIMEZONE, else the system's own IANA zone, else UTC."""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def user_zone(configured: str | None) -> ZoneInfo:
    for candidate in (
        configured,
        os.environ.get("TZ", "").lstrip(":"),
        _from_localtime(),
        _from_file(),
    ):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _from_localtime() -> str | None:
    """/etc/localtime links into a zoneinfo tree on Linux and macOS."""
    try:
        target = str(Path("/etc/localtime").resolve())
    except OSError:
        return None
    marker = "zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else None


def _from_file() -> str | None:
    try:
        return Path("/etc/timezone").read_text().strip() or None
    except OSError:
        return None
