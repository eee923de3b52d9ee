"""``--sandbox``: start local servers, seed the demo data, and serve MCP against them.

Run by an MCP client (stdin is a pipe) it serves until the client goes away,
then stops the servers and deletes their data. Run in a terminal it starts and
seeds everything once, to prove it works, prints the Claude Desktop snippet and
stops again.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NoReturn, TextIO

import anyio
import structlog
from imapclient import IMAPClient

from protocol import filters, mail
from protocol.errors import ConfigError, MailError
from supervisor.config import Settings
from supervisor.quickstart import dovecot_install_line
from supervisor.sandbox.dav import DavAccount, RadicaleServer
from supervisor.sandbox.demo import demo_events, demo_messages
from supervisor.sandbox.dovecot import DovecotServer, dovecot_available
from supervisor.sandbox.launcher import launcher
from supervisor.sandbox.leftovers import private_dir, remove_leftovers

log = structlog.get_logger()

NEEDED = ("trustme", "aiosmtpd", "radicale")
MISSING_EXTRA = (
    "The sandbox needs packages that are not installed ({missing}); install them with: "
    "pip install 'mailbox-mcp-server[sandbox]' (or: uvx --from "
    "'mailbox-mcp-server[sandbox]' mailbox-mcp-server --sandbox)."
)
NEEDS_DOVECOT = (
    "The sandbox's mail server needs Dovecot, which is not installed here: {line}. Then "
    "start the sandbox again (Claude Desktop: quit it and start it again)."
)
NEEDS_SIEVE = (
    "The sandbox's filters need Dovecot's Sieve packages, which are not installed here "
    "(Debian: apt-get install dovecot-sieve dovecot-managesieved). Then start the sandbox again."
)
NO_DOVECOT = (
    "Dovecot is not installed, so the sandbox has no mail server: the email tools will say "
    "so, and the calendar tools work. For the mail tools too: {line}."
)
# The user's settings the sandbox honours; every other MAILBOX_* is its own.
KEPT_SETTINGS = (
    "MAILBOX_READ_ONLY",
    "MAILBOX_TIMEZONE",
    "MAILBOX_TOOLS",
    "MAILBOX_LOG_LEVEL",
    "MAILBOX_LOG_FORMAT",
)


@dataclass(frozen=True)
class Sandbox:
    """What is running: the environment the server uses and a summary for people."""

    env: dict[str, str]
    messages: int
    events: int
    has_mail: bool
    # Workers with no server to talk to, and what their tools say instead.
    unavailable: dict[str, MailError] = field(default_factory=dict)


def run_sandbox(
    out: TextIO, *, diagnose: bool = False, as_json: bool = False, verbose: bool = False
) -> int:
    """Entry point of ``--sandbox`` (and ``--diagnose --sandbox``); returns the exit status."""
    missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        print(MISSING_EXTRA.format(missing=", ".join(missing)), file=sys.stderr)
        return 2
    with started_sandbox() as sandbox:
        if diagnose:
            return _diagnose(sandbox, out, as_json=as_json, verbose=verbose)
        if sys.stdin.isatty():
            out.write(_introduction(sandbox))
            return 0
        _serve(sandbox)
    # Everything is stopped and deleted: leave without tearing down the interpreter
    # (a third of a second), as a client that restarts its servers often waits for it.
    _leave(0)
    return 0


@contextlib.contextmanager
def started_sandbox() -> Iterator[Sandbox]:
    """Start and seed the servers; stop them and delete everything afterwards."""
    # Imported here: they need the [sandbox] extra (aiosmtpd, trustme).
    from supervisor.sandbox.smtp import SmtpServer
    from supervisor.sandbox.tls import make_certificates

    remove_leftovers()  # of sandboxes killed before they could clean up
    root = private_dir("sandbox")
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, root, True)
        # The servers stop side by side: one after the other adds up at every exit.
        stops: list[Callable[[], None]] = []
        stack.callback(_all_at_once, stops)
        # A client may stop the server with SIGTERM (the MCP Inspector does). The MCP
        # loop would then wait forever for its thread blocked reading stdin, so stop
        # the servers and delete their files right here, then leave.
        signal.signal(signal.SIGTERM, lambda _signum, _frame: _stop_now(stack))
        certificates = make_certificates(root / "tls")
        radicale = RadicaleServer(certificates)
        stops.append(radicale.cleanup)
        radicale.start()
        now = datetime.now(UTC)
        env = {
            "MAILBOX_CA_FILE": str(certificates.ca_file),
            "MAILBOX_CALDAV_URL": radicale.url,
            "MAILBOX_IMAP_HOST": "localhost",
            "MAILBOX_SMTP_HOST": "localhost",
            "MAILBOX_SMTP_SECURITY": "tls",
            "MAILBOX_DOWNLOAD_DIR": str(root / "downloads"),
            "MAILBOX_ATTACHMENT_DIR": str(root / "attachments"),
        }
        messages = 0
        unavailable: dict[str, MailError] = {}
        has_mail = dovecot_available()
        if has_mail:
            dovecot = DovecotServer(certificates)
            stops.append(dovecot.discard)
            dovecot.start()
            smtp = SmtpServer(dovecot)
            smtp.start()
            stops.append(smtp.stop)
            account = dovecot.add_user()
            smtp.users[account.email] = account.password
            email, password = account.email, account.password
            env["MAILBOX_IMAP_PORT"], env["MAILBOX_SMTP_PORT"] = (
                str(dovecot.imaps_port),
                str(smtp.tls_port),
            )
            messages = _seed_mailbox(dovecot, email, password, now)
            if dovecot.managesieve_port is not None:
                env["MAILBOX_SIEVE_HOST"] = "localhost"
                env["MAILBOX_SIEVE_PORT"] = str(dovecot.managesieve_port)
            else:
                unavailable[filters.SIEVE] = ConfigError(NEEDS_SIEVE)
        else:
            line = dovecot_install_line()
            log.warning("sandbox.no_dovecot", message=NO_DOVECOT.format(line=line))
            email, password = "you@sandbox.example", "sandbox"
            # No mail server: the mail workers are not started, their tools say why.
            needs = ConfigError(NEEDS_DOVECOT.format(line=line))
            unavailable = {mail.IMAP: needs, mail.SMTP: needs, filters.SIEVE: needs}
        dav_account = radicale.add_user(email, password)
        events = _seed_calendar(radicale, dav_account, now)
        (root / "attachments").mkdir()
        (root / "attachments" / "notes.txt").write_text("Notes to attach to a test message.\n")
        env |= {"MAILBOX_EMAIL": email, "MAILBOX_PASSWORD": password}
        log.info("sandbox.ready", messages=messages, events=events, mail=has_mail)
        yield Sandbox(env, messages, events, has_mail, unavailable)


def _all_at_once(stops: list[Callable[[], None]]) -> None:
    threads = [threading.Thread(target=stop) for stop in stops]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _stop_now(stack: contextlib.ExitStack) -> None:
    stack.close()
    _leave(0)  # the worker processes exit by themselves when their pipes close


def _leave(status: int) -> NoReturn:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _seed_mailbox(dovecot: DovecotServer, email: str, password: str, now: datetime) -> int:
    context = dovecot.certificates.client_context()
    with IMAPClient("localhost", dovecot.imaps_port, ssl_context=context, timeout=30) as imap:
        imap.login(email, password)
        seeded = demo_messages(email, now)
        for folder in sorted({m.folder for m in seeded}):
            if not imap.folder_exists(folder):
                imap.create_folder(folder)
                imap.subscribe_folder(folder)
        for message in seeded:
            imap.append(message.folder, message.raw, message.flags, message.received)
        imap.logout()
    return len(seeded)


def _seed_calendar(radicale: RadicaleServer, account: DavAccount, now: datetime) -> int:
    events = demo_events(now)
    for name, ics in events.items():
        radicale.put_object(account, name, ics)
    return len(events)


def _use_sandbox_settings(sandbox: Sandbox) -> tuple[Settings | None, ConfigError | None]:
    """The sandbox's settings, in this process's environment too (the workers inherit
    it): the user's real account must never mix in, but read-only mode, the time zone
    and logging are theirs to choose."""
    from supervisor.config import load_settings

    for name in [n for n in os.environ if n.startswith("MAILBOX_") and n not in KEPT_SETTINGS]:
        del os.environ[name]
    os.environ.update(sandbox.env)
    try:
        return load_settings(), None
    except ConfigError as exc:  # a wrong MAILBOX_TIMEZONE, say: every tool says so
        return None, exc


def _serve(sandbox: Sandbox) -> None:
    from supervisor.app import serve_stdio

    settings, error = _use_sandbox_settings(sandbox)
    anyio.run(functools.partial(serve_stdio, settings, error, unavailable=sandbox.unavailable))


def _diagnose(sandbox: Sandbox, out: TextIO, *, as_json: bool, verbose: bool) -> int:
    from supervisor.diagnose import run_diagnose

    settings, error = _use_sandbox_settings(sandbox)
    check = functools.partial(
        run_diagnose,
        settings,
        error,
        out,
        as_json,
        verbose=verbose,
        unavailable=sandbox.unavailable,
    )
    return anyio.run(check)


def claude_desktop_snippet() -> dict[str, object]:
    """The Claude Desktop entry that starts this same installation in sandbox mode."""
    return {"mcpServers": {"mailbox-sandbox": launcher(["--sandbox"])}}


def _introduction(sandbox: Sandbox) -> str:
    mail = (
        f"a mailbox with {sandbox.messages} demo messages (Dovecot, and an SMTP relay that "
        "delivers only to that mailbox)"
        if sandbox.has_mail
        else "no mailbox (Dovecot is not installed)"
    )
    return (
        f"The sandbox works: {mail} and a calendar with {sandbox.events} demo events "
        "(Radicale), all on this computer over TLS. They were started and stopped again; "
        "Claude Desktop starts a fresh copy each time it starts the server.\n\n"
        "To try it in Claude Desktop, add this to claude_desktop_config.json (macOS: "
        "~/Library/Application Support/Claude/, Windows: %APPDATA%\\Claude\\, Linux: "
        "~/.config/Claude/) and restart Claude Desktop:\n\n"
        f"{json.dumps(claude_desktop_snippet(), indent=2)}\n"
    )
