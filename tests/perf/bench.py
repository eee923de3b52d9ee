"""What every benchmark shares: timing, the report (one table at the end), memory, sizes.

Each benchmark adds its rows to ``REPORT``: a latency beside its floor (the same
server work done by a bare library call in the same run), or a single figure
(seconds, MB, calls/s, bytes). tests/perf/conftest.py prints the whole table
after the run and writes it to tests/perf/results/bench.json. Targets come from
the issue and are reported beside the figures, never asserted.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import mcp_types as types
from caldav.davclient import DAVClient
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.mcp_client import REPO, text_of
from tests.perf.seed_mail import Seeded
from tests.servers.dav import DavAccount, RadicaleServer
from tests.servers.dovecot import Account, DovecotServer

ROUNDS = 40
RESULTS = REPO / "tests" / "perf" / "results"
MINIMAL_SERVER = REPO / "tests" / "perf" / "minimal_server.py"


def summary(samples: list[float]) -> dict[str, float]:
    """p50, p95 and max of ``samples`` (seconds) in milliseconds."""
    ordered = sorted(samples)
    return {
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000,
        "max_ms": ordered[-1] * 1000,
    }


Call = Callable[[], Awaitable[Any]]


async def timed(call: Call, rounds: int = ROUNDS) -> list[float]:
    """Seconds each of ``rounds`` calls took, after one call to warm up."""
    await call()
    return [await _clocked(call) for _ in range(rounds)]


async def timed_side_by_side(
    ours: Call, floor: Call, rounds: int = ROUNDS
) -> tuple[list[float], list[float]]:
    """Like ``timed`` for both, taking turns, so both see the same load on a shared machine."""
    await ours()
    await floor()
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        samples[0].append(await _clocked(ours))
        samples[1].append(await _clocked(floor))
    return samples


async def _clocked(call: Call) -> float:
    start = time.perf_counter()
    await call()
    return time.perf_counter() - start


@dataclass
class Row:
    """One latency: ours through MCP (or the pipe), beside its floor."""

    p50_ms: float
    p95_ms: float
    max_ms: float
    samples: int
    floor_p50_ms: float | None = None
    floor: str = ""  # what the floor is
    target: float | None = None  # the ratio to the floor the issue asks for
    round_trips: str = ""  # IMAP commands, ours/floor, where recorded

    @property
    def ratio(self) -> float | None:
        return self.p50_ms / self.floor_p50_ms if self.floor_p50_ms else None


@dataclass
class Figure:
    """One number that is not a latency: seconds, MB, calls/s, bytes."""

    value: float
    unit: str
    note: str = ""


@dataclass
class Report:
    rows: dict[str, Row] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    commands: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def latency(
        self,
        measure: str,
        samples: list[float],
        floor_samples: list[float] | None = None,
        *,
        floor: str = "",
        target: float | None = None,
    ) -> Row:
        """Add (and print) a latency row; the floor is its samples' median."""
        floor_p50 = statistics.median(floor_samples) * 1000 if floor_samples else None
        stats = summary(samples)
        row = Row(
            stats["p50_ms"],
            stats["p95_ms"],
            stats["max_ms"],
            len(samples),
            floor_p50,
            floor,
            target,
        )
        self.rows[measure] = row
        print(_row_line(measure, row))
        return row

    def figure(self, measure: str, value: float, unit: str, note: str = "") -> None:
        self.figures[measure] = Figure(value, unit, note)
        print(_figure_line(measure, self.figures[measure]))

    def record_commands(self, measure: str, ours: list[str], floor: list[str]) -> None:
        """The IMAP commands one call sent, ours and the floor's (from Dovecot's rawlog)."""
        self.commands[measure] = {"ours": ours, "floor": floor}
        if measure in self.rows:
            self.rows[measure].round_trips = f"{len(ours)}/{len(floor)}"

    def table(self) -> str:
        lines = [_HEADER]
        lines += [_row_line(name, row) for name, row in self.rows.items()]
        lines += ["", "floors:"]
        lines += [f"  {name}: {row.floor}" for name, row in self.rows.items() if row.floor]
        lines += ["", f"{'figure':<52} {'value':>12}  unit"]
        lines += [_figure_line(name, figure) for name, figure in self.figures.items()]
        return "\n".join(lines)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = {name: {**asdict(row), "ratio": row.ratio} for name, row in self.rows.items()}
        figures = {name: asdict(figure) for name, figure in self.figures.items()}
        body = {"rows": rows, "figures": figures, "commands": self.commands}
        path.write_text(json.dumps(body, indent=2, ensure_ascii=False))


REPORT = Report()

_HEADER = (
    f"{'measure':<52} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9} {'floor ms':>9} "
    f"{'ratio':>6} {'target':>6} {'cmds':>6}"
)


def _row_line(name: str, row: Row) -> str:
    floor = f"{row.floor_p50_ms:9.2f}" if row.floor_p50_ms is not None else f"{'-':>9}"
    ratio = f"{row.ratio:6.2f}" if row.ratio is not None else f"{'-':>6}"
    target = f"{row.target:6.2f}" if row.target is not None else f"{'':>6}"
    return (
        f"{name:<52} {row.p50_ms:9.2f} {row.p95_ms:9.2f} {row.max_ms:9.2f} {floor} "
        f"{ratio} {target} {row.round_trips:>6}"
    )


def _figure_line(name: str, figure: Figure) -> str:
    note = f"  ({figure.note})" if figure.note else ""
    return f"{name:<52} {figure.value:12.2f}  {figure.unit}{note}"


# -- the MCP floor: the minimal SDK server, answering nothing or one of our answers ------


@dataclass(frozen=True)
class Replay:
    """One of our answers, to be delivered again by the minimal server's ``replay`` tool."""

    output_schema: dict[str, Any]
    text: str
    structured: dict[str, Any]


async def answer_of(session: ClientSession, tool: str, args: dict[str, Any]) -> Replay:
    """What ``tool`` answers ``args`` on our server, with the output schema it declares."""
    listed = {t.name: t for t in (await session.list_tools()).tools}
    answer = await session.call_tool(tool, args)
    assert not answer.is_error and answer.structured_content is not None, text_of(answer)
    schema = listed[tool].output_schema
    assert schema is not None
    return Replay(dict(schema), text_of(answer), dict(answer.structured_content))


@asynccontextmanager
async def minimal_server(replay: Replay | None = None) -> AsyncIterator[ClientSession]:
    """A session with tests/perf/minimal_server.py: ``noop``, and ``replay`` if given."""
    with tempfile.TemporaryDirectory() as workdir:
        env = None
        if replay is not None:
            path = Path(workdir) / "replay.json"
            path.write_text(json.dumps(asdict(replay)))
            env = {"FLOOR_REPLAY": str(path)}
        params = StdioServerParameters(
            command=sys.executable, args=[str(MINIMAL_SERVER)], env=env, cwd=workdir
        )
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            await session.list_tools()  # the client validates replay's answer from now on
            yield session


async def beside_bare_work_and_delivery(
    measure: str,
    session: ClientSession,
    call: tuple[str, dict[str, Any]],
    bare_work: Callable[[], Any],
    *,
    floor_is: str,
    rounds: int,
    target: float | None,
) -> int:
    """Time ``call`` on our server beside ``bare_work`` followed by the minimal SDK
    server delivering the very answer ``call`` gives: the floor of a tool over MCP.
    Adds the row "<measure> vs bare + MCP"; returns how many calls it made."""
    tool, args = call
    async with minimal_server(await answer_of(session, tool, args)) as sdk:

        async def ours() -> object:
            return await session.call_tool(tool, args)

        async def floor() -> object:
            await sdk.call_tool("replay", {})
            return bare_work()

        samples, floor_samples = await timed_side_by_side(ours, floor, rounds)
    REPORT.latency(
        f"{measure} vs bare + MCP",
        samples,
        floor_samples,
        floor=f"{floor_is}, then the minimal SDK server delivering the same answer",
        target=target,
    )
    return len(samples) + 2  # answer_of's call and the warm-up


# -- the seeded account and what its IMAP sessions sent ------------------------------


@dataclass(frozen=True)
class BenchAccount:
    mail: Seeded
    calendar: DavAccount
    radicale: RadicaleServer

    @property
    def account(self) -> Account:
        return self.mail.account

    @property
    def calendar_url(self) -> str:
        """The seeded calendar's absolute URL."""
        return self.radicale.url.rstrip("/") + self.radicale.calendar_path(self.calendar)

    @property
    def home_url(self) -> str:
        return self.radicale.url.rstrip("/") + self.radicale.home_path(self.calendar)

    def dav_client(self) -> DAVClient:
        """A bare caldav client of the calendar account (Radicale's first read of
        thousands of events takes longer than a usual timeout)."""
        return DAVClient(
            url=self.calendar.url,
            username=self.calendar.username,
            password=self.calendar.password,
            ssl_verify_cert=str(self.radicale.certificates.ca_file),
            enable_rfc6764=False,
            timeout=300,
        )


@contextmanager
def recording(dovecot: DovecotServer, account: Account) -> Iterator[None]:
    """Dovecot logs the IMAP commands of ``account``'s sessions opened inside the block.

    Its rawlog also writes every answer to disk, so it is turned off (the folder
    removed) before anything is timed; sessions opened later are not logged.
    """
    dovecot.record_commands(account)
    try:
        yield
    finally:
        shutil.rmtree(dovecot.root / "rawlog" / account.email)


@contextmanager
def commands_of(dovecot: DovecotServer, account: Account) -> Iterator[list[str]]:
    """The IMAP commands sent inside the block (tags left out), once it ends."""
    before = len(dovecot.commands_sent(account))
    sent: list[str] = []
    yield sent
    sent += [line.split(" ", 1)[1] for line in dovecot.commands_sent(account)[before:]]


# -- what a process holds, what an answer costs the model -----------------------------


@dataclass(frozen=True)
class Memory:
    rss_mb: float  # resident now
    hwm_mb: float  # the peak so far (high-water mark)


def memory_of(pid: int) -> Memory:
    """VmRSS and VmHWM of a running process, from /proc/<pid>/status (Linux)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024  # kB
    return Memory(fields["VmRSS"], fields["VmHWM"])


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rpartition(")")[2].split()[1])


@dataclass(frozen=True)
class AnswerSize:
    """How much a tool answer's text costs the model."""

    bytes: int
    words: int

    @property
    def tokens_by_bytes(self) -> float:
        return self.bytes / 4  # the usual rule of thumb for English text

    @property
    def tokens_by_words(self) -> float:
        return self.words * 4 / 3  # about three words to four tokens


def answer_size(result: types.CallToolResult) -> AnswerSize:
    text = text_of(result)
    return AnswerSize(len(text.encode()), len(text.split()))
