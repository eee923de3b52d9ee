"""The sandbox's private folders, and those a killed sandbox left behind.

Each server's folder holds plaintext passwords and TLS keys. A sandbox stopped
by SIGKILL cannot delete its own, so every folder records the process that made
it, and the next sandbox to start removes those whose process has ended.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from protocol.processes import process_alive

PREFIX = "mailbox-mcp-"
OWNER_FILE = "owner.pid"
ABANDONED_AFTER = 24 * 3600
"""A folder whose owner cannot be checked (no owner file, Windows) counts as left
behind after a day untouched."""


def private_dir(kind: str) -> Path:
    """A new folder in the temporary directory, readable by this user only, with its owner."""
    root = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-"))
    (root / OWNER_FILE).write_text(str(os.getpid()))
    return root


def remove_leftovers(temp_dir: Path | None = None) -> list[Path]:
    """Delete the sandbox folders of processes that ended; returns those removed."""
    removed: list[Path] = []
    for path in Path(temp_dir or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            if path.is_symlink() or not path.is_dir() or not _left_behind(path):
                continue
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _left_behind(path: Path) -> bool:
    try:
        owner = int((path / OWNER_FILE).read_text().strip())
    except (OSError, ValueError):
        return time.time() - path.stat().st_mtime > ABANDONED_AFTER
    if owner == os.getpid():
        return False
    return not process_alive(owner)
