"""Every request is defined once: each contract has one handler, each handler a contract."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import Any

import msgspec
import pytest

from protocol.calendar import CALENDAR_CONTRACTS
from protocol.contacts import CONTACT_CONTRACTS
from protocol.contract import SUPERVISOR, Contract, routes_for
from protocol.filters import FILTER_CONTRACTS
from protocol.invitations import INVITATION_CONTRACTS
from protocol.mail import MAIL_CONTRACTS
from protocol.status import SERVER_STATUS
from protocol.tasks import TASK_CONTRACTS
from supervisor.tools import ALL_TOOLS

FAMILY_TABLES: tuple[tuple[Contract[Any, Any], ...], ...] = (
    MAIL_CONTRACTS,
    CALENDAR_CONTRACTS,
    CONTACT_CONTRACTS,
    TASK_CONTRACTS,
    FILTER_CONTRACTS,
    INVITATION_CONTRACTS,
    (SERVER_STATUS,),
)
CONTRACTS = [contract for table in FAMILY_TABLES for contract in table]
WORKERS = sorted({c.worker for c in CONTRACTS} - {SUPERVISOR})
ROOT = Path(__file__).resolve().parents[2]


def routes_of(worker: str) -> dict[str, Any]:
    return dict(importlib.import_module(f"workers.{worker}.__main__").SPEC.routes)


@pytest.mark.parametrize("worker", WORKERS)
def test_every_contract_of_a_worker_has_exactly_its_handler(worker: str) -> None:
    routes = routes_of(worker)
    mine = [c for c in CONTRACTS if c.worker == worker]
    assert sorted(routes) == sorted(c.name for c in mine)
    for contract in mine:
        assert routes[contract.name][0] is contract


def test_every_contract_the_supervisor_serves_is_one_tool_it_runs_itself() -> None:
    theirs = [c for c in CONTRACTS if c.worker == SUPERVISOR]
    run_here = [s.contract for s in ALL_TOOLS if s.composite is not None or s.local]
    assert sorted(c.name for c in theirs) == sorted(c.name for c in run_here)


def test_every_tool_shows_a_contract_of_a_family_table() -> None:
    for spec in ALL_TOOLS:
        assert any(spec.contract is c for c in CONTRACTS), spec.name


def test_request_names_are_unique_per_worker() -> None:
    seen = [(c.worker, c.name) for c in CONTRACTS]
    assert len(seen) == len(set(seen))


def test_a_write_makes_stale_only_tags_that_some_read_produces() -> None:
    produced = {kind for c in CONTRACTS for kind in c.reads}
    for contract in CONTRACTS:
        assert set(contract.changes) <= produced, contract.name


def test_a_cached_read_is_revalidated_by_a_request_of_its_own_worker() -> None:
    for contract in CONTRACTS:
        check = contract.revalidated_by
        if check is not None:
            assert check.worker == contract.worker and check in CONTRACTS, contract.name
            assert contract.reads, f"{contract.name}: a cached answer must carry tags"


def test_a_read_that_may_write_says_what_it_makes_stale() -> None:
    for contract in CONTRACTS:
        may_write = contract.writes or contract.writes_when is not None
        if may_write and contract.worker not in (SUPERVISOR, "smtp"):
            assert contract.changes, contract.name


class _Args(msgspec.Struct):
    pass


async def _handler(args: _Args, state: object, ctx: object) -> None:
    return None


def test_routes_refuse_a_contract_without_a_handler() -> None:
    served, forgotten = Contract("a", "w", _Args, type(None)), Contract("b", "w", _Args, type(None))
    with pytest.raises(TypeError, match="without a handler: \\['b'\\]"):
        routes_for("w", (served, forgotten), {served: _handler})


def test_routes_refuse_a_handler_without_a_contract_of_that_worker() -> None:
    mine, elsewhere = Contract("a", "w", _Args, type(None)), Contract("b", "v", _Args, type(None))
    with pytest.raises(TypeError, match="without a contract of this worker: \\['b'\\]"):
        routes_for("w", (mine, elsewhere), {mine: _handler, elsewhere: _handler})


def _string_constants(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_request_names_and_tags_are_spelled_once_in_production_code() -> None:
    spelled = {c.name for c in CONTRACTS} | {
        kind.name for c in CONTRACTS for kind in (*c.reads, *c.changes)
    }
    places: dict[str, list[str]] = {}
    for package in ("protocol", "supervisor", "workers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for text in _string_constants(path):
                if text in spelled:
                    places.setdefault(text, []).append(str(path.relative_to(ROOT)))
    twice = {text: where for text, where in places.items() if len(where) > 1}
    assert not twice
