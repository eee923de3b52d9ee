"""``python -m supervisor --diagnose`` as a user runs it, against the real test servers."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from protocol.diagnosis import CALDAV_CHECKS, IMAP_CHECKS, SMTP_CHECKS
from protocol.filters import SIEVE_CHECKS
from supervisor.sandbox.ports import free_port
from tests.mcp_client import REPO, run_server
from tests.server_env import Servers
from tests.servers.dav import DavServer
from tests.servers.smtp import SmtpServer

EVERY_CHECK = ["config", *IMAP_CHECKS, *SMTP_CHECKS, *CALDAV_CHECKS, *SIEVE_CHECKS]
PROCESSES = ["imap process", "smtp process", "dav process", "sieve process"]  # with --verbose
_LINE = re.compile(r"^(ok|WARN|FAIL|skip)\s+(\S+(?: \S+)*)\s{2,}(?:(\d+) ms)?\s*(.*)$")


@dataclass
class Line:
    status: str
    name: str
    detail: str
    advice: str = ""


@dataclass
class Report:
    returncode: int
    lines: dict[str, Line]
    order: list[str]
    verdict: str
    output: str


def diagnose(env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return run_server(env, "--diagnose", *extra)


def run(env: dict[str, str], *extra: str) -> Report:
    """The text report, taken apart: one Line per check, advice attached to its check."""
    done = diagnose(env, *extra)
    *body, verdict = done.stdout.splitlines()
    lines: dict[str, Line] = {}
    order: list[str] = []
    for text in body:
        match = _LINE.match(text)
        if match is None:
            assert text.strip().startswith("what to do: "), text
            lines[order[-1]].advice = text.strip().removeprefix("what to do: ")
            continue
        status, name, _, detail = match.groups()
        lines[name] = Line(status, name, detail)
        order.append(name)
    return Report(done.returncode, lines, order, verdict, done.stdout + done.stderr)


def first_failure(env: dict[str, str], check: str) -> tuple[Report, Line]:
    """Diagnose with ``env``: it exits 1, ``check`` failed, and the verdict names it first."""
    report = run(env)
    assert report.returncode == 1
    assert report.verdict.startswith(f"Not ready: {check} failed"), report.verdict
    failed = report.lines[check]
    assert failed.status == "FAIL"
    return report, failed


def run_json(env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    done = diagnose(env, "--json")
    return done.returncode, json.loads(done.stdout)


@dataclass
class Diagnosis:
    """--diagnose run once for a module's tests: its report, the environment it ran with,
    and what the SMTP server received meanwhile."""

    report: Report
    env: dict[str, str]
    delivered: list[Any]


@pytest.fixture(scope="module")
def good(servers: Servers, smtp: SmtpServer, tmp_path_factory: pytest.TempPathFactory) -> Diagnosis:
    """A good configuration (a new account on the test servers), diagnosed once."""
    env = servers.env(servers.new_account(), tmp_path_factory.mktemp("good"))
    before = len(smtp.received)
    report = run(env)
    return Diagnosis(report, env, smtp.received[before:])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and then never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


# -- a good configuration ------------------------------------------------------------------


def test_a_good_configuration_passes_every_check_in_order_and_exits_0(good: Diagnosis) -> None:
    report = good.report
    assert report.returncode == 0, report.output
    assert report.order == EVERY_CHECK
    assert {line.status for line in report.lines.values()} == {"ok"}
    assert re.fullmatch(
        rf"Ready: all {len(EVERY_CHECK)} checks passed in \d+\.\d s\. Add the server to "
        r"Claude Desktop\.",
        report.verdict,
    )


def test_verbose_adds_a_line_for_each_worker_process(server_env: dict[str, str]) -> None:
    report = run(server_env, "--verbose")
    assert report.returncode == 0, report.output
    assert report.order == EVERY_CHECK + PROCESSES
    assert report.lines["imap process"].detail.startswith("imap: ready, pid ")


@pytest.mark.parametrize("alone", ["--json", "--verbose"])
def test_an_option_of_diagnose_without_diagnose_is_refused_in_one_line(alone: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "supervisor", alone],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,  # were it ignored, the server would start and serve
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"mailbox-mcp-server: {alone} works only with --diagnose (usage: mailbox-mcp-server "
        "[--sandbox] [--diagnose [--json] [--verbose]] | --version)"
    ]


def test_a_good_configuration_names_the_sent_drafts_and_trash_folders(good: Diagnosis) -> None:
    lines = good.report.lines
    assert lines["imap folders"].detail == "6 folders: INBOX, Drafts, Sent, Archive, Junk, Trash"
    assert lines["imap sent folder"].detail == "Sent: copies of the mail you send are saved here"
    assert lines["imap drafts folder"].detail == "Drafts: drafts are saved here"
    assert lines["imap trash folder"].detail == "Trash: deleted mail is moved here"


def test_the_tls_checks_show_protocol_version_certificate_subject_and_expiry(
    good: Diagnosis,
) -> None:
    lines = good.report.lines
    for name in ("imap tls", "smtp tls", "caldav tls"):
        assert re.search(
            r"TLSv1\.[23], certificate for localhost from .+, valid until \d{4}-\d\d-\d\d$",
            lines[name].detail,
        ), lines[name]
    assert lines["smtp tls"].detail.startswith("implicit TLS, ")


def test_the_smtp_checks_log_in_without_sending_anything(good: Diagnosis) -> None:
    lines = good.report.lines
    assert lines["smtp ehlo"].detail.startswith("login by ")
    assert lines["smtp login"].detail == (
        f"logged in as {good.env['MAILBOX_EMAIL']}; nothing was sent"
    )
    assert good.delivered == []


def test_the_calendar_checks_find_the_home_and_count_the_calendars(good: Diagnosis) -> None:
    lines = good.report.lines
    assert lines["caldav discovery"].detail.startswith("calendar home https://localhost:")
    assert lines["caldav calendars"].detail == "1 calendar: Calendar"


def test_json_lists_every_check_with_its_status_advice_and_milliseconds(
    server_env: dict[str, str],
) -> None:
    returncode, report = run_json(server_env)
    assert returncode == 0 and report["ok"] is True and report["first_failure"] is None
    assert [check["name"] for check in report["checks"]] == EVERY_CHECK
    for check in report["checks"]:
        assert set(check) == {"name", "status", "ok", "detail", "advice", "ms"}
        assert check["status"] == "ok" and isinstance(check["ms"], float)
    assert 0 < report["ms"] < 60_000
    assert report["verdict"].startswith(f"Ready: all {len(EVERY_CHECK)} checks passed")


# -- failures: what went wrong, what to do, what could not be checked ---------------------------


def test_a_closed_imap_port_fails_the_connect_check_with_port_advice(
    server_env: dict[str, str],
) -> None:
    port = free_port()
    server_env["MAILBOX_IMAP_PORT"] = str(port)
    report, failed = first_failure(server_env, "imap connect")
    assert failed.detail == f"localhost:{port} refused the connection"
    assert failed.advice.startswith("Check MAILBOX_IMAP_PORT (993, IMAP over TLS)")
    assert report.verdict.startswith(
        f"Not ready: imap connect failed: localhost:{port} refused the connection. "
        "What to do: Check MAILBOX_IMAP_PORT"
    )


def test_checks_after_a_failure_are_skipped_on_one_line_and_the_other_servers_still_checked(
    server_env: dict[str, str],
) -> None:
    server_env["MAILBOX_IMAP_PORT"] = str(free_port())
    report = run(server_env)
    after = IMAP_CHECKS[IMAP_CHECKS.index("imap connect") + 1 :]
    assert report.order[: IMAP_CHECKS.index("imap connect") + 3] == [
        "config",
        *IMAP_CHECKS[: IMAP_CHECKS.index("imap connect") + 1],
        f"{len(after)} checks",
    ]
    skipped = report.lines[f"{len(after)} checks"]
    assert (skipped.status, skipped.detail) == (
        "skip",
        "not checked, because imap connect failed (imap tls to imap trash folder)",
    )
    lines = report.lines
    assert {lines[name].status for name in (*SMTP_CHECKS, *CALDAV_CHECKS)} == {"ok"}


def test_json_and_verbose_list_each_skipped_check(server_env: dict[str, str]) -> None:
    server_env["MAILBOX_IMAP_PORT"] = str(free_port())
    after = IMAP_CHECKS[IMAP_CHECKS.index("imap connect") + 1 :]
    _, report = run_json(server_env)
    statuses = {check["name"]: check["status"] for check in report["checks"]}
    assert {statuses[name] for name in after} == {"skipped"}
    lines = run(server_env, "--verbose").lines
    assert {lines[name].status for name in after} == {"skip"}
    assert lines["imap tls"].detail == "not checked, because imap connect failed"


def test_a_wrong_password_fails_the_login_with_app_password_advice(
    server_env: dict[str, str],
) -> None:
    server_env["MAILBOX_PASSWORD"] = "Not-The-Password-123"
    report, login = first_failure(server_env, "imap login")
    assert login.detail.startswith(f"localhost refused the login for {server_env['MAILBOX_EMAIL']}")
    assert login.advice.startswith("Put an app password in MAILBOX_PASSWORD")
    assert "MAILBOX_EMAIL" in login.advice
    assert report.verdict.startswith("Not ready: imap login failed: localhost refused the login")
    assert "What to do: Put an app password in MAILBOX_PASSWORD" in report.verdict
    assert "Not-The-Password-123" not in report.output


def test_an_unknown_smtp_host_fails_the_name_lookup_with_spelling_advice(
    server_env: dict[str, str],
) -> None:
    server_env["MAILBOX_SMTP_HOST"] = "no-such-host.invalid"
    _, lookup = first_failure(server_env, "smtp dns")
    assert lookup.detail.startswith("the name no-such-host.invalid could not be found")
    assert lookup.advice.startswith("Check the spelling of MAILBOX_SMTP_HOST")


def test_an_untrusted_certificate_fails_the_tls_check_with_ca_file_advice(
    server_env: dict[str, str],
) -> None:
    del server_env["MAILBOX_CA_FILE"]
    report, tls = first_failure(server_env, "imap tls")
    assert tls.detail.startswith(f"the certificate of localhost:{server_env['MAILBOX_IMAP_PORT']}")
    assert "could not be verified" in tls.detail
    assert "set MAILBOX_CA_FILE" in tls.advice
    assert {report.lines[n].status for n in ("imap tls", "smtp tls", "caldav tls")} == {"FAIL"}


def test_tls_on_the_starttls_port_says_to_choose_starttls(
    server_env: dict[str, str], smtp: SmtpServer
) -> None:
    server_env["MAILBOX_SMTP_PORT"] = str(smtp.starttls_port)
    failed = run(server_env).lines["smtp tls"]
    assert failed.status == "FAIL"
    assert "does not start TLS on this port" in failed.detail
    assert "set MAILBOX_SMTP_SECURITY=starttls" in failed.advice


def test_a_server_without_starttls_is_refused_with_advice(
    server_env: dict[str, str], smtp: SmtpServer
) -> None:
    server_env["MAILBOX_SMTP_PORT"] = str(smtp.plaintext_port)
    server_env["MAILBOX_SMTP_SECURITY"] = "starttls"
    failed = run(server_env).lines["smtp tls"]
    assert failed.status == "FAIL"
    assert "does not offer STARTTLS" in failed.detail
    assert "MAILBOX_SMTP_SECURITY=tls" in failed.advice


def test_a_configuration_error_fails_config_and_skips_every_server_check_on_one_line(
    server_env: dict[str, str],
) -> None:
    del server_env["MAILBOX_EMAIL"]
    report = run(server_env)
    assert report.returncode == 1
    server_checks = f"{len(EVERY_CHECK) - 1} checks"
    assert report.order == ["config", server_checks]
    assert report.lines["config"].status == "FAIL"
    skipped = report.lines[server_checks]
    assert (skipped.status, skipped.detail) == (
        "skip",
        "not checked, because config failed (imap dns to sieve scripts)",
    )
    assert report.verdict == (
        "Not ready: config failed: MAILBOX_EMAIL must be set to your full mail address, such "
        'as you@mailbox.org. What to do: Correct the variable in the "env" section of '
        "claude_desktop_config.json (or in your shell), then run --diagnose again."
    )


def test_the_three_servers_are_checked_at_the_same_time(
    server_env: dict[str, str], silent_port: int
) -> None:
    # Each TLS handshake waits out the whole connect timeout: one after the other would
    # take three times as long as all at once. 6 s each leaves a loaded machine 6 s for
    # everything else (starting the workers, the other checks) before the bound is hit.
    server_env["MAILBOX_CONNECT_TIMEOUT"] = "6"
    server_env["MAILBOX_IMAP_PORT"] = str(silent_port)
    server_env["MAILBOX_SMTP_PORT"] = str(silent_port)
    server_env["MAILBOX_CALDAV_URL"] = f"https://localhost:{silent_port}/"
    returncode, report = run_json(server_env)
    checks = {check["name"]: check for check in report["checks"]}
    waits = [checks[name] for name in ("imap tls", "smtp tls", "caldav tls")]
    assert returncode == 1 and {check["status"] for check in waits} == {"failed"}
    assert all(check["ms"] >= 5900 for check in waits)
    # In turn they would take at least their sum; at once, one wait and the rest.
    assert report["ms"] < sum(check["ms"] for check in waits) - 6000
    assert "this port may not speak TLS" in checks["imap tls"]["advice"]


def test_a_calendar_login_refused_while_mail_works_suggests_a_mail_only_app_password(
    server_env: dict[str, str], dav_servers: dict[str, DavServer]
) -> None:
    # This account was never created on Xandikos: its calendar login is refused.
    server_env["MAILBOX_CALDAV_URL"] = dav_servers["xandikos"].url
    report = run(server_env)
    refused = report.lines["caldav discovery"]
    assert refused.status == "FAIL"
    assert refused.detail == f"localhost refused the login for {server_env['MAILBOX_EMAIL']}"
    assert "this app password allows mail only" in refused.advice
    assert report.lines["imap login"].status == report.lines["smtp login"].status == "ok"
