"""Who may import whom (DESIGN.md, Layout): the supervisor, its sandbox included, and
the workers depend on ``protocol`` and never on each other; nothing ships imports
from the tests; ``protocol`` imports none of them. Read from every module's source."""

from __future__ import annotations

import ast

import pytest

from tests.mcp_client import REPO

FORBIDDEN = {
    "supervisor": {"workers", "tests"},
    "workers": {"supervisor", "tests"},
    "protocol": {"supervisor", "workers", "tests"},
}


def imported_packages(source: str) -> set[str]:
    """The top-level packages a module imports anywhere in it, functions included."""
    packages = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            packages |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            packages.add(node.module.partition(".")[0])
    return packages


def test_imports_are_found_at_module_level_and_inside_functions() -> None:
    source = "import workers.imap\ndef f():\n    from tests.servers import tls\n"
    assert imported_packages(source) == {"workers", "tests"}


def test_the_sandbox_is_among_the_supervisor_s_modules_checked() -> None:
    modules = {path.relative_to(REPO).as_posix() for path in (REPO / "supervisor").rglob("*.py")}
    assert {"supervisor/sandbox/run.py", "supervisor/sandbox/dovecot.py"} <= modules


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_nothing_it_must_not_depend_on(package: str) -> None:
    wrong = {
        path.relative_to(REPO).as_posix(): sorted(imports & FORBIDDEN[package])
        for path in sorted((REPO / package).rglob("*.py"))
        if (imports := imported_packages(path.read_text(encoding="utf-8"))) & FORBIDDEN[package]
    }
    assert wrong == {}
