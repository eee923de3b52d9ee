"""The settings each worker is configured with never show its password in a repr."""

from __future__ import annotations

import msgspec
import pytest

from protocol.filters import SieveSettings
from protocol.settings import DavSettings, ImapSettings, SmtpSettings

SECRET = "App-Pass-4711"
LOGIN = {"username": "anna@example.org", "password": SECRET}


@pytest.mark.parametrize(
    "settings",
    [
        ImapSettings(host="imap.example.org", port=993, **LOGIN),
        SmtpSettings(
            host="smtp.example.org",
            port=465,
            security="tls",
            from_address="anna@example.org",
            **LOGIN,
        ),
        DavSettings(url="https://dav.example.org/", **LOGIN),
        SieveSettings(host="imap.example.org", port=4190, **LOGIN),
    ],
    ids=lambda settings: type(settings).__name__,
)
def test_a_workers_settings_repr_masks_the_password_and_shows_the_rest(
    settings: msgspec.Struct,
) -> None:
    shown = repr(settings)
    assert SECRET not in shown and "password='***'" in shown
    assert shown.startswith(f"{type(settings).__name__}(") and "anna@example.org" in shown
    # The password still reaches the worker: only the repr masks it.
    assert SECRET.encode() in msgspec.msgpack.encode(settings)
