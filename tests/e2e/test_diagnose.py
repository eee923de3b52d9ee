"""``python -m supervisor --diagnose`` as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.leak_watch import WATCH
from tests.mcp_client import REPO


def diagnose(env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    WATCH.secret(env.get("MAILBOX_PASSWORD"))
    done = subprocess.run(
        [sys.executable, "-m", "supervisor", "--diagnose", *extra],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    WATCH.output("--diagnose output", done.stdout + done.stderr)
    return done


def test_diagnose_passes_with_the_right_password(server_env: dict[str, str]) -> None:
    done = diagnose(server_env)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[1] for line in lines[:-1]] == [
        "config",
        "imap",
        "imap",
        "imap",
        "imap",
        "imap",
        "smtp",
        "smtp",
        "caldav",
        "caldav",
        "imap",
        "smtp",
        "dav",
    ]
    assert all(line.startswith("ok") for line in lines[:-1])
    processes = [line for line in lines if " process " in line]
    assert len(processes) == 3
    for line in processes:
        assert ": ready, pid " in line and "restarts 0" in line and "memory " in line
    assert "6 folders" in done.stdout and "TLSv1" in done.stdout
    assert lines[-1].startswith("Ready")


def test_diagnose_fails_with_a_wrong_password_and_does_not_print_it(
    server_env: dict[str, str],
) -> None:
    server_env["MAILBOX_PASSWORD"] = "Not-The-Password-123"
    done = diagnose(server_env)
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == (
        f"Not ready: The IMAP server localhost refused the login for {server_env['MAILBOX_EMAIL']}; "
        "check MAILBOX_EMAIL and the app password in MAILBOX_PASSWORD (or MAILBOX_PASSWORD_COMMAND)."
    )
    assert "Not-The-Password-123" not in done.stdout + done.stderr


def test_diagnose_reports_an_unreachable_server(server_env: dict[str, str]) -> None:
    server_env["MAILBOX_IMAP_PORT"] = "1"
    done = diagnose(server_env)
    assert done.returncode == 1
    assert "refused the connection" in done.stdout.splitlines()[-1]


def test_diagnose_reports_a_configuration_error(server_env: dict[str, str]) -> None:
    del server_env["MAILBOX_EMAIL"]
    done = diagnose(server_env)
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == (
        "Not ready: MAILBOX_EMAIL must be set to your full mail address, such as you@mailbox.org."
    )


def test_diagnose_json_is_machine_readable(server_env: dict[str, str]) -> None:
    done = diagnose(server_env, "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["ok"] is True
    assert {check["name"] for check in report["checks"]} >= {"config", "imap login", "imap folders"}
