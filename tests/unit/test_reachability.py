"""Writes fail fast, and say nothing changed, while a server was just found unreachable."""

from __future__ import annotations

import pytest

from protocol.errors import NotFound, ServerTimeout, Unavailable
from supervisor.reachability import Reachability
from tests.fake_clock import FakeClock


def test_writes_go_ahead_while_nothing_has_failed() -> None:
    Reachability("IMAP", clock=FakeClock()).check_write()


@pytest.mark.parametrize("error", [ServerTimeout("no answer."), Unavailable("refused.")])
def test_a_network_failure_makes_the_next_write_fail_at_once(error: Exception) -> None:
    clock = FakeClock()
    reach = Reachability("IMAP", window=20, clock=clock)
    reach.note(error)  # type: ignore[arg-type]
    clock.now += 3
    with pytest.raises(Unavailable) as refused:
        reach.check_write()
    assert refused.value.message.startswith(
        "Nothing was changed: the IMAP server could not be reached 3 s ago"
    )
    assert reach.writes_refused == 1


def test_a_refusal_by_the_server_is_not_a_network_failure() -> None:
    reach = Reachability("IMAP", clock=FakeClock())
    reach.note(NotFound("gone."))
    reach.check_write()


def test_any_call_that_gets_through_clears_the_failure() -> None:
    reach = Reachability("CalDAV", clock=FakeClock())
    reach.note(ServerTimeout("no answer."))
    reach.note(None)
    reach.check_write()


def test_after_the_window_a_write_is_tried_again() -> None:
    clock = FakeClock()
    reach = Reachability("SMTP", window=20, clock=clock)
    reach.note(Unavailable("refused."))
    clock.now += 21
    reach.check_write()
    reach.check_write()
