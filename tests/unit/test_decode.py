"""Decoding what strangers wrote degrades, never raises."""

from __future__ import annotations

import base64

import pytest

from workers.imap.decode import (
    charset_codec,
    decode_text,
    decode_words,
    header_addresses,
    header_date,
    transfer_decode,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("=?utf-8?q?Gr=C3=BC=C3=9Fe?= aus =?iso-8859-1?q?K=F6ln?=", "Grüße aus Köln"),
        ("=?UTF-8?B?8J+YgA==?= smile", "😀 smile"),
        ("=?x-unknown-charset?q?caf=E9?=", "café"),
        ("=?utf-8?q?broken", "=?utf-8?q?broken"),
        ("  folded\r\n   subject  ", "folded subject"),
    ],
)
def test_encoded_words_are_decoded(raw: str, expected: str) -> None:
    assert decode_words(raw) == expected


def test_unknown_and_missing_charsets_fall_back_sensibly() -> None:
    assert charset_codec("no-such-charset") == "windows-1252"
    assert charset_codec(None) == "utf-8"
    assert decode_text("Grüße".encode(), "us-ascii") == "Grüße"  # mislabelled UTF-8
    assert decode_text(b"caf\xe9", None) == "café"


def test_mislabelled_latin1_in_a_utf8_part_is_still_readable() -> None:
    text = decode_text("Käse".encode("latin-1"), "utf-8")
    assert text.startswith("K") and text.endswith("se") and len(text) == 4


def test_broken_base64_yields_what_can_be_read() -> None:
    good = base64.b64encode(b"Hello, world. " * 10)
    damaged = good[:40] + b"!!\x00" + good[40:-3]
    decoded, clean = transfer_decode(damaged, "base64")
    assert clean is False
    assert decoded.startswith(b"Hello, world. Hello, world.")


def test_quoted_printable_and_unknown_encodings() -> None:
    assert transfer_decode(b"caf=C3=A9=\r\nbar", "quoted-printable") == ("cafébar".encode(), True)
    assert transfer_decode(b"plain", "x-uuencode-ish") == (b"plain", True)


def test_a_hostile_from_header_does_not_recurse() -> None:
    hostile = "(" * 400 + "a@b.test" + ")" * 400
    assert isinstance(header_addresses([hostile]), list)


def test_dates_that_cannot_be_read_are_none() -> None:
    assert header_date("Thu, 01 Oct 2026 09:00:00 +0200") == "2026-10-01T09:00:00+02:00"
    assert header_date("the day after tomorrow") is None
    assert header_date(None) is None
