"""Engine overhead: a run of 4 phases x 50 checks that do nothing, and ledger writes per second.

    .venv/bin/python bench/engine.py [--checks 50] [--runs 5]

Prints bmad's own time per check (goal <= 5 ms; the checks themselves take ~0) with and without
committing the phase records to git, and the ledger's write rate on SQLite, with the ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CONFIG = """\
version: 1
service:
  name: bench
environments:
  dev: {{}}
records:
  enabled: {records}
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def make_repo(root: Path, *, records: bool) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "bmad.yaml").write_text(CONFIG.format(records=str(records).lower()))
    git(root, "add", "-A")
    git(root, "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "commit", "-q", "-m", "init")
    return root


def engine_overhead(tmp: Path, *, checks: int, runs: int, records: bool) -> tuple[float, float]:
    from bmad.engine import run_release

    repo = make_repo(tmp / f"svc-{records}", records=records)
    run_release(repo / "bmad.yaml", "dev")  # warm-up: imports, migrations, first records commit
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        outcome = run_release(repo / "bmad.yaml", "dev")
        times.append(time.perf_counter() - started)
        assert outcome.passed and sum(len(p.result.checks) for p in outcome.phases) == 4 * checks
    median = statistics.median(times)
    return median, median / (4 * checks)


def ledger_writes(tmp: Path, *, phases: int, checks: int) -> tuple[float, float]:
    from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseResult, PhaseStatus, Release
    from bmad.ledger import Ledger

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    results = [CheckResult(id=f"c{i}", title="no-op", status=CheckStatus.PASS) for i in range(checks)]
    with Ledger.open(f"sqlite:///{tmp / 'writes.db'}") as ledger:
        release = Release("bench", "dev", "f" * 40)
        ledger.ensure_release(release)
        transactions = 0
        started = time.perf_counter()
        for index in range(phases):
            phase = PhaseName.ordered()[index % 4]
            run_id = ledger.start_phase(release, phase, started_at=t0 + timedelta(seconds=index))
            ledger.finish_phase(
                run_id,
                PhaseResult(phase, PhaseStatus.PASSED, checks=results, started_at=t0, finished_at=t0),
            )
            transactions += 3  # ensure_release (read) + start + finish
        elapsed = time.perf_counter() - started
        assert ledger.verify().ok
    return transactions / elapsed, phases / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checks", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--phase-records", type=int, default=200)
    args = parser.parse_args()
    os.environ["BENCH_CHECKS"] = str(args.checks)
    for phase in ("build", "measure", "analyze", "deploy"):
        os.environ[f"BMAD_PLUGIN_{phase.upper()}"] = f"noop.{phase}"
    os.environ.pop("BMAD_LEDGER_URL", None)
    for key, value in {
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    }.items():
        os.environ[key] = value
    goal_ms = 5.0
    with tempfile.TemporaryDirectory(prefix="bmad-bench-") as tmp:
        total, per_check = engine_overhead(Path(tmp), checks=args.checks, runs=args.runs, records=False)
        total_r, per_check_r = engine_overhead(Path(tmp), checks=args.checks, runs=args.runs, records=True)
        tx_rate, phase_rate = ledger_writes(Path(tmp), phases=args.phase_records, checks=args.checks)
    n = 4 * args.checks
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"engine: 4 phases x {args.checks} no-op checks, median of {args.runs} runs (SQLite ledger)")
    print(f"  without git records: {total * 1000:8.1f} ms per run, {per_check * 1000:6.3f} ms per check")
    print(f"  with git records:    {total_r * 1000:8.1f} ms per run, {per_check_r * 1000:6.3f} ms per check")
    print(
        f"  goal <= {goal_ms:.1f} ms per check: ratio {per_check * 1000 / goal_ms:.3f} (records off), "
        f"{per_check_r * 1000 / goal_ms:.3f} (records on) of the budget; {n} checks per run"
    )
    print(
        f"ledger (SQLite, WAL): {tx_rate:8.1f} transactions/s, {phase_rate:7.1f} phase records/s "
        f"({args.checks} check rows each, hash-chained)"
    )


if __name__ == "__main__":
    main()
