"""Restarts back off and, when a worker keeps failing, pause its protocol (fake clock, no sleeps)."""

from __future__ import annotations

import pytest

from supervisor.restart_policy import RestartBudget, RestartPolicy


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
