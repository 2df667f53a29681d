"""Ledger transactions per second on SQLite and PostgreSQL with 1, 4 and 8 writer processes.

    .venv/bin/python bench/ledger.py [--seconds 3] [--writers 1,4,8] [--postgres-url URL]

Each writer is a real process that records phase runs through the ledger's API for ``--seconds``:
one record is three transactions (the release row, the running row, the finished row with its check
row, hash-chained under the chain head's row lock). The floor it is compared with, in the same run,
is raw inserts of rows of the same size, one per transaction: ``sqlite3`` (WAL, synchronous=NORMAL,
BEGIN IMMEDIATE, as the ledger opens SQLite) and ``psycopg``. Without ``--postgres-url`` (or
``BMAD_TEST_POSTGRES_URL``) a throw-away PostgreSQL is started with the stack code the tests use.
Prints one table, the ratios, and the load average next to them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import socket
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Barrier

    from bmad.core.models import PhaseResult

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

TX_PER_RECORD = 3
_INSERT = "INSERT INTO raw_rows (service, phase, payload) VALUES ({p}, {p}, {p})"
_RAW_TABLE = "CREATE TABLE IF NOT EXISTS raw_rows (id {key}, service TEXT, phase TEXT, payload TEXT)"


@dataclass(frozen=True)
class Job:
    """What one writer process does: which backend, how (bmad or raw), for how long."""

    url: str
    raw: bool
    writer: int
    seconds: float
    payload: str


def _phase_result(started: datetime) -> PhaseResult:
    from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseResult, PhaseStatus

    check = CheckResult(
        id="bench.c1", title="bench check", status=CheckStatus.PASS, duration_seconds=0.01, summary="ok"
    )
    return PhaseResult(
        phase=PhaseName.BUILD,
        status=PhaseStatus.PASSED,
        checks=[check],
        metrics={"bench_metric": 1.0},
        artifacts={"image": "localhost/bench:1"},
        started_at=started,
        finished_at=started,
    )


def record_size() -> int:
    """Bytes of one phase record's content (run row and check row) as the ledger stores it."""
    from bmad.ledger.records import check_data

    result = _phase_result(datetime.now(UTC))
    checks = [check_data(check) for check in result.checks]
    return len(json.dumps({"metrics": result.metrics, "artifacts": result.artifacts, "checks": checks}))


def _until_deadline(job: Job, ready: Barrier, write: Callable[[int], None]) -> int:
    """Wait until every writer is connected and warmed up, then write for ``job.seconds``."""
    ready.wait()
    deadline = time.monotonic() + job.seconds
    count = 0
    while time.monotonic() < deadline:
        write(count)
        count += 1
    return count


def _bmad_writer(job: Job, ready: Barrier) -> int:
    from bmad.core.models import Release
    from bmad.ledger import Ledger

    with Ledger.open(job.url) as ledger:
        result = _phase_result(datetime.now(UTC))
        ledger.record_phase(Release(f"warm-up-{job.writer}", "dev", "0" * 40), result)  # loads SQLAlchemy

        def write(n: int) -> None:
            ledger.record_phase(Release(f"bench-{job.writer}", "dev", f"{n:040x}"), result)

        return _until_deadline(job, ready, write) * TX_PER_RECORD


def _raw_writer(job: Job, ready: Barrier) -> int:
    row = (str(job.writer), "build", job.payload)
    if job.url.startswith("sqlite"):
        db = sqlite3.connect(job.url.removeprefix("sqlite:///"), timeout=60, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=60000"):
            db.execute(f"PRAGMA {pragma}")

        def write(n: int) -> None:
            db.execute("BEGIN IMMEDIATE")
            db.execute(_INSERT.format(p="?"), row)
            db.execute("COMMIT")

        try:
            return _until_deadline(job, ready, write)
        finally:
            db.close()
    import psycopg

    with psycopg.connect(job.url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:

        def write_pg(n: int) -> None:
            conn.execute(_INSERT.format(p="%s"), row)
            conn.commit()

        return _until_deadline(job, ready, write_pg)


def _work(job: Job, ready: Barrier, results: Queue[int]) -> None:
    results.put(_raw_writer(job, ready) if job.raw else _bmad_writer(job, ready))


def measure(url: str, *, raw: bool, writers: int, seconds: float, payload: str) -> float:
    """Transactions per second of ``writers`` processes writing at once to ``url``."""
    context = multiprocessing.get_context("spawn")
    results: Queue[int] = context.Queue()
    ready = context.Barrier(writers)
    procs = [
        context.Process(target=_work, args=(Job(url, raw, n, seconds, payload), ready, results)) for n in range(writers)
    ]
    for proc in procs:
        proc.start()
    total = sum(results.get(timeout=300 + seconds) for _ in procs)
    for proc in procs:
        proc.join(timeout=30)
        if proc.exitcode != 0:
            raise RuntimeError(f"a writer process failed (exit {proc.exitcode})")
    return total / seconds


def _prepare_sqlite(url: str, raw: bool) -> None:
    if raw:
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            db.execute(_RAW_TABLE.format(key="INTEGER PRIMARY KEY AUTOINCREMENT"))
    else:
        from bmad.ledger import Ledger

        Ledger.open(url).close()  # migrated before the clock starts


@contextmanager
def fresh_database(kind: str, server: str, tmp: Path, raw: bool) -> Iterator[str]:
    """A new, empty database (SQLite file or PostgreSQL database) prepared for one measurement."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp / f'{uuid.uuid4().hex[:8]}.db'}"
        _prepare_sqlite(url, raw)
        yield url
        return
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    base = server.rpartition("/")[0]
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{base}/{name}"
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            if raw:
                conn.execute(_RAW_TABLE.format(key="SERIAL PRIMARY KEY"))
        if not raw:
            from bmad.ledger import Ledger

            Ledger.open(url).close()
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def postgres_server(given: str | None, cleanup: ExitStack) -> Iterator[str]:
    """``given``, else a throw-away server started as tests/conftest.py's ``postgres_url`` does."""
    if given:
        yield given
        return
    from bmad.stack import StackPorts, missing_programs, up

    if missing_programs(("postgres",)):
        raise SystemExit("PostgreSQL is not installed: pass --postgres-url")
    root = Path(tempfile.mkdtemp(prefix="bmad-bench-pg-"))
    root.chmod(0o755)  # as root the server runs as the 'postgres' user
    cleanup.callback(shutil.rmtree, root, ignore_errors=True)  # after the server is down
    info = up(root, ports=StackPorts(postgres=free_port()), components=("postgres",))
    cleanup.callback(info.down, purge=True)
    yield info.postgres_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_table(server: str, tmp: Path, writer_counts: list[int], seconds: float) -> list[tuple[str, int, float, float]]:
    """(backend, writers, bmad tx/s, raw tx/s) for every backend and writer count."""
    payload = "x" * record_size()
    rows = []
    for kind in ("sqlite", "postgresql"):
        for writers in writer_counts:
            rates = []
            for raw in (False, True):
                with fresh_database(kind, server, tmp, raw) as url:
                    rates.append(measure(url, raw=raw, writers=writers, seconds=seconds, payload=payload))
            rows.append((kind, writers, rates[0], rates[1]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="how long each measurement writes")
    parser.add_argument("--writers", default="1,4,8", help="writer process counts, comma-separated")
    parser.add_argument("--postgres-url", default=os.environ.get("BMAD_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    counts = [int(part) for part in args.writers.split(",")]
    load_before = os.getloadavg()[0]
    with ExitStack() as cleanup, tempfile.TemporaryDirectory(prefix="bmad-bench-ledger-") as tmp:
        server = cleanup.enter_context(postgres_server(args.postgres_url, cleanup))
        rows = run_table(server, Path(tmp), counts, args.seconds)
    print(f"load average (1 min): {load_before:.2f} before, {os.getloadavg()[0]:.2f} after, on {os.cpu_count()} CPUs")
    print(
        f"ledger transactions per second, {args.seconds:g} s per cell; one bmad record = {TX_PER_RECORD} transactions"
    )
    print(f"floor: raw inserts of {record_size()}-byte rows, one per transaction, same backend, same run")
    print(f"{'backend':<11} {'writers':>7} {'bmad tx/s':>10} {'records/s':>10} {'raw tx/s':>10} {'bmad/raw':>9}")
    for kind, writers, bmad_rate, raw_rate in rows:
        ratio = bmad_rate / raw_rate if raw_rate else float("nan")
        records = bmad_rate / TX_PER_RECORD
        print(f"{kind:<11} {writers:>7} {bmad_rate:>10.1f} {records:>10.1f} {raw_rate:>10.1f} {ratio:>9.3f}")


if __name__ == "__main__":
    main()
