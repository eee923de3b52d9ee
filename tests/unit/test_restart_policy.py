"""Restarts back off and, when a worker keeps failing, pause its protocol (fake clock, no
sleeps); failures a restart cannot fix are told apart; a worker past its memory ceiling is
replaced."""

from __future__ import annotations

import pytest

from protocol.errors import (
    AuthFailed,
    ConfigError,
    InternalError,
    MailError,
    ServerTimeout,
    Unavailable,
    WorkerCrashed,
)
from supervisor.restart_policy import (
    MemoryCeiling,
    RestartBudget,
    RestartPolicy,
    restart_cannot_fix,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


POLICY = RestartPolicy(first_backoff=1.0, max_backoff=8.0, max_restarts_in_window=4, window=60)


def test_each_quick_restart_waits_about_twice_as_long_as_the_one_before() -> None:
    budget = RestartBudget(POLICY, FakeClock())
    delays = [budget.plan("imap") for _ in range(4)]
    for delay, expected in zip(delays, [1.0, 2.0, 4.0, 8.0], strict=True):
        assert expected * 0.8 <= delay <= expected * 1.2  # jitter, so workers do not march in step
    assert budget.restarts == 4 and budget.paused_for() == 0


def test_too_many_restarts_in_the_window_pause_the_protocol_for_the_cool_down() -> None:
    clock = FakeClock()
    budget = RestartBudget(POLICY, clock)
    for _ in range(4):
        budget.plan("dav")
    assert budget.plan("dav") == POLICY.circuit_cooldown
    assert budget.paused_for() == pytest.approx(POLICY.circuit_cooldown)
    clock.now += POLICY.circuit_cooldown + 1
    assert budget.paused_for() == 0


def test_restarts_spread_beyond_the_window_never_open_the_circuit() -> None:
    clock = FakeClock()
    budget = RestartBudget(POLICY, clock)
    for _ in range(10):
        assert budget.plan("smtp") < POLICY.circuit_cooldown
        clock.now += 61
    assert budget.paused_for() == 0 and budget.restarts == 10


# -- failures a restart cannot fix -------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        ConfigError("MAILBOX_PASSWORD_COMMAND exited with status 1; run it by hand to see why."),
        AuthFailed("The IMAP server refused the login for a@b.example; check the app password."),
    ],
)
def test_wrong_settings_and_a_refused_login_are_not_fixed_by_restarting(error: MailError) -> None:
    assert restart_cannot_fix(error)


@pytest.mark.parametrize(
    "error",
    [
        Unavailable("The IMAP server localhost:993 refused the connection; check the port."),
        Unavailable("The TLS certificate of localhost:993 could not be verified (expired)."),
        ServerTimeout("The IMAP server did not answer in time."),
        WorkerCrashed("The IMAP worker stopped; try again."),
        InternalError("get_folders failed unexpectedly inside the imap worker."),
    ],
)
def test_crashes_timeouts_and_unreachable_servers_are_worth_a_restart(error: MailError) -> None:
    assert not restart_cannot_fix(error)


# -- the memory ceiling --------------------------------------------------------------------

MB = 2**20


def test_a_worker_that_grows_past_the_ceiling_is_to_be_replaced() -> None:
    ceiling = MemoryCeiling("dav", 100 * MB)
    assert not ceiling.exceeded(40 * MB)  # its fresh size
    assert not ceiling.exceeded(100 * MB)
    assert ceiling.exceeded(101 * MB)


def test_a_worker_bigger_than_the_ceiling_when_fresh_is_never_replaced_for_its_size() -> None:
    ceiling = MemoryCeiling("dav", 100 * MB)
    assert not ceiling.exceeded(120 * MB)
    assert not ceiling.exceeded(300 * MB)  # a new one would be as big: no endless replacing


def test_the_first_report_of_each_new_worker_is_its_fresh_size() -> None:
    ceiling = MemoryCeiling("imap", 100 * MB)
    ceiling.exceeded(150 * MB)
    ceiling.started()
    assert not ceiling.exceeded(40 * MB)
    assert ceiling.exceeded(150 * MB)


def test_without_a_ceiling_no_size_is_too_big() -> None:
    ceiling = MemoryCeiling("imap", 0)
    assert not ceiling.exceeded(10 * MB)
    assert not ceiling.exceeded(10_000 * MB)
