"""How the quick-start commands get Dovecot: run apt-get where they can, else say the line."""

from __future__ import annotations

import sys

import pytest

from supervisor.quickstart import DOVECOT_PACKAGES, install_plan

INSTALL = [
    "apt-get",
    "install",
    "-y",
    "-q",
    "dovecot-imapd",
    "dovecot-lmtpd",
    "dovecot-sieve",
    "dovecot-managesieved",
]
UPDATE = ["apt-get", "update", "-q"]


def test_as_root_on_debian_it_updates_the_package_lists_and_installs() -> None:
    plan = install_plan(
        DOVECOT_PACKAGES, is_root=True, has_apt=True, has_sudo=False, interactive=False
    )
    assert plan.commands == [UPDATE, INSTALL]
    assert (
        plan.line
        == "apt-get install dovecot-imapd dovecot-lmtpd dovecot-sieve dovecot-managesieved"
    )


def test_as_a_user_in_a_terminal_it_goes_through_sudo() -> None:
    plan = install_plan(
        DOVECOT_PACKAGES, is_root=False, has_apt=True, has_sudo=True, interactive=True
    )
    assert plan.commands == [["sudo", *UPDATE], ["sudo", *INSTALL]]


@pytest.mark.parametrize("has_sudo, interactive", [(False, True), (True, False)])
def test_where_no_password_can_be_asked_it_only_prints_the_exact_line(
    has_sudo: bool, interactive: bool
) -> None:
    plan = install_plan(
        DOVECOT_PACKAGES, is_root=False, has_apt=True, has_sudo=has_sudo, interactive=interactive
    )
    assert plan.commands == []
    assert plan.advice == (
        "Install it with: sudo apt-get install dovecot-imapd dovecot-lmtpd dovecot-sieve "
        "dovecot-managesieved"
    )


def test_without_apt_get_it_installs_nothing_and_says_what_is_needed() -> None:
    plan = install_plan(
        DOVECOT_PACKAGES, is_root=True, has_apt=False, has_sudo=True, interactive=True
    )
    assert plan.commands == []
    if sys.platform == "darwin":
        assert plan.advice.startswith("On macOS it is not installed for you")
    else:
        assert "dovecot-imapd dovecot-lmtpd" in plan.advice
