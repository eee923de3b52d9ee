"""Files on the user's disk: safe names in the download folder, never overwriting.

A file name in a mail is chosen by its sender. It must not climb out of the
folder (``../``), hide (``.bashrc``), name a device (``CON`` on Windows), carry
control characters, or be longer than a file system allows.
"""

from __future__ import annotations

import os
import re
import secrets
import time
import unicodedata
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from protocol.errors import Refused
from protocol.processes import process_alive

MAX_NAME_BYTES = 200  # leaves room for " (123)" under the common 255-byte limit
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


def safe_filename(name: str | None, fallback: str = "attachment") -> str:
    """A name that is one harmless path component on Linux, macOS and Windows."""
    # A sender's path means nothing here: keep only its last component.
    text = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text
    )
    text = _UNSAFE.sub("_", text)
    text = " ".join(text.split()).strip(" .")
    if not text or set(text) <= {"_", ".", " "}:
        text = fallback
    if _WINDOWS_RESERVED.match(text):
        text = f"_{text}"
    return _shorten(text)


def _shorten(name: str) -> str:
    if len(name.encode("utf-8")) <= MAX_NAME_BYTES:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 16:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    budget = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    short = stem.encode("utf-8")[:budget].decode("utf-8", "ignore").rstrip(" .")
    return (short or "attachment") + suffix


def _numbered(name: str, number: int) -> str:
    if number == 0:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return f"{name} ({number})"
    return f"{stem} ({number}).{ext}"


def download_folder(configured: str) -> Path:
    """The download folder, created (private to the user) if missing, symlinks resolved."""
    folder = Path(configured).expanduser()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise Refused(
            f"The download folder {folder} cannot be created ({exc.strerror}); "
            "set MAILBOX_DOWNLOAD_DIR to a folder you can write to."
        ) from None
    folder = folder.resolve()
    remove_abandoned_parts(folder)
    return folder


PART_SUFFIX = ".part"
_PART_NAME = re.compile(r"^\.(?:(\d+)-)?[0-9a-f]{16}\.part$")
ABANDONED_AFTER = 24 * 3600
"""A part file of a process that cannot be checked (Windows; older names) counts as
abandoned after a day without writes."""


def remove_abandoned_parts(folder: Path) -> list[Path]:
    """Delete the unfinished downloads of processes that ended (a worker killed mid-save);
    the ones of running processes, this one's or another server's, stay. Returns those removed."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        match = _PART_NAME.match(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False):
            continue
        owner = int(match.group(1)) if match.group(1) else None
        try:
            stale = now - entry.stat(follow_symlinks=False).st_mtime > ABANDONED_AFTER
            if (owner is not None and not process_alive(owner)) or stale:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


class NewFile:
    """A file written under a hidden temporary name, then published under the first
    free ``name``, ``name (1)``, ... in ``folder``. A failure leaves nothing behind.

    Publishing uses a hard link, which fails instead of replacing an existing file,
    so a file that appears meanwhile is never overwritten.
    """

    def __init__(self, folder: Path, name: str | None, fallback: str) -> None:
        self.folder = folder
        self.name = safe_filename(name, safe_filename(fallback))
        self._temp = folder / f".{os.getpid()}-{secrets.token_hex(8)}{PART_SUFFIX}"
        self.path: Path | None = None
        self.size = 0
        self._file: BinaryIO | None = None

    def __enter__(self) -> NewFile:
        fd = os.open(
            self._temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600
        )
        self._file = os.fdopen(fd, "wb")
        return self

    def write(self, data: bytes) -> None:
        assert self._file is not None
        self._file.write(data)
        self.size += len(data)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._file is not None
        try:
            self._file.close()
            if exc_type is None:
                self.path = self._publish()
        finally:
            self._temp.unlink(missing_ok=True)

    def _publish(self) -> Path:
        for number in range(10_000):
            name = _numbered(self.name, number)
            if os.sep in name or name in (".", ".."):  # safe_filename rules this out; be sure
                raise Refused("The attachment's name would leave the download folder.")
            target = self.folder / name
            try:
                os.link(self._temp, target)
            except FileExistsError:
                continue
            except OSError:
                # No hard links here (FAT, some network shares): claim the name
                # exclusively, then move the finished file onto our own claim.
                try:
                    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                except FileExistsError:
                    continue
                os.replace(self._temp, target)
            return target
        raise Refused(
            f"The download folder already holds 10,000 files named like {self.name}; "
            "tidy it up and try again."
        )
