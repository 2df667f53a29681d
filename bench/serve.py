"""`bmad serve` under load: the board and a release page of a 10,000-release ledger, SQLite and PostgreSQL.

    .venv/bin/python bench/serve.py [--releases 10000] [--clients 20] [--seconds 5]
                                    [--backends sqlite,postgresql] [--postgres-url URL]

For each backend: fills an empty, migrated ledger with ``--releases`` releases through the ledger's
own tables and hash chain (tests/serve/volume.py; ``verify()`` passes over it), starts ``bmad
serve`` on it as its own process, and loads three URLs one after the other with bmad's built-in
load generator (one worker process, ``--clients`` concurrent connections, ``--seconds`` each):
a static asset (the floor: the same server, no ledger work), the board and a release page (one
rolled back, with a rollback section). Prints p50/p95 of each beside the floor and MET / NOT MET
against the goals: board p95 <= 50 ms, release page p95 <= 100 ms. Pages are kept until the
ledger changes or the minute turns, so under load most answers are kept pages; the "render ms"
column is one request that had to render (the board filtered by outcome, the release page's
first request): what a request costs once a minute, or right after a release is recorded.
Then it records a new release and a started phase with the ledger API and prints the lag until the
dashboard serves that release (the snapshot reads only what changed, not every release).

PostgreSQL: ``--postgres-url`` (or ``BMAD_TEST_POSTGRES_URL``) names a server where a throw-away
database may be created; without one, a server is started with bmad's stack (Debian ``postgres``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.helpers import free_port  # noqa: E402
from tests.serve.volume import fill_volume, volume_specs  # noqa: E402

from bmad.adapters.loadgen.runner import BuiltinLoadGenerator  # noqa: E402
from bmad.core.models import PhaseName, Release  # noqa: E402
from bmad.ledger import Ledger  # noqa: E402
from bmad.ports.loadtest import HttpRequest, LevelPlan, LevelResult  # noqa: E402

GOALS_MS = {"board": 50.0, "release page": 100.0}


@dataclass(frozen=True)
class Row:
    backend: str
    page: str
    result: LevelResult
    render_ms: float  # one request that rendered its page (not a kept one)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--releases", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=os.environ.get("BMAD_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        for backend in args.backends.split(","):
            with ledger_url(backend, Path(tmp), args.postgres_url) as url:
                rows += bench_backend(backend, url, args)
    print(
        f"\n{args.releases} releases, {args.clients} concurrent clients, {args.seconds:.0f} s a page; "
        f"load average {Path('/proc/loadavg').read_text().split()[0]}"
    )
    return report(rows)


@contextlib.contextmanager
def ledger_url(backend: str, tmp: Path, postgres_url: str | None) -> Iterator[str]:
    """An empty ledger database of ``backend`` (dropped at the end)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp}/ledger.db"
        return
    if backend != "postgresql":
        raise SystemExit(f"unknown backend {backend!r}: sqlite or postgresql")
    with contextlib.ExitStack() as stack:
        if postgres_url is None:
            postgres_url = stack.enter_context(postgres_server())
        import psycopg

        name = f"bench_serve_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield postgres_url.rpartition("/")[0] + "/" + name
        finally:
            with psycopg.connect(postgres_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    import shutil

    from bmad.stack import StackPorts, up

    root = Path(tempfile.mkdtemp(prefix="bench-serve-pg-"))
    root.chmod(0o755)  # as root the server runs as the 'postgres' user
    info = up(root, ports=StackPorts(postgres=free_port()), components=("postgres",))
    try:
        yield info.postgres_url
    finally:
        info.down(purge=True)
        shutil.rmtree(root, ignore_errors=True)


def bench_backend(backend: str, url: str, args: argparse.Namespace) -> list[Row]:
    Ledger.open(url).close()  # migrate
    started = time.perf_counter()
    fill_volume(url, args.releases)
    print(f"{backend}: {args.releases} releases written in {time.perf_counter() - started:.1f} s", flush=True)
    release_id = rolled_back_release_id(url, args.releases)
    pages = {  # name: (the loaded path, a path whose page is rendered, not kept)
        "static asset (floor)": ("/static/serve.css", "/static/serve.css"),
        "board": ("/", "/?outcome=success"),
        "release page": (f"/release/{release_id}", f"/release/{release_id}"),
    }
    with dashboard(url) as base:
        rows = []
        for page, (path, rendered) in pages.items():
            render_ms = timed_get(base + rendered)
            with BuiltinLoadGenerator(workers=1) as generator:
                result = generator.run_level(
                    HttpRequest("GET", base + path), LevelPlan(args.clients, args.seconds, None)
                )
            rows.append(Row(backend, page, result, render_ms))
        for attempt in (1, 2):
            print(f"  lag after a new record (attempt {attempt}): {lag_after_record(url, base):.2f} s", flush=True)
    return rows


def lag_after_record(url: str, base: str) -> float:
    """Seconds from a new release and phase run being committed to the dashboard serving its page."""
    release = Release("lag-probe", "dev", uuid.uuid4().hex + "0" * 8)
    with Ledger.open(url) as ledger:
        release_id = ledger.ensure_release(release)
        ledger.start_phase(release, PhaseName.BUILD)
    started = time.perf_counter()
    while time.perf_counter() - started < 300:
        with contextlib.suppress(urllib.error.HTTPError):
            timed_get(f"{base}/release/{release_id}")
            return time.perf_counter() - started
        time.sleep(0.02)
    raise SystemExit("the dashboard did not show a new release within 300 s")


def rolled_back_release_id(url: str, releases: int) -> int:
    """The ledger id of the newest rolled-back release (every 7th is)."""
    specs = list(volume_specs(releases))
    wanted = next(spec for spec in reversed(specs) if spec.rollback is not None)
    with Ledger.open(url) as ledger:
        history = ledger.get_release(wanted.service, wanted.environment, wanted.version)
    assert history is not None
    return history.id


@contextlib.contextmanager
def dashboard(url: str) -> Iterator[str]:
    """``bmad serve`` over ``url`` in its own process; its base URL once the first load is done."""
    port = free_port()
    env = {**os.environ, "BMAD_LEDGER_URL": url, "PYTHONPATH": str(ROOT / "src")}
    with tempfile.TemporaryDirectory() as cwd:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bmad", "serve", "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base + "/static/serve.css", proc)
            started = time.perf_counter()
            timed_get(base + "/")  # waits for the snapshot's first load
            print(f"  bmad serve up; first board (loads every release) in {time.perf_counter() - started:.1f} s")
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"bmad serve exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        with contextlib.suppress(OSError):
            urllib.request.urlopen(url, timeout=5).read()
            return
        time.sleep(0.05)
    raise SystemExit("bmad serve did not answer within 60 s")


def timed_get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=300) as answer:
        answer.read()
    return (time.perf_counter() - started) * 1000


def report(rows: list[Row]) -> int:
    print(f"{'backend':<11} {'page':<21} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'errors':>6} {'render ms':>9}  goal")
    missed = 0
    floor: dict[str, float] = {}
    for row in rows:
        result = row.result
        goal = GOALS_MS.get(row.page)
        verdict = ""
        if goal is None:
            floor[row.backend] = result.p95_ms
        else:
            met = result.p95_ms <= goal and result.failed == 0
            missed += not met
            times = result.p95_ms / floor[row.backend] if floor.get(row.backend) else float("nan")
            verdict = f"p95 <= {goal:.0f} ms: {'MET' if met else 'NOT MET'} ({times:.1f}x the floor's p95)"
        print(
            f"{row.backend:<11} {row.page:<21} {result.rps:7.0f} {result.p50_ms:7.1f} {result.p95_ms:7.1f} "
            f"{result.failed:6d} {row.render_ms:9.0f}  {verdict}"
        )
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
