"""Settings from the environment, with one-sentence errors."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from protocol.errors import ConfigError
from supervisor.config import TOOL_FAMILIES, load_settings, resolve_password, setting_names
from supervisor.families.calendar import DAV_WORKER
from supervisor.families.mail import IMAP_WORKER, SMTP_WORKER

BASE = {"MAILBOX_EMAIL": "anna@mailbox.org", "MAILBOX_PASSWORD": "app-pass-1234"}


def test_defaults_point_at_mailbox_org() -> None:
    settings = load_settings(BASE)
    imap, smtp = IMAP_WORKER.section(settings), SMTP_WORKER.section(settings)
    assert (imap.host, imap.port) == ("imap.mailbox.org", 993)
    assert (smtp.host, smtp.port, smtp.security) == ("smtp.mailbox.org", 465, "tls")
    assert DAV_WORKER.section(settings).url == "https://dav.mailbox.org/"
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
    assert DAV_WORKER.section(load_settings(env)).url == url


def test_the_password_is_not_in_the_settings_repr() -> None:
    assert "app-pass-1234" not in repr(load_settings(BASE))
    imap = IMAP_WORKER.worker_settings(load_settings(BASE), "app-pass-1234")
    assert "app-pass-1234" not in repr(imap)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "MAILBOX_IMAP_PORT",
            "99999",
            "MAILBOX_IMAP_PORT must be a whole number from 1 to 65535, such as 993; it is '99999'.",
        ),
        (
            "MAILBOX_SMTP_SECURITY",
            "maybe",
            "MAILBOX_SMTP_SECURITY must be tls (for port 465) or starttls (for port 587), "
            "such as tls; it is 'maybe'.",
        ),
        (
            "MAILBOX_READ_ONLY",
            "perhaps",
            "MAILBOX_READ_ONLY must be 1 (on) or 0 (off), such as 1; it is 'perhaps'.",
        ),
        (
            "MAILBOX_TOOLS",
            "mail,contact",
            "MAILBOX_TOOLS must be tool families separated by commas, from mail, calendar, "
            "contacts, filters, tasks, such as 'mail,calendar'; it is 'mail,contact'.",
        ),
        (
            "MAILBOX_TIMEZONE",
            "Mars/Olympus",
            "MAILBOX_TIMEZONE must be an IANA time zone, such as Europe/Berlin; it is 'Mars/Olympus'.",
        ),
        (
            "MAILBOX_CALDAV_URL",
            "dav.mailbox.org",
            "MAILBOX_CALDAV_URL must be an https:// URL, such as https://dav.mailbox.org/; "
            "it is 'dav.mailbox.org'.",
        ),
        (
            "MAILBOX_CACHE_EMAIL_TTL",
            "-5",
            "MAILBOX_CACHE_EMAIL_TTL must be a number of seconds (0 turns it off), such as 300; "
            "it is '-5'.",
        ),
        (
            "MAILBOX_IMAP_HOST",
            "imap.mailbox.org:993",
            "MAILBOX_IMAP_HOST must be a host name without port or scheme, such as "
            "imap.mailbox.org; it is 'imap.mailbox.org:993'.",
        ),
        (
            "MAILBOX_LOG_LEVEL",
            "loud",
            "MAILBOX_LOG_LEVEL must be one of debug, info, warning, error, such as info; "
            "it is 'loud'.",
        ),
    ],
)
def test_a_wrong_value_names_the_variable_and_what_it_expects(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, variable: value})
    assert caught.value.message == message


# Values no setting accepts, whatever its type; any text at all can be a password.
BAD_VALUES = ("two\nlines", "abc", "-1")


def _complaint(variable: str, value: str) -> str | None:
    """The error for ``variable=value``, also from running a password command; None if accepted."""
    env = {**BASE, variable: value}
    if variable == "MAILBOX_PASSWORD_COMMAND":
        del env["MAILBOX_PASSWORD"]
    try:
        settings = load_settings(env)
        if variable == "MAILBOX_PASSWORD_COMMAND":
            resolve_password(settings)
    except ConfigError as exc:
        return exc.message
    return None


@pytest.mark.parametrize("variable", sorted(setting_names() - {"MAILBOX_PASSWORD"}))
def test_every_setting_with_a_wrong_value_is_named_with_an_example_of_a_right_one(
    variable: str,
) -> None:
    complaints = [c for c in (_complaint(variable, v) for v in BAD_VALUES) if c is not None]
    assert complaints, f"{variable} accepted every one of {BAD_VALUES}"
    for complaint in complaints:
        assert variable in complaint
        assert "such as" in complaint or "e.g." in complaint, complaint


def test_the_settings_are_all_found() -> None:
    assert {"MAILBOX_EMAIL", "MAILBOX_IMAP_PORT", "MAILBOX_PASSWORD_COMMAND"} <= setting_names()
    assert len(setting_names()) > 30


def test_an_address_without_at_sign_is_shown_with_an_example() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, "MAILBOX_EMAIL": "anna"})
    assert caught.value.message == (
        "MAILBOX_EMAIL must be your full mail address, such as you@mailbox.org; it is 'anna'."
    )


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
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, "MAILBOX_IMAP_POOL_MIN": "5", "MAILBOX_IMAP_POOL_MAX": "2"})
    assert caught.value.message == (
        "MAILBOX_IMAP_POOL_MIN must not be larger than MAILBOX_IMAP_POOL_MAX (2), such as 1; "
        "it is 5."
    )


def test_each_protocol_has_its_own_pool_size() -> None:
    settings = load_settings({**BASE, "MAILBOX_IMAP_POOL_MAX": "9", "MAILBOX_CALDAV_POOL_MAX": "3"})
    assert IMAP_WORKER.section(settings).pool.max_size == 9
    assert DAV_WORKER.section(settings).pool.max_size == 3
    assert SMTP_WORKER.section(settings).pool.max_size == 2  # untouched by the others


def test_each_protocol_has_its_own_rate_limit_variable() -> None:
    settings = load_settings({**BASE, "MAILBOX_RATE_LIMIT_CALDAV": "0"})
    assert DAV_WORKER.section(settings).rate_limit == 0
    assert IMAP_WORKER.section(settings).rate_limit > 0


def test_a_worker_family_reads_its_own_settings_slice() -> None:
    env = {**BASE, "MAILBOX_SMTP_HOST": "smtp.example.org", "MAILBOX_SMTP_POOL_MAX": "3"}
    smtp = SMTP_WORKER.worker_settings(load_settings(env), "pw")
    assert (smtp.host, smtp.pool.max_size) == ("smtp.example.org", 3)


def test_a_pool_minimum_is_a_setting_only_where_connections_are_kept_open() -> None:
    env = {**BASE, "MAILBOX_IMAP_POOL_MIN": "2", "MAILBOX_SMTP_POOL_MIN": "1"}
    settings = load_settings(env)
    assert IMAP_WORKER.section(settings).pool.min_size == 2
    assert SMTP_WORKER.section(settings).pool.min_size == 0
    assert any(w.startswith("MAILBOX_SMTP_POOL_MIN is not a setting") for w in settings.warnings)


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
    assert caught.value.message.startswith(
        "MAILBOX_PASSWORD_COMMAND exited with status 3; run it by hand to see why"
    )
    assert "secret-ish" not in caught.value.message


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


def test_mailbox_tools_chooses_families_and_defaults_to_all_of_them() -> None:
    assert load_settings(BASE).tool_families == TOOL_FAMILIES
    chosen = load_settings({**BASE, "MAILBOX_TOOLS": " Calendar , mail,mail"}).tool_families
    assert chosen == ("mail", "calendar")
    assert load_settings({**BASE, "MAILBOX_TOOLS": "filters"}).tool_families == ("filters",)
