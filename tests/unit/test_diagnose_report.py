"""The ``--diagnose`` report: one line per check, advice under a failure, the verdict last."""

from __future__ import annotations

import io
import json

from protocol.diagnosis import Check, skipped
from supervisor.diagnose import passed, report, verdict

OK = Check("imap dns", True, "localhost is 127.0.0.1", 0.002)
REFUSED = Check(
    "imap connect",
    False,
    "localhost:1 refused the connection",
    0.001,
    advice="Check MAILBOX_IMAP_PORT (993, IMAP over TLS).",
)
LOGIN = Check("smtp login", False, "refused", 0.2, advice="Use an app password.")
NO_SENT = Check(
    "imap sent folder",
    True,
    "no Sent folder: mail you send still goes out, but no copy of it is kept",
    0.001,
    advice="Create a folder for sent mail.",
)


def text_of(checks: list[Check], seconds: float = 1.5, *, verbose: bool = False) -> list[str]:
    out = io.StringIO()
    report(checks, out, as_json=False, seconds=seconds, verbose=verbose)
    return out.getvalue().splitlines()


def test_the_verdict_names_the_first_failure_and_what_to_do() -> None:
    line = verdict([OK, REFUSED, skipped("imap tls", "imap connect"), LOGIN], 1.0)
    assert line == (
        "Not ready: imap connect failed: localhost:1 refused the connection. What to do: "
        "Check MAILBOX_IMAP_PORT (993, IMAP over TLS). (1 other check failed as well; fix "
        "this one first, then run --diagnose again.)"
    )


def test_a_skipped_check_has_not_passed() -> None:
    assert not passed([OK, skipped("imap tls", "imap connect")])


def test_warnings_pass_and_are_named_in_the_verdict() -> None:
    assert passed([OK, NO_SENT])
    assert verdict([OK, NO_SENT], 1.25) == (
        "Ready, with 1 warning (imap sent folder; see above): 2 checks passed in 1.2 s. "
        "Add the server to Claude Desktop."
    )


def test_all_passing_says_ready_with_the_time_taken() -> None:
    assert (
        verdict([OK], 0.8)
        == "Ready: all 1 checks passed in 0.8 s. Add the server to Claude Desktop."
    )


def test_each_check_is_one_line_with_status_name_time_and_detail() -> None:
    lines = text_of([OK, REFUSED, skipped("imap tls", "imap connect")])
    assert lines[0].split(None, 4) == ["ok", "imap", "dns", "2", "ms  localhost is 127.0.0.1"]
    assert lines[1].startswith("FAIL  imap connect")
    assert lines[3].split() == [
        "skip",
        "imap",
        "tls",
        "not",
        "checked,",
        "because",
        "imap",
        "connect",
        "failed",
    ]


def test_advice_is_printed_under_a_failure_and_a_warning() -> None:
    lines = text_of([REFUSED, NO_SENT])
    assert lines[1].strip() == "what to do: Check MAILBOX_IMAP_PORT (993, IMAP over TLS)."
    assert lines[3].strip() == "what to do: Create a folder for sent mail."


def test_the_verdict_is_the_last_line() -> None:
    assert text_of([OK, REFUSED])[-1].startswith("Not ready: imap connect failed")


def test_json_has_status_advice_and_milliseconds_for_every_check() -> None:
    out = io.StringIO()
    report([OK, REFUSED, skipped("imap tls", "imap connect")], out, as_json=True, seconds=1.5)
    payload = json.loads(out.getvalue())
    assert payload["ok"] is False and payload["ms"] == 1500.0
    assert payload["first_failure"] == {
        "name": "imap connect",
        "detail": "localhost:1 refused the connection",
        "advice": "Check MAILBOX_IMAP_PORT (993, IMAP over TLS).",
    }
    assert [(c["name"], c["status"], c["ms"]) for c in payload["checks"]] == [
        ("imap dns", "ok", 2.0),
        ("imap connect", "failed", 1.0),
        ("imap tls", "skipped", 0.0),
    ]
    assert payload["checks"][1]["advice"] == REFUSED.advice
    assert payload["verdict"].startswith("Not ready: imap connect failed")


SKIPPED_AFTER_CONNECT = [
    skipped(n, "imap connect") for n in ("imap tls", "imap login", "imap folders")
]


def test_checks_skipped_in_a_row_for_one_reason_share_one_line() -> None:
    lines = text_of([OK, REFUSED, *SKIPPED_AFTER_CONNECT, LOGIN])
    assert [line.split()[:3] for line in lines if line.startswith("skip")] == [
        ["skip", "3", "checks"]
    ]
    folded = next(line for line in lines if line.startswith("skip"))
    assert folded.endswith("not checked, because imap connect failed (imap tls to imap folders)"), (
        folded
    )
    assert lines[-3].startswith("FAIL  smtp login")  # what comes after is its own line


def test_skips_for_different_reasons_keep_their_own_lines() -> None:
    lines = text_of([REFUSED, skipped("imap tls", "imap connect"), skipped("smtp tls", "smtp dns")])
    assert [line.split()[1] for line in lines if line.startswith("skip")] == ["imap", "smtp"]


def test_verbose_prints_every_skipped_check_on_its_own_line() -> None:
    lines = text_of([REFUSED, *SKIPPED_AFTER_CONNECT], verbose=True)
    assert [" ".join(line.split()[1:3]) for line in lines if line.startswith("skip")] == [
        "imap tls",
        "imap login",
        "imap folders",
    ]


def test_json_lists_every_skipped_check_even_when_text_folds_them() -> None:
    out = io.StringIO()
    report([REFUSED, *SKIPPED_AFTER_CONNECT], out, as_json=True, seconds=1.0)
    names = [c["name"] for c in json.loads(out.getvalue())["checks"]]
    assert names == ["imap connect", "imap tls", "imap login", "imap folders"]
