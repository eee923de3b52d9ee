"""The benchmarks' account, seeded once per run, and the report printed at the end.

One account holds the whole test mailbox (tests/perf/seed_mail.py) and the
5,000-event calendar (tests/perf/seed_calendar.py); the benchmarks only read it.
"""

from __future__ import annotations

import time

import pytest

from tests.imap_client import other_client
from tests.leak_watch import WATCH
from tests.perf.bench import REPORT, RESULTS, BenchAccount
from tests.perf.seed_calendar import EVENTS, seed_calendar
from tests.perf.seed_mail import seed_mailbox
from tests.servers.dav import DavServer, RadicaleServer
from tests.servers.dovecot import DovecotServer
from tests.servers.smtp import SmtpServer


@pytest.fixture(scope="session")
def bench_account(
    dovecot: DovecotServer, smtp: SmtpServer, dav_servers: dict[str, DavServer]
) -> BenchAccount:
    account = dovecot.add_user()
    smtp.users[account.email] = account.password
    WATCH.secret(account.password)
    mail = seed_mailbox(dovecot, account)
    messages = mail.inbox + sum(mail.folders.values())
    REPORT.figure(
        f"seeding: {messages} messages in {len(mail.folders) + 1} folders written",
        mail.seconds,
        "s",
        f"{mail.bytes / 2**20:.0f} MB, INBOX {mail.inbox}",
    )
    started = time.perf_counter()
    with other_client(dovecot, account) as imap:
        for name, count in {"INBOX": mail.inbox, **mail.folders}.items():
            assert imap.select_folder(name, readonly=True)[b"EXISTS"] == count, name
    REPORT.figure(
        "seeding: first SELECT of every folder (Dovecot indexes)",
        time.perf_counter() - started,
        "s",
    )
    radicale = dav_servers["radicale"]
    assert isinstance(radicale, RadicaleServer)
    login = radicale.add_user(account.email, account.password)
    REPORT.figure(f"seeding: {EVENTS} events written", seed_calendar(radicale, login), "s")
    seeded = BenchAccount(mail, login, radicale)
    started = time.perf_counter()
    assert seeded.dav_client().propfind(seeded.calendar_url, depth=0).status == 207
    REPORT.figure(
        "seeding: first PROPFIND of the calendar (Radicale reads it)",
        time.perf_counter() - started,
        "s",
    )
    return seeded


@pytest.fixture
def bench_env(server_env: dict[str, str], bench_account: BenchAccount) -> dict[str, str]:
    """server_env pointing at the seeded account (mail and calendar), rate limits off.

    The limits are a policy, not a cost: past a burst of 60 IMAP calls, the default
    300 a minute spaces every call 200 ms apart, which would be all a latency showed.
    """
    return {
        **server_env,
        "MAILBOX_RATE_LIMIT_IMAP": "0",
        "MAILBOX_RATE_LIMIT_CALDAV": "0",
        "MAILBOX_EMAIL": bench_account.account.email,
        "MAILBOX_PASSWORD": bench_account.account.password,
        "MAILBOX_CALDAV_URL": bench_account.radicale.url,
    }


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not REPORT.rows and not REPORT.figures:
        return
    terminalreporter.write_sep("=", "benchmark: ours beside the floor")
    terminalreporter.write_line(REPORT.table())
    REPORT.write(RESULTS / "bench.json")
    terminalreporter.write_line(f"\nwritten to {RESULTS / 'bench.json'}")
