"""The internal ``diagnose`` request every worker answers for ``--diagnose``."""

from __future__ import annotations

from typing import Literal

import msgspec

from protocol.contract import Contract

CheckStatus = Literal["ok", "warning", "failed", "skipped"]

# Every check each worker makes, in the order it makes them. A check that cannot
# run because an earlier one failed is still reported, as skipped.
IMAP_CHECKS = (
    "imap dns",
    "imap connect",
    "imap tls",
    "imap login",
    "imap capabilities",
    "imap folders",
    "imap sent folder",
    "imap drafts folder",
    "imap trash folder",
)
SMTP_CHECKS = ("smtp dns", "smtp connect", "smtp tls", "smtp ehlo", "smtp login")
CALDAV_CHECKS = (
    "caldav dns",
    "caldav connect",
    "caldav tls",
    "caldav discovery",
    "caldav calendars",
    "carddav address books",
)


class DiagnoseArgs(msgspec.Struct, frozen=True):
    pass


class Check(msgspec.Struct, frozen=True):
    """One line of the health check: what was tried, whether it worked, how long it took.

    ``advice`` says in plain words what to do: on a failure, how to fix it; on a
    check that passed, a limit worth knowing (shown as a warning). A skipped
    check did not run because an earlier one failed; it has not passed.
    """

    name: str
    ok: bool
    detail: str
    seconds: float
    advice: str = ""
    skipped: bool = False

    @property
    def status(self) -> CheckStatus:
        if self.skipped:
            return "skipped"
        if not self.ok:
            return "failed"
        return "warning" if self.advice else "ok"


class DiagnoseResult(msgspec.Struct, frozen=True):
    checks: list[Check]


def skipped(name: str, because: str) -> Check:
    """The line for a check that did not run because ``because`` failed."""
    return Check(name, False, f"not checked, because {because} failed", 0.0, skipped=True)


def diagnosis(worker: str) -> Contract[DiagnoseArgs, DiagnoseResult]:
    """The ``diagnose`` request of ``worker``. Never sent twice: each try logs in."""
    return Contract("diagnose", worker, DiagnoseArgs, DiagnoseResult, retry=False)
