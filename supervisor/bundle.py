"""The MCP Bundle (.mcpb), Claude Desktop's one-click install: its manifest and its files.

``python -m supervisor.bundle DIR`` lays out in DIR what the official packer
(``npx @anthropic-ai/mcpb pack DIR``) turns into ``mailbox-mcp-server.mcpb``. The
bundle uses the packer's "uv" runtime: it carries our source and pyproject.toml, and
Claude Desktop installs Python and the dependencies with uv, on any platform. The
address and the app password are asked for at install; the password is marked
sensitive, so Claude Desktop keeps it in the system keychain.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from supervisor import __version__

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("protocol", "supervisor", "workers")
ENTRY_POINT = "server/main.py"
_ENTRY_SOURCE = '''"""Entry point of the MCP Bundle: the same server as the mailbox-mcp-server command."""

import sys

from supervisor.__main__ import main

sys.exit(main())
'''

# Each: (setting, user_config entry). Only what a mailbox.org user may want to change at
# install; everything else keeps its default (README, "Configuration").
USER_CONFIG: dict[str, tuple[str, dict[str, Any]]] = {
    "email": (
        "MAILBOX_EMAIL",
        {
            "type": "string",
            "title": "Email address",
            "description": "Your full address: the login name and the From address.",
            "required": True,
        },
    ),
    "password": (
        "MAILBOX_PASSWORD",
        {
            "type": "string",
            "title": "App password",
            "description": "An app password that allows mail and calendar (mailbox.org: "
            "Settings, Passwords). Kept in the system keychain.",
            "sensitive": True,
            "required": True,
        },
    ),
    "read_only": (
        "MAILBOX_READ_ONLY",
        {
            "type": "boolean",
            "title": "Read only",
            "description": "Offer only the tools that read: nothing can be sent, moved or deleted.",
            "default": False,
        },
    ),
    "send_allow": (
        "MAILBOX_SEND_ALLOW",
        {
            "type": "string",
            "title": "Allowed recipients",
            "description": "Addresses or domains mail may be sent to, comma-separated; "
            "empty allows anyone.",
            "default": "",
        },
    ),
    "timezone": (
        "MAILBOX_TIMEZONE",
        {
            "type": "string",
            "title": "Time zone",
            "description": "IANA zone for calendar times, e.g. Europe/Berlin; empty uses the "
            "computer's.",
            "default": "",
        },
    ),
    "imap_host": (
        "MAILBOX_IMAP_HOST",
        {
            "type": "string",
            "title": "IMAP server",
            "description": "Another provider's IMAP host (port 993).",
            "default": "imap.mailbox.org",
        },
    ),
    "smtp_host": (
        "MAILBOX_SMTP_HOST",
        {
            "type": "string",
            "title": "SMTP server",
            "description": "Another provider's SMTP host (port 465, TLS).",
            "default": "smtp.mailbox.org",
        },
    ),
    "caldav_url": (
        "MAILBOX_CALDAV_URL",
        {
            "type": "string",
            "title": "CalDAV address",
            "description": "Where calendar discovery starts for another provider.",
            "default": "https://dav.mailbox.org/",
        },
    ),
}


def manifest() -> dict[str, Any]:
    """The bundle's manifest.json (manifest version 0.4, the one with the uv runtime)."""
    return {
        "manifest_version": "0.4",
        "name": "mailbox-mcp-server",
        "display_name": "mailbox.org mail and calendar",
        "version": __version__,
        "description": "Read, search, file, answer and send your mailbox.org email, and read "
        "and plan your calendar (any IMAP, SMTP and CalDAV provider).",
        "author": {"name": "mailbox-mcp-server contributors"},
        "license": "MIT",
        "keywords": ["email", "imap", "smtp", "caldav", "calendar", "mailbox.org"],
        "server": {
            "type": "uv",
            "entry_point": ENTRY_POINT,
            "mcp_config": {
                "command": "uv",
                "args": ["run", "--directory", "${__dirname}", ENTRY_POINT],
                "env": {
                    variable: f"${{user_config.{key}}}"
                    for key, (variable, _entry) in USER_CONFIG.items()
                },
            },
        },
        "user_config": {key: entry for key, (_variable, entry) in USER_CONFIG.items()},
        "compatibility": {
            "platforms": ["darwin", "win32", "linux"],
            "runtimes": {"python": ">=3.11"},
        },
        "tools_generated": True,
    }


def stage(target: Path) -> Path:
    """Lay out the bundle's files in the empty (or new) folder ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    if any(target.iterdir()):
        raise SystemExit(f"{target} is not empty; give a new folder for the bundle.")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, target / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in PACKAGES:
        shutil.copytree(REPO / package, target / package, ignore=ignore)
    entry = target / ENTRY_POINT
    entry.parent.mkdir()
    entry.write_text(_ENTRY_SOURCE)
    (target / "manifest.json").write_text(json.dumps(manifest(), indent=2) + "\n")
    return target


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m supervisor.bundle NEW_FOLDER\n")
        return 2
    folder = stage(Path(argv[0]))
    # A command line tool, but like every part of the server it keeps stdout for MCP.
    sys.stderr.write(
        f"Bundle files are in {folder}; pack them with: npx @anthropic-ai/mcpb pack {folder}\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
