"""What a test needs from the machine: a skip on a developer's machine, a failure on CI."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    """Skip for want of ``reason``, except on CI (CI=true), whose .ci/run installs
    everything the suite needs: there a missing piece must not hide a test."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI must run this test, but {reason}; fix .ci/run", pytrace=False)
    pytest.skip(reason)
