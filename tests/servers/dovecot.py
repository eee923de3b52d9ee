"""The sandbox's Dovecot (supervisor/sandbox/), with what only the tests need:
restarting it under its clients, recording the commands they send, filling
a mailbox straight on disk, delivering over LMTP (where Sieve runs), and what
Sieve sent (vacation replies, redirects)."""

from __future__ import annotations

import contextlib
import os
import signal
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from supervisor.sandbox import dovecot as sandbox
from supervisor.sandbox.dovecot import Account, dovecot_available, sieve_available

__all__ = ["Account", "DovecotServer", "SentBySieve", "dovecot_available", "sieve_available"]


@dataclass(frozen=True)
class SentBySieve:
    """A message Sieve handed to Dovecot's "sendmail" (see supervisor/sandbox/dovecot.py)."""

    sender: str  # the envelope sender: "<>" for a vacation reply
    recipients: list[str]
    message: bytes


_RECORDING = """\
protocol imap {{
  # Only accounts whose folder exists are recorded (see DovecotServer.record_commands).
  rawlog_dir = {root}/rawlog/%u
}}
"""


class DovecotServer(sandbox.DovecotServer):
    """One running Dovecot; ``add_user`` gives each test a fresh mailbox."""

    def extra_config(self) -> str:
        return _RECORDING.format(root=self.root)

    def restart(self) -> None:
        """Stop and start again on the same ports, ending every client session as a
        real restart does: the master, stopped alone, leaves its imap and imap-login
        processes serving the connections they have."""
        sessions = self._children(b"dovecot/imap")  # each serves one client
        self.stop()
        for pid in sessions:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)  # imap says BYE and closes, as on a shutdown
        self.start()

    def record_commands(self, account: Account) -> None:
        """From now on, Dovecot writes what ``account``'s clients send (its rawlog)."""
        folder = self.root / "rawlog" / account.email
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder.parent, self._uid, self._gid)
        os.chown(folder, self._uid, self._gid)

    def commands_sent(self, account: Account) -> list[str]:
        """Every IMAP command ``account``'s clients sent since ``record_commands``, as
        ``TAG COMMAND ...`` lines in the order sent (literals left out)."""
        timed = []
        for path in (self.root / "rawlog" / account.email).glob("*.in"):
            for line in path.read_bytes().decode("utf-8", "replace").splitlines():
                stamp, _, command = line.partition(" ")  # rawlog stamps each line
                words = command.split(" ", 2)
                if len(words) >= 2 and words[1].isalpha():
                    timed.append((float(stamp), command))
        return [command for _stamp, command in sorted(timed)]

    def seed_maildir(
        self, account: Account, folder: str, messages: Iterable[tuple[bytes, datetime]]
    ) -> int:
        """Write messages straight into a never-opened folder's Maildir (seconds for
        100,000, where APPEND takes many minutes); Dovecot indexes them on first use.
        Each message is (raw bytes, received time). Returns how many were written.
        """
        home = self.root / "mail" / account.email
        base = home if folder == "INBOX" else home / folder
        for sub in ("cur", "new", "tmp"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        count = 0
        for count, (raw, received) in enumerate(messages, start=1):
            stamp = int(received.timestamp())
            path = base / "cur" / f"{stamp}.M{count}P1.seed,S={len(raw)}:2,S"
            path.write_bytes(raw)
            os.utime(path, (stamp, stamp))  # Maildir's INTERNALDATE is the file time
        for path in [home, *home.rglob("*")]:
            os.chown(path, self._uid, self._gid)
        return count

    def deliver(self, account: Account, message: bytes, sender: str = "anna@example.test") -> None:
        """Deliver ``message`` to ``account`` over LMTP, as the provider's MTA would: the
        account's active Sieve script decides where it lands."""
        with smtplib.LMTP("127.0.0.1", self.lmtp_port, timeout=30) as lmtp:
            lmtp.sendmail(sender, [account.email], message)

    def sent_by_sieve(self) -> list[SentBySieve]:
        """Every message Sieve sent since the server started, oldest first (the LMTP
        delivery waits for it, so it is here once ``deliver`` returned)."""
        sent = []
        for path in sorted((self.root / "outbox").glob("*.eml")):
            args = path.with_suffix(".args").read_text().splitlines()
            sender = args[args.index("-f") + 1] if "-f" in args else ""
            recipients = args[args.index("--") + 1 :] if "--" in args else []
            sent.append(SentBySieve(sender, recipients, path.read_bytes()))
        return sent
