"""Saving into the download folder: safe names, never overwriting, nothing left on failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workers.files import NewFile, download_folder, safe_filename


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\win.ini", "win.ini"),
        (".bashrc", "bashrc"),
        ("...", "fallback.bin"),
        ("", "fallback.bin"),
        (None, "fallback.bin"),
        ("nul", "_nul"),
        ("COM1.txt", "_COM1.txt"),
        ("lpt9", "_lpt9"),
        ("a\r\nb\x00c.txt", "a b c.txt"),
        ("bidi\u202etxt.exe", "bidi txt.exe"),
        ('what?*:<>|".doc', "what_______.doc"),
        ("trailing. . ", "trailing"),
        ("Grüße März.pdf", "Grüße März.pdf"),
    ],
)
def test_file_names_from_strangers_become_one_harmless_component(
    name: str | None, safe: str
) -> None:
    assert safe_filename(name, "fallback.bin") == safe


def test_over_long_names_are_shortened_keeping_the_extension() -> None:
    result = safe_filename("ä" * 300 + ".pdf")
    assert result.endswith(".pdf")
    assert len(result.encode()) <= 200


def test_a_new_file_takes_the_next_free_name(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("mine")
    (tmp_path / "a (1).txt").write_text("mine too")
    with NewFile(tmp_path, "a.txt", "x") as out:
        out.write(b"new")
    assert out.path == tmp_path / "a (2).txt"
    assert (tmp_path / "a.txt").read_text() == "mine"
    assert out.path.read_bytes() == b"new"


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), NewFile(tmp_path, "a.txt", "x") as out:
        out.write(b"half")
        raise RuntimeError("connection lost")
    assert os.listdir(tmp_path) == []


def test_a_symlink_planted_under_the_target_name_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "a.txt").symlink_to(outside)
    with NewFile(folder, "a.txt", "x") as out:
        out.write(b"new")
    assert out.path == folder / "a (1).txt"
    assert outside.read_text() == "keep"


def test_the_download_folder_is_created_private(tmp_path: Path) -> None:
    folder = download_folder(str(tmp_path / "new" / "downloads"))
    assert folder.is_dir()
    assert folder.stat().st_mode & 0o077 == 0
