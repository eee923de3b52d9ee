"""A Pong answers only the Ping with its own id (supervisor.ping_book)."""

from __future__ import annotations

from supervisor.ping_book import PingBook


def test_a_pong_answers_only_the_ping_with_its_id() -> None:
    book = PingBook()
    heartbeat_id, heartbeat = book.new()
    metrics_id, metrics = book.new()
    assert book.answer(metrics_id)
    assert metrics.is_set() and not heartbeat.is_set()
    assert book.answer(heartbeat_id)
    assert heartbeat.is_set()


def test_a_pong_that_comes_after_its_ping_gave_up_answers_no_newer_ping() -> None:
    book = PingBook()
    old_id, _old = book.new()
    book.forget(old_id)  # timed out
    new_id, new = book.new()
    assert not book.answer(old_id)
    assert not new.is_set()
    assert book.answer(new_id)


def test_a_pong_counts_once_and_a_made_up_id_never() -> None:
    book = PingBook()
    ping_id, _answered = book.new()
    assert book.answer(ping_id)
    assert not book.answer(ping_id)
    assert not book.answer(0)
    assert repr(book) == "<PingBook waiting=[]>"


def test_ping_ids_never_repeat() -> None:
    book = PingBook()
    ids = [book.new()[0] for _ in range(100)]
    assert len(set(ids)) == 100 and 0 not in ids
