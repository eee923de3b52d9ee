"""The password command runs again after a refused login, at most once per interval
(supervisor.password; fake clock and a fake command, no sleeps); what a real command
prints becomes the password, and a waiting command dies with its caller
(supervisor.config.fetch_password; here the process boundary is what is tested)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest

from protocol.errors import ConfigError
from supervisor import config
from supervisor.config import Settings, fetch_password
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
    """Prints ``password``, or fails when it is None; counts its runs. While ``held`` is
    set it waits (a keyring waiting to be unlocked) until ``release``."""

    def __init__(self, password: str | None) -> None:
        self.password = password
        self.runs = 0
        self.held = False
        self.waiting = anyio.Event()
        self._released = anyio.Event()

    def release(self) -> None:
        self._released.set()

    async def __call__(self, settings: Settings) -> str:
        self.runs += 1
        if self.held:
            self.waiting.set()
            await self._released.wait()
        if self.password is None:
            raise ConfigError("MAILBOX_PASSWORD_COMMAND exited with status 1; run it by hand.")
        return self.password


def source(command: FakeCommand, clock: FakeClock, settings: Settings = COMMAND) -> PasswordSource:
    return PasswordSource(settings, rerun_interval=INTERVAL, clock=clock, resolve=command)


async def fetched_once(clock: FakeClock | None = None) -> tuple[FakeCommand, PasswordSource]:
    """A command source that has run its command once, which printed Secret-1."""
    command = FakeCommand("Secret-1")
    password = source(command, clock or FakeClock())
    assert await password.get() == "Secret-1"
    return command, password


async def test_the_command_runs_once_for_every_worker_that_asks() -> None:
    command = FakeCommand("Secret-1")
    password = source(command, FakeClock())
    assert [await password.get() for _ in range(3)] == ["Secret-1"] * 3
    assert command.runs == 1


async def test_after_a_refused_login_the_command_runs_again_at_most_once_per_interval() -> None:
    clock = FakeClock()
    command, password = await fetched_once(clock)
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
    command, password = await fetched_once()
    command.password = None
    assert not await password.refresh()
    assert await password.get() == "Secret-1"


async def test_a_rerun_waiting_for_the_keyring_does_not_hold_up_the_password_kept() -> None:
    command, password = await fetched_once()
    command.held, command.password = True, "Secret-2"
    async with anyio.create_task_group() as tg:
        tg.start_soon(password.refresh)
        with anyio.fail_after(5):
            await command.waiting.wait()
            assert await password.get() == "Secret-1"
        command.release()
    assert await password.get() == "Secret-2"


async def test_a_rerun_its_caller_gave_up_keeps_the_password_and_counts_as_a_run() -> None:
    command, password = await fetched_once()
    command.held, command.password = True, "Secret-2"
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(password.refresh)
            await command.waiting.wait()
            tg.cancel_scope.cancel()  # the call's deadline has come
        assert await password.get() == "Secret-1"
        assert not await password.refresh() and command.runs == 2  # throttled, not run


# -- a real command ------------------------------------------------------------------------


def with_command(script: str, *extra: str) -> Settings:
    quoted = "'" + script.replace("'", "'\"'\"'") + "'"
    return Settings(
        email="a@b.example",
        password=None,
        password_command=" ".join([sys.executable, "-c", quoted, *extra]),
    )


async def test_only_the_first_line_of_what_the_command_prints_is_the_password() -> None:
    # What `pass show` prints for an entry with more than the password in it.
    script = "print('Secret 1 with spaces'); print('url: mailbox.org'); print('login: anna')"
    assert await fetch_password(with_command(script)) == "Secret 1 with spaces"


async def test_a_password_ended_by_crlf_is_the_text_before_it() -> None:
    script = "import sys; sys.stdout.write('Secret-1\\r\\n')"
    assert await fetch_password(with_command(script)) == "Secret-1"


@pytest.mark.parametrize("printed", ["Secret\\r1\\n", "Secret\\x001\\n"])
async def test_a_password_with_a_carriage_return_or_nul_never_reaches_a_worker(
    printed: str,
) -> None:
    settings = with_command(f"import sys; sys.stdout.write('{printed}')")
    with pytest.raises(ConfigError) as caught:
        await fetch_password(settings)
    assert caught.value.message.startswith(
        "MAILBOX_PASSWORD_COMMAND printed a carriage return or NUL character"
    )
    assert "Secret" not in caught.value.message


@pytest.mark.parametrize("value", ["Secret\n1", "Secret\r1", "Secret-1\n", "Secret\x001"])
async def test_a_mailbox_password_with_a_line_break_never_reaches_a_worker(value: str) -> None:
    settings = Settings(email="a@b.example", password=value, password_command=None)
    with pytest.raises(ConfigError, match="MAILBOX_PASSWORD holds a line break or NUL"):
        await fetch_password(settings)


async def test_a_command_whose_first_line_is_empty_is_told_where_the_password_goes() -> None:
    settings = with_command("print(); print('Secret-1')")
    with pytest.raises(ConfigError, match="printed an empty first line"):
        await fetch_password(settings)


async def test_a_command_that_prints_only_a_line_end_printed_nothing() -> None:
    with pytest.raises(ConfigError, match="MAILBOX_PASSWORD_COMMAND printed nothing"):
        await fetch_password(with_command("print()"))


async def _started_pid(pid_file: Path) -> int:
    with anyio.fail_after(10):
        while not pid_file.exists() or not pid_file.read_text():
            await anyio.sleep(0.02)
    return int(pid_file.read_text())


def _gone(pid: int) -> bool:
    """True once ``pid`` is killed and reaped (a zombie still answers signal 0)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


WAITS = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(60)"


async def test_a_caller_that_gives_up_kills_the_waiting_command_at_once(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    settings = with_command(WAITS, str(pid_file))
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(fetch_password, settings)
            pid = await _started_pid(pid_file)
            tg.cancel_scope.cancel()
    assert _gone(pid)


async def test_a_command_that_waits_too_long_is_killed_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "PASSWORD_COMMAND_TIMEOUT", 1.0)
    pid_file = tmp_path / "pid"
    with anyio.fail_after(10), pytest.raises(ConfigError) as caught:
        await fetch_password(with_command(WAITS, str(pid_file)))
    assert caught.value.message.startswith(
        "MAILBOX_PASSWORD_COMMAND did not finish within 1 s (is it waiting for input?)"
    )
    assert _gone(int(pid_file.read_text()))
