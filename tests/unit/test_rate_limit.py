"""The token bucket that keeps a looping model from hammering the provider (no sleeps: a fake clock)."""

from __future__ import annotations

import pytest

from protocol.errors import RateLimited
from supervisor.rate_limit import TokenBucket
from tests.fake_clock import FakeClock


def test_a_burst_up_to_its_size_passes_without_waiting() -> None:
    bucket = TokenBucket("IMAP", per_minute=60, burst=5, clock=FakeClock())
    assert [bucket.reserve() for _ in range(5)] == [0.0] * 5


def test_requests_beyond_the_burst_wait_one_interval_each() -> None:
    bucket = TokenBucket("IMAP", per_minute=60, burst=2, clock=FakeClock())
    bucket.reserve(), bucket.reserve()
    assert bucket.reserve() == pytest.approx(1.0)
    assert bucket.reserve() == pytest.approx(2.0)
    assert bucket.delayed == 2


def test_tokens_come_back_with_time_up_to_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket("IMAP", per_minute=60, burst=3, clock=clock)
    for _ in range(3):
        bucket.reserve()
    clock.now += 3600  # an hour idle refills only the burst, not an hour's worth
    assert [bucket.reserve() for _ in range(3)] == [0.0] * 3
    assert bucket.reserve() == pytest.approx(1.0)


def test_a_flood_is_refused_with_a_sentence_once_the_wait_is_too_long() -> None:
    bucket = TokenBucket("CalDAV", per_minute=60, burst=1, max_wait=3.0, clock=FakeClock())
    waits = [bucket.reserve() for _ in range(4)]
    assert waits == pytest.approx([0.0, 1.0, 2.0, 3.0])
    with pytest.raises(RateLimited) as refused:
        bucket.reserve()
    assert (
        "Too many CalDAV requests" in refused.value.message
        and "60 a minute" in refused.value.message
    )
    assert bucket.refused == 1


def test_a_refused_request_does_not_use_up_a_token() -> None:
    clock = FakeClock()
    bucket = TokenBucket("SMTP", per_minute=60, burst=1, max_wait=0.5, clock=clock)
    bucket.reserve()
    with pytest.raises(RateLimited):
        bucket.reserve()
    clock.now += 1.0
    assert bucket.reserve() == 0.0


def test_a_caller_may_allow_a_longer_wait_than_the_buckets_own() -> None:
    bucket = TokenBucket("IMAP", per_minute=60, burst=1, max_wait=0.5, clock=FakeClock())
    bucket.reserve()
    assert bucket.reserve(max_wait=30.0) == pytest.approx(1.0)
    with pytest.raises(RateLimited):
        bucket.reserve(max_wait=1.5)
