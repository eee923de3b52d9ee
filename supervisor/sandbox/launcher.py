"""The command with which Claude Desktop starts this installation again.

Run by ``uvx``, this Python lives in uv's cache (``~/.cache/uv/archive-v0/…``),
which uv may prune and ``uv cache clean`` deletes: a config pointing there breaks
one day. Then the entry is the ``uvx`` command itself, with where the package
came from. Otherwise it is the installed ``mailbox-mcp-server`` command, as the
README's Claude Desktop example has it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

DISTRIBUTION = "mailbox-mcp-server"
COMMAND = "mailbox-mcp-server"
# uv's cache buckets that hold the environments uvx runs tools in.
UV_CACHE_BUCKETS = ("archive-v0", "builds-v0")


def launcher(args: list[str]) -> dict[str, object]:
    """The ``command`` and ``args`` of a Claude Desktop entry running this installation."""
    return launcher_for(
        args,
        prefix=Path(sys.prefix),
        executable=Path(sys.executable),
        source=_direct_url(),
        uvx=_uvx(),
    )


def launcher_for(
    args: list[str],
    *,
    prefix: Path,
    executable: Path,
    source: dict[str, Any] | None,
    uvx: str | None,
) -> dict[str, object]:
    """``launcher`` for a given environment: its prefix and Python, the PEP 610
    ``direct_url.json`` it was installed from (None: from the package index) and
    the path of ``uvx``."""
    if in_uv_cache(prefix):
        return {"command": uvx or "uvx", "args": ["--from", requirement(source), COMMAND, *args]}
    installed = executable.parent / (f"{COMMAND}.exe" if os.name == "nt" else COMMAND)
    if installed.exists():
        return {"command": str(installed), "args": args}
    # Run from a checkout that was never installed: the same Python, by module.
    return {"command": str(executable), "args": ["-m", "supervisor", *args]}


def in_uv_cache(prefix: Path) -> bool:
    """Whether the environment at ``prefix`` is one of uv's throwaway ones."""
    if any(part in UV_CACHE_BUCKETS for part in prefix.parts):
        return True
    cache = os.environ.get("UV_CACHE_DIR")
    return cache is not None and prefix.is_relative_to(Path(cache))


def requirement(source: dict[str, Any] | None) -> str:
    """What ``uvx --from`` installs again: this package with the sandbox extra, from
    the index or from the URL (git, a folder, an archive) it came from."""
    wanted = f"{DISTRIBUTION}[sandbox]"
    url = (source or {}).get("url")
    if not isinstance(url, str):
        return wanted
    vcs = source.get("vcs_info") if source else None
    if isinstance(vcs, dict) and isinstance(vcs.get("vcs"), str):
        url = f"{vcs['vcs']}+{url}"
        if isinstance(vcs.get("requested_revision"), str):
            url += f"@{vcs['requested_revision']}"
    return f"{wanted} @ {url}"


def _direct_url() -> dict[str, Any] | None:
    try:
        text = metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
        found = json.loads(text) if text else None
    except (metadata.PackageNotFoundError, ValueError, OSError):
        return None
    return found if isinstance(found, dict) else None


def _uvx() -> str | None:
    """The full path of uvx (Claude Desktop does not read the shell's PATH)."""
    found = shutil.which("uvx")
    if found:
        return found
    uv = os.environ.get("UV")  # set by uv for the processes it starts
    if uv:
        beside = Path(uv).with_name("uvx.exe" if os.name == "nt" else "uvx")
        if beside.exists():
            return str(beside)
    return None
