"""A private Dovecot (Debian's dovecot-imapd and dovecot-lmtpd) for the sandbox and the tests.

Its own config, base_dir and state_dir under a temporary folder; IMAPS and LMTP
on random loopback ports; a passwd-file of test users that Dovecot rereads
whenever it changes, so each test can have a fresh, empty mailbox.

Where Pigeonhole is installed too (dovecot-sieve, dovecot-managesieved), it also
serves ManageSieve (STARTTLS) and runs each user's active Sieve script at LMTP
delivery; what Sieve sends (vacation replies, redirects) goes to a script that
keeps each message as a file under ``outbox/`` instead of leaving the machine.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from supervisor.sandbox.leftovers import private_dir
from supervisor.sandbox.ports import (
    ServerProcess,
    free_port,
    stop_with_parent,
    wait_for_port,
    wait_until_gone,
)
from supervisor.sandbox.tls import Certificates

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
# Debian's Pigeonhole: the ManageSieve service and the Sieve plugin LMTP loads.
MANAGESIEVE = Path("/usr/lib/dovecot/managesieve")
SIEVE_PLUGIN = Path("/usr/lib/dovecot/modules/lib90_sieve_plugin.so")
PROVISION_BATCH = 200

# Each user's folders with a special use (RFC 6154), named as the use and made at login.
_SPECIAL_FOLDERS = "".join(
    f"  mailbox {name} {{\n    special_use = \\{name}\n    auto = subscribe\n  }}\n"
    for name in ("Drafts", "Sent", "Trash", "Junk", "Archive")
)
_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = {protocols}
listen = 127.0.0.1
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 0
first_valid_gid = 0
auth_mechanisms = plain login
disable_plaintext_auth = yes
mail_location = maildir:{root}/mail/%u:LAYOUT=fs
mail_plugins = $mail_plugins
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
namespace inbox {{
  inbox = yes
  separator = /
{special_folders}}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
protocol lmtp {{
  auth_username_format = %u
  mail_plugins = {lmtp_plugins}
}}
protocol imap {{
  # Tests open many connections per account at once; the default limit is 10.
  mail_max_userip_connections = 100
}}
"""

# Added when Pigeonhole is installed. Scripts live outside the Maildir (the home), where
# a folder would show as a mailbox; ssl = required above makes ManageSieve offer
# STARTTLS and refuse a login before it.
_SIEVE_CONFIG = """\
service managesieve-login {{
  chroot =
  inet_listener sieve {{
    address = 127.0.0.1
    port = {managesieve_port}
  }}
}}
protocol sieve {{
  mail_max_userip_connections = 100
}}
plugin {{
  sieve = file:{root}/sieve/%u/scripts;active={root}/sieve/%u/active.sieve
}}
postmaster_address = postmaster@example.test
sendmail_path = {root}/sendmail
"""

# Dovecot's "sendmail" for what Sieve sends: argv ("-i -f SENDER -- RECIPIENT") and
# message, each message in a file of its own, the .eml renamed into place last.
_SENDMAIL = """\
#!/bin/sh
PATH=/usr/bin:/bin
name="{root}/outbox/$(date +%s%N).$$"
printf '%s\\n' "$@" > "$name.args" && cat > "$name.tmp" && mv "$name.tmp" "$name.eml"
"""


@dataclass(frozen=True)
class Account:
    """A mailbox on the test Dovecot."""

    email: str
    password: str


class DovecotServer(ServerProcess):
    """One running Dovecot; ``add_user`` gives each test a fresh mailbox."""

    def __init__(self, certificates: Certificates) -> None:
        self.certificates = certificates
        self.root = private_dir("dovecot")
        self.imaps_port = free_port()
        self.lmtp_port = free_port()
        # None where Pigeonhole is not installed: no ManageSieve, no Sieve at delivery.
        self.managesieve_port = free_port() if sieve_available() else None
        self._process: subprocess.Popen[bytes] | None = None
        self._counter = itertools.count(1)
        self._spare: list[Account] = []
        self._uid, self._gid, login_user, internal_user = _identities()
        os.chmod(self.root, 0o755)
        for sub in ("run", "state", "mail", "sieve", "outbox"):
            (self.root / sub).mkdir(mode=0o755)
        for sub in ("mail", "sieve", "outbox"):  # written by the users' processes
            os.chown(self.root / sub, self._uid, self._gid)
        (self.root / "users").write_text("")
        os.chmod(self.root / "users", 0o644)
        tls_dir = self.root / "tls"
        tls_dir.mkdir(mode=0o755)
        cert = tls_dir / "server.pem"
        key = tls_dir / "server.key"
        shutil.copy(certificates.cert_file, cert)
        shutil.copy(certificates.key_file, key)
        self.config = self.root / "dovecot.conf"
        sieve = self.managesieve_port is not None
        self.config.write_text(
            _CONFIG.format(
                root=self.root,
                cert=cert,
                key=key,
                login_user=login_user,
                internal_user=internal_user,
                imaps_port=self.imaps_port,
                lmtp_port=self.lmtp_port,
                protocols="imap lmtp sieve" if sieve else "imap lmtp",
                special_folders=_SPECIAL_FOLDERS,
                lmtp_plugins="$mail_plugins sieve" if sieve else "$mail_plugins",
            )
            + (self._sieve_config() if sieve else "")
            + self.extra_config()
        )

    def _sieve_config(self) -> str:
        sendmail = self.root / "sendmail"
        sendmail.write_text(_SENDMAIL.format(root=self.root))
        os.chmod(sendmail, 0o755)
        return _SIEVE_CONFIG.format(root=self.root, managesieve_port=self.managesieve_port)

    def extra_config(self) -> str:
        """Dovecot settings to add after the sandbox's own, read once when the config is
        written (``root`` exists by then): none here; a subclass may add some."""
        return ""

    @property
    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> None:
        self._write_accounts(PROVISION_BATCH)
        self._process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=stop_with_parent,
        )
        try:
            wait_for_port(self.imaps_port)
            wait_for_port(self.lmtp_port)
            if self.managesieve_port is not None:
                wait_for_port(self.managesieve_port)
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"Dovecot did not start: {exc}\n{self.log}") from exc

    def discard(self) -> None:
        """Stop at once and delete everything: for mail nobody keeps (the sandbox's).

        Dovecot's own shutdown waits a fixed second for its log process. Killed, the
        master leaves its children to notice it is gone and exit, which they do within
        milliseconds; the files are deleted once they have.
        """
        if self._process is not None:
            children = self._children()
            self._process.kill()
            self._process.wait()
            self._process = None
            wait_until_gone(children)
        shutil.rmtree(self.root, ignore_errors=True)

    def add_user(self) -> Account:
        """A new account with an empty mailbox (its special folders appear on first login).

        Dovecot rereads its passwd-file at most once a second, so accounts are
        written ahead in batches and handed out; a fresh batch waits for that second.
        """
        if not self._spare:
            self._write_accounts(PROVISION_BATCH)
            time.sleep(1.1)
        return self._spare.pop(0)

    def _children(self, title_prefix: bytes = b"") -> list[int]:
        """The master's child processes whose title starts so (Linux; elsewhere none)."""
        if self._process is None:
            return []
        pids = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                stat = (proc / "stat").read_text()
                title = (proc / "cmdline").read_bytes()
            except OSError:
                continue  # it exited meanwhile
            parent = int(stat.rpartition(")")[2].split()[1])
            if parent == self._process.pid and title.startswith(title_prefix):
                pids.append(int(proc.name))
        return pids

    def _write_accounts(self, count: int) -> None:
        lines = []
        for _ in range(count):
            local = f"user{next(self._counter)}-{secrets.token_hex(3)}"
            account = Account(f"{local}@example.test", secrets.token_urlsafe(12))
            home = self.root / "mail" / account.email
            lines.append(
                f"{account.email}:{{PLAIN}}{account.password}:{self._uid}:{self._gid}::{home}::\n"
            )
            self._spare.append(account)
        with open(self.root / "users", "a") as users:
            users.writelines(lines)


def _identities() -> tuple[int, int, str, str]:
    """uid/gid for mail and the login/internal users: Dovecot refuses root for logins."""
    import grp  # Unix only: imported here so the sandbox starts (calendar only) on Windows
    import pwd

    if os.geteuid() == 0:
        dovecot = pwd.getpwnam("dovecot")
        grp.getgrgid(dovecot.pw_gid)
        return dovecot.pw_uid, dovecot.pw_gid, "dovenull", "dovecot"
    me = pwd.getpwuid(os.geteuid())
    return me.pw_uid, me.pw_gid, me.pw_name, me.pw_name


def dovecot_available() -> bool:
    return Path(DOVECOT).exists()


def sieve_available() -> bool:
    """Pigeonhole is installed: ManageSieve and Sieve at delivery can be offered."""
    return dovecot_available() and MANAGESIEVE.exists() and SIEVE_PLUGIN.exists()
