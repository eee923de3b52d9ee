"""How the supervisor starts a worker and keeps it alive, against stand-in workers
(tests/stand_in_worker.py) and the real IMAP worker.

A worker that cannot start for a reason a restart cannot fix is left stopped and
its calls answer that reason; other failed starts are restarted with a backoff;
a Pong counts only for the Ping with its id.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import msgspec
import pytest
from anyio.abc import Process

from protocol import mail
from protocol.email import GetFoldersArgs
from protocol.errors import AuthFailed, ConfigError, MailError
from supervisor.restart_policy import RestartPolicy
from supervisor.worker_handle import WorkerHandle
from supervisor.worker_process import WorkerProcess
from tests.integration.test_imap_pool import imap_settings
from tests.mcp_client import REPO
from tests.servers.dovecot import Account, DovecotServer
from tests.stand_in_worker import BOOT_FAILURES

pytestmark = pytest.mark.anyio

QUICK = RestartPolicy(first_backoff=0.01, max_backoff=0.05, boot_timeout=20)
# Enough for several restarts at QUICK's backoff, had the worker been restarted.
SEVERAL_BACKOFFS = 0.5


class StandInProcess(WorkerProcess):
    """A WorkerProcess whose worker is tests/stand_in_worker.py behaving as told."""

    def __init__(self, behaviour: str, policy: RestartPolicy = QUICK) -> None:
        async def settings() -> msgspec.Struct:
            return GetFoldersArgs()

        super().__init__("stand_in", settings, policy, label="TEST")
        self.behaviour = behaviour
        self.spawned = 0

    async def _start_process(self) -> Process:
        self.spawned += 1
        return await anyio.open_process(
            [sys.executable, "-u", "-m", "tests.stand_in_worker", self.behaviour],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            cwd=REPO,
        )


@asynccontextmanager
async def running(process: WorkerProcess) -> AsyncIterator[WorkerProcess]:
    async with anyio.create_task_group() as tg:
        tg.start_soon(process.run)
        try:
            yield process
        finally:
            await process.aclose()
            tg.cancel_scope.cancel()


@pytest.mark.parametrize(
    ("behaviour", "error"), [("refuse-login", AuthFailed), ("bad-setting", ConfigError)]
)
async def test_a_worker_whose_start_a_restart_cannot_fix_is_left_stopped_with_its_reason(
    behaviour: str, error: type[MailError]
) -> None:
    async with running(StandInProcess(behaviour)) as process:
        with anyio.fail_after(20):
            while process.stopped is None:
                await anyio.sleep(0.02)
        await anyio.sleep(SEVERAL_BACKOFFS)
        for _ in range(3):
            with pytest.raises(error) as raised:
                await process.ready_channel()
        assert process.state() == "not configured"
    assert raised.value.message == BOOT_FAILURES[behaviour][1]  # the worker's own sentence
    assert process.spawned == 1 and process.restarts == 0


async def test_a_worker_that_fails_to_start_for_a_passing_reason_is_restarted() -> None:
    async with running(StandInProcess("unreachable")) as process:
        with anyio.fail_after(20):
            while process.restarts < 2:
                await anyio.sleep(0.02)
        assert process.stopped is None
    assert process.spawned >= 2


async def test_pongs_with_the_id_of_an_earlier_ping_do_not_keep_a_worker_alive() -> None:
    policy = RestartPolicy(ping_interval=0.05, ping_timeout=0.5, first_backoff=0.01)
    async with running(StandInProcess("stale-pongs", policy)) as process:
        with anyio.fail_after(20):
            while process.restarts < 1:
                await anyio.sleep(0.02)
    assert process.metrics == {}  # no stale Pong was taken for an answer


async def test_a_worker_answering_each_ping_stays_and_gives_its_metrics_on_demand() -> None:
    policy = RestartPolicy(ping_interval=0.05, ping_timeout=2)
    async with running(StandInProcess("ready", policy)) as process:
        with anyio.fail_after(20):
            await process.ready_channel()
            for _ in range(5):  # alongside the heartbeat's own pings
                process.metrics = {}
                await process.refresh_metrics()
                assert process.metrics["rss_bytes"] == 1
        assert process.restarts == 0 and process.spawned == 1


async def test_a_worker_without_settings_starts_once_the_password_command_gives_them(
    dovecot: DovecotServer, account: Account
) -> None:
    unlocked = False
    refreshes = 0

    async def settings() -> msgspec.Struct:
        if not unlocked:
            raise ConfigError("MAILBOX_PASSWORD_COMMAND exited with status 1; run it by hand.")
        return imap_settings(dovecot, account)

    async def refresh() -> bool:
        nonlocal refreshes
        refreshes += 1
        return unlocked

    handle = WorkerHandle("imap", settings, QUICK, label="IMAP", refresh_credentials=refresh)
    async with anyio.create_task_group() as tg:
        tg.start_soon(handle.run)
        with anyio.fail_after(30):
            for _ in range(2):
                with pytest.raises(ConfigError, match="exited with status 1"):
                    await handle.call(mail.GET_FOLDERS, GetFoldersArgs(), timeout=10)
            assert handle.status().state == "not configured" and handle.pid is None
            unlocked = True  # the keyring was unlocked
            answer = await handle.call(mail.GET_FOLDERS, GetFoldersArgs(), timeout=10)
        await handle.aclose()
        tg.cancel_scope.cancel()
    assert "INBOX" in [f.name for f in answer.value.folders]
    assert refreshes == 3
    assert handle.restarts == 0 and handle.recycled == 1
