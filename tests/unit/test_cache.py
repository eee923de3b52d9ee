"""SessionCache: TTL, LRU by entries and bytes, tags."""

from __future__ import annotations

import pytest

from supervisor.cache import SessionCache
from tests.fake_clock import FakeClock


def test_an_entry_is_served_until_its_ttl_runs_out() -> None:
    clock = FakeClock()
    cache = SessionCache(10, 10_000, clock=clock)
    cache.put("k", "v", size=1, ttl=300, validator="t1")
    clock.now += 299
    entry = cache.get("k")
    assert entry is not None and entry.value == "v" and entry.validator == "t1"
    clock.now += 2
    assert cache.get("k") is None
    stale = cache.get_stale("k")
    assert stale is not None and stale.age(clock.now) == 301


def test_the_least_recently_used_entry_goes_first_when_full() -> None:
    cache = SessionCache(2, 10_000, clock=FakeClock())
    cache.put("a", 1, size=1, ttl=60)
    cache.put("b", 2, size=1, ttl=60)
    cache.get("a")
    cache.put("c", 3, size=1, ttl=60)
    assert cache.get("b") is None
    assert cache.get("a") is not None and cache.get("c") is not None
    assert cache.evictions == 1


@pytest.mark.parametrize(
    ("sizes", "kept"),
    [
        pytest.param({"a": 60, "b": 60}, {"b"}, id="the-oldest-goes"),
        pytest.param({"a": 10, "huge": 101}, {"a"}, id="one-larger-than-the-budget-is-not-kept"),
    ],
)
def test_the_byte_budget_of_100_is_kept(sizes: dict[str, int], kept: set[str]) -> None:
    cache = SessionCache(100, 100, clock=FakeClock())
    for key, size in sizes.items():
        cache.put(key, key, size=size, ttl=60)
    assert {key for key in sizes if cache.get(key) is not None} == kept
    assert cache.size_bytes == sum(sizes[key] for key in kept)


def test_invalidating_a_tag_drops_exactly_the_entries_carrying_it() -> None:
    cache = SessionCache(100, 10_000, clock=FakeClock())
    cache.put("folders", 1, size=1, ttl=60, tags=["imap:folders"])
    cache.put("inbox", 2, size=1, ttl=60, tags=["imap:folder:INBOX"])
    cache.put("both", 3, size=1, ttl=60, tags=["imap:folders", "imap:folder:Sent"])
    assert cache.invalidate("imap:folders") == 2
    assert cache.get("inbox") is not None
    assert cache.get("folders") is None and cache.get("both") is None
    assert repr(cache) == "<SessionCache entries=1 bytes=1>"


def test_replacing_a_key_does_not_double_count_its_size() -> None:
    cache = SessionCache(100, 10_000, clock=FakeClock())
    cache.put("a", 1, size=10, ttl=60)
    cache.put("a", 2, size=30, ttl=60)
    assert cache.size_bytes == 30 and len(cache) == 1


def test_a_zero_ttl_disables_caching() -> None:
    cache = SessionCache(100, 10_000, clock=FakeClock())
    cache.put("a", 1, size=1, ttl=0)
    assert cache.get("a") is None
