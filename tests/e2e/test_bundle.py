"""The MCP Bundle (.mcpb) for Claude Desktop, built and checked by the official packer from
the npm registry, then unpacked and started exactly as its manifest tells Claude Desktop to."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from supervisor.bundle import stage
from supervisor.config import load_settings
from tests.ci import unavailable
from tests.mcp_client import mcp_session, structured

pytestmark = pytest.mark.anyio

PACKER = "@anthropic-ai/mcpb@2"
PACKER_TIMEOUT = 300.0


def packer(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    npx = shutil.which("npx")
    if npx is None:
        unavailable("npx (Node.js) is not installed, so the official bundle packer cannot run")
    done = subprocess.run(
        [npx, "-y", PACKER, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=PACKER_TIMEOUT,
    )
    if done.returncode != 0 and "ENOTFOUND" in done.stderr + done.stdout:
        unavailable("the npm registry cannot be reached for the bundle packer")
    return done


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle as Claude Desktop unpacks it, after the packer's own validation."""
    root = tmp_path_factory.mktemp("bundle")
    files = stage(root / "files")
    validated = packer("validate", str(files / "manifest.json"), cwd=root)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    packed = packer("pack", str(files), str(root / "mailbox-mcp-server.mcpb"), cwd=root)
    assert packed.returncode == 0, packed.stdout + packed.stderr
    with zipfile.ZipFile(root / "mailbox-mcp-server.mcpb") as archive:
        archive.extractall(root / "installed")
    return root / "installed"


def manifest_of(folder: Path) -> dict[str, Any]:
    return dict(json.loads((folder / "manifest.json").read_text()))


def test_the_bundle_asks_for_the_address_and_keeps_the_password_in_the_keychain(
    unpacked: Path,
) -> None:
    config = manifest_of(unpacked)["user_config"]
    assert config["email"]["required"] is True and config["email"]["type"] == "string"
    assert config["password"]["required"] is True and config["password"]["sensitive"] is True
    assert all(not entry.get("sensitive") for key, entry in config.items() if key != "password")


def test_every_variable_the_bundle_sets_is_a_setting_with_its_default_valid(
    unpacked: Path,
) -> None:
    manifest = manifest_of(unpacked)
    config = manifest["user_config"]

    def default(reference: str) -> str:
        value = config[reference.removeprefix("${user_config.").removesuffix("}")].get("default")
        return str(value).lower() if isinstance(value, bool) else str(value or "")

    env = {var: default(ref) for var, ref in manifest["server"]["mcp_config"]["env"].items()}
    env |= {"MAILBOX_EMAIL": "you@example.org", "MAILBOX_PASSWORD": "x"}
    settings = load_settings(env)
    assert settings.email == "you@example.org" and settings.read_only is False


async def test_the_unpacked_bundle_starts_as_its_manifest_says_and_reads_the_folders(
    unpacked: Path, server_env: dict[str, str], tmp_path: Path
) -> None:
    uv = shutil.which("uv", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    if uv is None:
        unavailable("uv is not installed (the test dependency group has it)")
    manifest = manifest_of(unpacked)
    given = {
        "email": server_env["MAILBOX_EMAIL"],
        "password": server_env["MAILBOX_PASSWORD"],
        "read_only": "false",
        "send_allow": "",
        "timezone": server_env["MAILBOX_TIMEZONE"],
        "imap_host": server_env["MAILBOX_IMAP_HOST"],
        "smtp_host": server_env["MAILBOX_SMTP_HOST"],
        "caldav_url": server_env["MAILBOX_CALDAV_URL"],
    }
    assert set(given) == set(manifest["user_config"])

    def substituted(text: str) -> str:
        text = text.replace("${__dirname}", str(unpacked))
        for key, value in given.items():
            text = text.replace(f"${{user_config.{key}}}", value)
        return text

    config = manifest["server"]["mcp_config"]
    command = (uv if config["command"] == "uv" else config["command"], *config["args"])
    # The test servers' ports and CA are not install-time settings: they come on top.
    env = {**server_env, **{k: substituted(v) for k, v in config["env"].items()}}
    async with mcp_session(
        env, tmp_path / "err.log", command=tuple(substituted(a) for a in command), cwd=tmp_path
    ) as session:
        tools = (await session.list_tools()).tools
        folders = structured(await session.call_tool("get_folders", {}))
    assert {"send_email", "get_calendar_events"} <= {tool.name for tool in tools}
    assert "INBOX" in [folder["name"] for folder in folders["folders"]]
