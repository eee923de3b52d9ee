"""The command the sandbox prints for Claude Desktop: one that still works tomorrow."""

from __future__ import annotations

from pathlib import Path

from supervisor.sandbox.launcher import launcher_for

UVX = "/home/anna/.local/bin/uvx"
UV_CACHE = Path("/home/anna/.cache/uv/archive-v0/pC3X8a1b2c")


def test_run_by_uvx_it_is_the_uvx_command_not_the_python_in_uvs_cache() -> None:
    entry = launcher_for(
        ["--sandbox"],
        prefix=UV_CACHE,
        executable=UV_CACHE / "bin" / "python",
        source=None,
        uvx=UVX,
    )
    assert entry == {
        "command": UVX,
        "args": ["--from", "mailbox-mcp-server[sandbox]", "mailbox-mcp-server", "--sandbox"],
    }


def test_run_by_uvx_from_git_it_installs_from_the_same_repository_and_revision() -> None:
    source = {
        "url": "https://github.com/OWNER/mailbox-mcp-server",
        "vcs_info": {"vcs": "git", "requested_revision": "main", "commit_id": "0" * 40},
    }
    entry = launcher_for(
        ["--sandbox"], prefix=UV_CACHE, executable=UV_CACHE / "bin/python", source=source, uvx=None
    )
    assert entry["command"] == "uvx"  # not found: the README says to put in its full path
    assert entry["args"] == [
        "--from",
        "mailbox-mcp-server[sandbox] @ git+https://github.com/OWNER/mailbox-mcp-server@main",
        "mailbox-mcp-server",
        "--sandbox",
    ]


def test_run_by_uvx_from_a_folder_it_installs_from_that_folder() -> None:
    source = {"url": "file:///home/anna/mailbox-mcp-server", "dir_info": {}}
    entry = launcher_for(
        ["--sandbox"], prefix=UV_CACHE, executable=UV_CACHE / "bin/python", source=source, uvx=UVX
    )
    assert entry["args"] == [
        "--from",
        "mailbox-mcp-server[sandbox] @ file:///home/anna/mailbox-mcp-server",
        "mailbox-mcp-server",
        "--sandbox",
    ]


def test_installed_it_is_the_mailbox_mcp_server_command_beside_the_python(tmp_path: Path) -> None:
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "mailbox-mcp-server").touch()
    entry = launcher_for(
        ["--sandbox"],
        prefix=tmp_path / "venv",
        executable=bin_dir / "python",
        source={"url": "file:///somewhere", "dir_info": {"editable": True}},
        uvx=UVX,
    )
    assert entry == {"command": str(bin_dir / "mailbox-mcp-server"), "args": ["--sandbox"]}


def test_from_a_checkout_that_was_never_installed_it_is_this_python_by_module(
    tmp_path: Path,
) -> None:
    entry = launcher_for(
        ["--sandbox"],
        prefix=Path("/usr"),
        executable=tmp_path / "python3",
        source=None,
        uvx=None,
    )
    assert entry == {
        "command": str(tmp_path / "python3"),
        "args": ["-m", "supervisor", "--sandbox"],
    }
