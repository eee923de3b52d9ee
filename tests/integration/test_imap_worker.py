"""The IMAP worker process through a WorkerHandle, as the supervisor uses it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import msgspec
import pytest

from protocol import mail
from protocol.email import CreateDirectoryArgs, GetEmailArgs, GetFoldersArgs, SearchEmailsArgs
from protocol.errors import Unavailable
from protocol.fingerprint import FreshnessArgs
from protocol.messages import NOOP, NoArgs
from supervisor.cache import SessionCache
from supervisor.restart_policy import DEFAULT_POLICY, RestartPolicy
from supervisor.worker_calls import WorkerCalls
from supervisor.worker_handle import WorkerHandle
from tests.imap_client import other_client, simple_message
from tests.integration.test_imap_pool import imap_settings
from tests.servers.dovecot import Account, DovecotServer

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def running_imap_worker(
    dovecot: DovecotServer, account: Account, policy: RestartPolicy = DEFAULT_POLICY
) -> AsyncIterator[WorkerHandle]:
    """A real IMAP worker process run by a WorkerHandle, as the supervisor runs one."""
    settings = imap_settings(dovecot, account, min_size=1)

    async def factory() -> msgspec.Struct:
        return settings

    handle = WorkerHandle("imap", factory, policy, label="IMAP")
    async with anyio.create_task_group() as tg:
        tg.start_soon(handle.run)
        yield handle
        await handle.aclose()
        tg.cancel_scope.cancel()


@pytest.fixture
async def imap_worker(dovecot: DovecotServer, account: Account) -> AsyncIterator[WorkerHandle]:
    async with running_imap_worker(dovecot, account) as handle:
        yield handle


async def folders_token(worker: WorkerHandle) -> str:
    answer = await worker.call(mail.GET_FOLDERS, GetFoldersArgs(), timeout=10)
    assert answer.validator is not None and answer.tags == ("imap:folders",)
    return answer.validator


async def is_fresh(worker: WorkerHandle, token: str) -> bool:
    answer = await worker.call(mail.IMAP_CHECK_FRESH, FreshnessArgs(token), timeout=10)
    return answer.value.fresh


async def test_a_folders_token_stays_fresh_while_nothing_changes(imap_worker: WorkerHandle) -> None:
    token = await folders_token(imap_worker)
    assert await is_fresh(imap_worker, token)
    assert await is_fresh(imap_worker, token)


@pytest.mark.parametrize("change", ["arrival", "read elsewhere", "new folder", "expunge"])
async def test_a_folders_token_goes_stale_when_anything_changes(
    change: str, imap_worker: WorkerHandle, dovecot: DovecotServer, account: Account
) -> None:
    with other_client(dovecot, account) as imap:
        imap.append("INBOX", simple_message("first"), flags=[])
        token = await folders_token(imap_worker)
        imap.select_folder("INBOX")
        if change == "arrival":
            imap.append("INBOX", simple_message("new"), flags=[])
        elif change == "read elsewhere":
            imap.add_flags(imap.search("ALL"), ["\\Seen"])
        elif change == "new folder":
            imap.create_folder("Elsewhere")
        else:
            imap.delete_messages(imap.search("ALL"))
            imap.expunge()
    assert not await is_fresh(imap_worker, token)


async def test_a_token_that_is_not_ours_is_never_fresh(imap_worker: WorkerHandle) -> None:
    assert not await is_fresh(imap_worker, "bm90IGEgdG9rZW4=")


async def test_create_directory_through_the_worker(
    imap_worker: WorkerHandle, dovecot: DovecotServer, account: Account
) -> None:
    answer = await imap_worker.call(
        mail.CREATE_DIRECTORY, CreateDirectoryArgs("Kunden/Müller & Söhne"), timeout=10
    )
    assert answer.tags == ("imap:folders",)
    assert answer.value.name == "Kunden/Müller & Söhne"
    with other_client(dovecot, account) as imap:
        assert imap.folder_exists("Kunden/Müller & Söhne")


async def test_the_pool_metrics_arrive_with_the_heartbeat(
    dovecot: DovecotServer, account: Account
) -> None:
    async with running_imap_worker(dovecot, account, RestartPolicy(ping_interval=0.05)) as handle:
        await handle.call(mail.GET_FOLDERS, GetFoldersArgs(), timeout=10)
        with anyio.fail_after(5):
            while handle.metrics.get("requests_served", 0) < 1:
                await anyio.sleep(0.05)
    assert (
        1 <= int(handle.metrics["pool_opened"]) <= 2
    )  # the first call may not wait for the pre-warm
    assert handle.metrics["pool_max"] == 2


async def test_a_worker_that_cannot_boot_opens_the_circuit_instead_of_looping() -> None:
    async def factory() -> msgspec.Struct:
        return GetFoldersArgs()

    policy = RestartPolicy(first_backoff=0.01, max_restarts_in_window=2, circuit_cooldown=60)
    handle = WorkerHandle("does_not_exist", factory, policy, label="TEST")
    async with anyio.create_task_group() as tg:
        tg.start_soon(handle.run)
        with anyio.fail_after(20):
            while handle.restarts < 3:
                await anyio.sleep(0.05)
        with pytest.raises(Unavailable, match="failed repeatedly and is paused"):
            await handle.call(mail.GET_FOLDERS, GetFoldersArgs(), timeout=5)
        tg.cancel_scope.cancel()
    assert handle.restarts == 3


async def test_a_noop_request_is_answered_with_nil_by_the_worker_itself(
    imap_worker: WorkerHandle,
) -> None:
    await imap_worker.call(NOOP, NoArgs(), timeout=5)
    await imap_worker.refresh_metrics()
    before = imap_worker.status().metrics["requests_served"]
    answer = await imap_worker.call(NOOP, NoArgs(), timeout=5)
    assert answer.value is None and answer.validator is None
    await imap_worker.refresh_metrics()
    assert imap_worker.status().metrics["requests_served"] == before + 1


async def _cache_holding_an_inbox_answer() -> SessionCache:
    cache = SessionCache(max_entries=8, max_bytes=2**20)
    cache.put("inbox listing", "answer", size=6, ttl=300, tags=["imap:folder:INBOX"], validator="t")
    return cache


async def _first_inbox_id(imap_worker: WorkerHandle) -> str:
    found = await imap_worker.call(mail.SEARCH_EMAILS, SearchEmailsArgs(), timeout=10)
    return found.value.emails[0].id


@pytest.mark.parametrize(("mark_read", "kept"), [(False, True), (True, False)])
async def test_reading_an_email_drops_the_cached_folder_answers_only_when_it_marks_it_read(
    imap_worker: WorkerHandle, dovecot: DovecotServer, account: Account, mark_read: bool, kept: bool
) -> None:
    with other_client(dovecot, account) as imap:
        imap.append("INBOX", simple_message("read"), flags=[])
    cache = await _cache_holding_an_inbox_answer()
    calls = WorkerCalls({"imap": imap_worker}, cache)
    email_id = await _first_inbox_id(imap_worker)
    await calls.run(mail.GET_EMAIL, GetEmailArgs(email_id, mark_read=mark_read), timeout=10)
    assert (cache.get("inbox listing") is not None) == kept
