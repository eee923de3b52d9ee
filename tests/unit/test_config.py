"""Settings from the environment, with one-sentence errors."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from protocol.errors import ConfigError
from supervisor.config import load_settings, resolve_password

BASE = {"MAILBOX_EMAIL": "anna@mailbox.org", "MAILBOX_PASSWORD": "app-pass-1234"}


def test_defaults_point_at_mailbox_org() -> None:
    settings = load_settings(BASE)
    assert (settings.imap_host, settings.imap_port) == ("imap.mailbox.org", 993)
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_security) == (
        "smtp.mailbox.org",
        465,
        "tls",
    )
    assert settings.caldav_url == "https://dav.mailbox.org/"
    assert (settings.cache_email_ttl, settings.cache_calendar_ttl) == (300, 900)
    assert settings.read_only is False


@pytest.mark.parametrize(
    ("url", "opt_in"),
    [
        ("http://dav.example.org/", "1"),  # never to another computer
        ("http://localhost:5232/", "0"),  # not without the opt-in
        ("http://127.0.0.1:5232/", ""),
    ],
)
def test_plain_http_is_refused_unless_to_loopback_with_the_opt_in(url: str, opt_in: str) -> None:
    env = {**BASE, "MAILBOX_CALDAV_URL": url, "MAILBOX_ALLOW_PLAINTEXT": opt_in}
    with pytest.raises(ConfigError, match="plain http is allowed only to this computer"):
        load_settings(env)


@pytest.mark.parametrize(
    "url", ["http://localhost:5232/", "http://127.0.0.1:5232/", "http://[::1]:5232/"]
)
def test_plain_http_to_loopback_is_allowed_with_the_opt_in(url: str) -> None:
    env = {**BASE, "MAILBOX_CALDAV_URL": url, "MAILBOX_ALLOW_PLAINTEXT": "1"}
    assert load_settings(env).caldav_url == url


def test_the_password_is_not_in_the_settings_repr() -> None:
    assert "app-pass-1234" not in repr(load_settings(BASE))
    assert "app-pass-1234" not in repr(load_settings(BASE).imap_settings("app-pass-1234"))


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "MAILBOX_IMAP_PORT",
            "99999",
            "MAILBOX_IMAP_PORT must be a whole number from 1 to 65535; got '99999'.",
        ),
        (
            "MAILBOX_SMTP_SECURITY",
            "maybe",
            "MAILBOX_SMTP_SECURITY must be one of tls, starttls; got 'maybe'.",
        ),
        ("MAILBOX_READ_ONLY", "perhaps", "MAILBOX_READ_ONLY must be 1 or 0; got 'perhaps'."),
        (
            "MAILBOX_TIMEZONE",
            "Mars/Olympus",
            "MAILBOX_TIMEZONE must be an IANA time zone such as Europe/Berlin; got 'Mars/Olympus'.",
        ),
        (
            "MAILBOX_CALDAV_URL",
            "dav.mailbox.org",
            "MAILBOX_CALDAV_URL must be an https:// URL such as https://dav.mailbox.org/; got 'dav.mailbox.org'.",
        ),
        (
            "MAILBOX_CACHE_EMAIL_TTL",
            "-5",
            "MAILBOX_CACHE_EMAIL_TTL must be a number of seconds, e.g. 30; got '-5'.",
        ),
        (
            "MAILBOX_IMAP_HOST",
            "imap.mailbox.org:993",
            "MAILBOX_IMAP_HOST must be a host name such as imap.mailbox.org; got 'imap.mailbox.org:993'.",
        ),
        (
            "MAILBOX_LOG_LEVEL",
            "loud",
            "MAILBOX_LOG_LEVEL must be one of debug, info, warning, error; got 'loud'.",
        ),
    ],
)
def test_a_wrong_value_names_the_variable_and_what_it_expects(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, variable: value})
    assert caught.value.message == message


def test_a_missing_email_is_explained() -> None:
    with pytest.raises(ConfigError, match="MAILBOX_EMAIL must be set"):
        load_settings({"MAILBOX_PASSWORD": "x"})


def test_a_missing_password_is_explained() -> None:
    with pytest.raises(ConfigError, match=r"Set MAILBOX_PASSWORD .* or MAILBOX_PASSWORD_COMMAND"):
        load_settings({"MAILBOX_EMAIL": "anna@mailbox.org"})


def test_a_missing_ca_file_is_explained(tmp_path: object) -> None:
    with pytest.raises(ConfigError, match="MAILBOX_CA_FILE must name a readable PEM file"):
        load_settings({**BASE, "MAILBOX_CA_FILE": "/nonexistent/ca.pem"})


def test_pool_minimum_may_not_exceed_maximum() -> None:
    with pytest.raises(ConfigError, match="MAILBOX_IMAP_POOL_MIN must not be larger"):
        load_settings({**BASE, "MAILBOX_IMAP_POOL_MIN": "5", "MAILBOX_IMAP_POOL_MAX": "2"})


def test_the_password_command_output_is_the_password() -> None:
    settings = load_settings(
        {
            "MAILBOX_EMAIL": "anna@mailbox.org",
            "MAILBOX_PASSWORD_COMMAND": f"{sys.executable} -c \"print('from-keyring')\"",
        }
    )
    assert resolve_password(settings) == "from-keyring"


def test_a_failing_password_command_does_not_show_its_output() -> None:
    settings = load_settings(
        {
            "MAILBOX_EMAIL": "anna@mailbox.org",
            "MAILBOX_PASSWORD_COMMAND": (
                f"{sys.executable} -c \"import sys; print('secret-ish'); sys.exit(3)\""
            ),
        }
    )
    with pytest.raises(ConfigError) as caught:
        resolve_password(settings)
    assert caught.value.message == (
        "MAILBOX_PASSWORD_COMMAND exited with status 3; run it by hand to see why."
    )


def test_a_password_command_that_does_not_exist_is_named() -> None:
    settings = load_settings(
        {
            "MAILBOX_EMAIL": "anna@mailbox.org",
            "MAILBOX_PASSWORD_COMMAND": "no-such-keyring-tool get",
        }
    )
    with pytest.raises(ConfigError, match="the program no-such-keyring-tool was not found"):
        resolve_password(settings)


def test_a_misspelt_variable_is_named_with_the_closest_setting() -> None:
    settings = load_settings({**BASE, "MAILBOX_IMAP_HOTS": "imap.example.org"})
    assert settings.warnings == (
        "MAILBOX_IMAP_HOTS is not a setting of this server and is ignored; "
        "did you mean MAILBOX_IMAP_HOST?",
    )


def test_every_documented_setting_is_known() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    documented = set(re.findall(r"`(MAILBOX_[A-Z_]+)`", readme))
    assert len(documented) > 30
    assert load_settings({**BASE, **dict.fromkeys(documented - set(BASE), "")}).warnings == ()


def test_an_unrelated_variable_gets_no_guess() -> None:
    (warning,) = load_settings({**BASE, "MAILBOX_XYZZY": "1"}).warnings
    assert warning.endswith("is ignored; the README lists the settings.")
