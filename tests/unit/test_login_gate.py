"""After one refused login no other login is tried, so a wrong password never locks the account."""

from __future__ import annotations

import pytest

from protocol.errors import AuthFailed
from workers.login_gate import LoginGate


def test_a_fresh_gate_lets_a_login_through() -> None:
    LoginGate("IMAP").check()


def test_after_a_refusal_every_attempt_is_refused_without_a_login() -> None:
    gate = LoginGate("IMAP")
    raised = gate.record(AuthFailed("The IMAP server refused the login."))
    for _ in range(3):
        with pytest.raises(AuthFailed) as again:
            gate.check()
        assert again.value is raised
    assert gate.metrics() == {"login_refused": 1, "logins_not_tried": 3}


def test_the_error_says_what_was_refused_and_that_logins_are_paused() -> None:
    gate = LoginGate("SMTP")
    message = gate.record(AuthFailed("The mail server refused the login for a@b.example.")).message
    assert message.startswith("The mail server refused the login for a@b.example.")
    assert "No further SMTP logins are tried" in message and "restart" in message
