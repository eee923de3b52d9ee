"""The password command runs again after a refused login, at most once per interval
(supervisor.password; fake clock and a fake command, no sleeps)."""

from __future__ import annotations

import pytest

from protocol.errors import ConfigError
from supervisor.config import Settings
from supervisor.password import PasswordSource

pytestmark = pytest.mark.anyio

INTERVAL = 5.0
COMMAND = Settings(email="a@b.example", password=None, password_command="pass show mail")
FIXED = Settings(email="a@b.example", password="Fixed-Password-1", password_command=None)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeCommand:
    """Prints ``password``, or fails when it is None; counts its runs."""

    def __init__(self, password: str | None) -> None:
        self.password = password
        self.runs = 0

    def __call__(self, settings: Settings) -> str:
        self.runs += 1
        if self.password is None:
            raise ConfigError("MAILBOX_PASSWORD_COMMAND exited with status 1; run it by hand.")
        return self.password


def source(command: FakeCommand, clock: FakeClock, settings: Settings = COMMAND) -> PasswordSource:
    return PasswordSource(settings, rerun_interval=INTERVAL, clock=clock, resolve=command)


async def test_the_command_runs_once_for_every_worker_that_asks() -> None:
    command = FakeCommand("Secret-1")
    password = source(command, FakeClock())
    assert [await password.get() for _ in range(3)] == ["Secret-1"] * 3
    assert command.runs == 1


async def test_after_a_refused_login_the_command_runs_again_at_most_once_per_interval() -> None:
    command, clock = FakeCommand("Secret-1"), FakeClock()
    password = source(command, clock)
    await password.get()
    assert not await password.refresh()  # ran again at once, printed the same
    command.password = "Secret-2"
    clock.now += INTERVAL - 0.1
    assert not await password.refresh()  # too soon: not run
    assert command.runs == 2 and await password.get() == "Secret-1"
    clock.now += 0.1
    assert await password.refresh()
    assert command.runs == 3 and await password.get() == "Secret-2"


async def test_a_fixed_password_is_never_looked_up_again() -> None:
    clock = FakeClock()
    password = PasswordSource(FIXED, rerun_interval=INTERVAL, clock=clock)
    assert await password.get() == "Fixed-Password-1"
    clock.now += 3600
    assert not await password.refresh()
    assert await password.get() == "Fixed-Password-1"


async def test_a_failed_command_is_not_run_again_by_every_worker_only_by_refresh() -> None:
    command, clock = FakeCommand(None), FakeClock()
    password = source(command, clock)
    for _ in range(3):
        with pytest.raises(ConfigError, match="exited with status 1"):
            await password.get()
    assert command.runs == 1
    command.password = "Secret-1"  # the keyring was unlocked
    assert await password.refresh()
    assert await password.get() == "Secret-1" and command.runs == 2


async def test_a_command_that_fails_on_a_rerun_keeps_the_password_it_printed_before() -> None:
    command, clock = FakeCommand("Secret-1"), FakeClock()
    password = source(command, clock)
    await password.get()
    command.password = None
    assert not await password.refresh()
    assert await password.get() == "Secret-1"
