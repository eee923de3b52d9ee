"""Logging: stderr only, secrets masked."""

from __future__ import annotations

import io
import sys

import pytest
import structlog

from protocol.logs import configure_logging, redact, register_secret


def test_registered_secrets_are_masked_in_log_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    configure_logging("test", "info", "json")
    register_secret("hunter2-secret")
    structlog.get_logger().info(
        "login", detail="password was hunter2-secret", extra=["hunter2-secret"]
    )
    assert "hunter2-secret" not in err.getvalue()
    assert "***" in err.getvalue()


def test_nothing_is_logged_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test", "debug", "console")
    structlog.get_logger().warning("something happened")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "something happened" in captured.err


def test_redact_leaves_ordinary_text_alone() -> None:
    register_secret("s3cr3t-value")
    assert redact("nothing here") == "nothing here"
    assert redact("x s3cr3t-value y") == "x *** y"
