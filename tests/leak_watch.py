"""Watches everything the suite sees the server say for any password the suite used.

Every tool answer (text and structured content), every server log written
through ``mcp_session`` and every ``--diagnose`` output is checked, at the
moment it is seen, against every password known by then: account passwords,
and wrong ones the tests pass on purpose. ``tests/security/test_zzz_no_credential_leaks.py``
fails the run if anything leaked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class LeakWatch:
    secrets: set[str] = field(default_factory=set)
    leaks: list[str] = field(default_factory=list)
    outputs_checked: int = 0
    logs_checked: int = 0
    bytes_checked: int = 0

    def secret(self, value: str | None) -> None:
        """A password the server must never show; very short values would match by chance."""
        if value and len(value) >= 8:
            self.secrets.add(value)

    def output(self, where: str, content: Any) -> None:
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        self.outputs_checked += 1
        self._check(where, text)

    def log(self, path: Path) -> None:
        if path.exists():
            self.logs_checked += 1
            self._check(str(path), path.read_text(errors="replace"))

    def _check(self, where: str, text: str) -> None:
        self.bytes_checked += len(text)
        for secret in self.secrets:
            if secret in text:
                self.leaks.append(f"{where}: a password appears at offset {text.index(secret)}")


WATCH = LeakWatch()
