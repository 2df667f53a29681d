"""Reports over a large ledger: framework metrics and one release's documents, timed.

    .venv/bin/python bench/reports.py [--releases 500]

Records N releases (four phases each, every 7th rolled back, every 11th stopped at BUILD) in a
SQLite ledger in a temp dir through the ledger API, then times: loading the releases, computing
the framework metrics + DORA keys, rendering the table / JSON / Prometheus text, and writing the
runbook, checklist and HTML report of the last release. Goal: `bmad metrics` under 2 s for 500
releases on this 2-core machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.reports.reports_data import MIN, T0, Spec, record  # noqa: E402

from bmad.core.models import PhaseName  # noqa: E402
from bmad.ledger import Ledger  # noqa: E402
from bmad.reports.exposition import render_prometheus  # noqa: E402
from bmad.reports.metrics import compute_framework_metrics, render_table  # noqa: E402
from bmad.reports.outputs import write_release_outputs  # noqa: E402
from bmad.reports.source import load_releases  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--releases", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        now = T0 + timedelta(days=args.releases)
        ledger = Ledger.open(f"sqlite:///{tmp}/ledger.db", clock=lambda: now)
        started = time.perf_counter()
        for i in range(args.releases):
            version = f"{i:040x}"
            if i % 11 == 10:
                spec = Spec(version, T0 + timedelta(hours=i), (2, 0, 0, 0), stop_at=PhaseName.BUILD)
            elif i % 7 == 6:
                spec = Spec(
                    version,
                    T0 + timedelta(hours=i),
                    (3, 2, 1, 4),
                    commit_before=timedelta(hours=1),
                    deploy_ok=False,
                    zero_downtime=False,
                    rollback=(MIN, timedelta(seconds=30 + i % 60)),
                )
            else:
                spec = Spec(version, T0 + timedelta(hours=i), (3, 2, 1, 4 + i % 5), commit_before=timedelta(hours=2))
            record(ledger, spec)
        recorded = time.perf_counter() - started

        timings: dict[str, float] = {}
        t = time.perf_counter()
        views = load_releases(ledger, service="hello", environment="dev")
        timings["load releases"] = time.perf_counter() - t
        t = time.perf_counter()
        metrics = compute_framework_metrics(views, service="hello", environment="dev", now=now)
        timings["framework metrics + DORA"] = time.perf_counter() - t
        t = time.perf_counter()
        render_table(metrics)
        metrics.to_dict()
        render_prometheus(metrics)
        timings["table + json + prometheus"] = time.perf_counter() - t
        t = time.perf_counter()
        write_release_outputs(ledger, views[-1].release, Path(tmp) / "out")
        timings["one release's documents (+ metrics files)"] = time.perf_counter() - t
        ledger.close()

    print(
        f"{args.releases} releases recorded in {recorded:.1f} s; "
        f"{metrics.deployments} deployments, success {metrics.success_rate:.1%}, rollback {metrics.rollback_rate:.1%}"
    )
    for name, seconds in timings.items():
        print(f"  {name:<45} {seconds * 1000:8.1f} ms")
    total = timings["load releases"] + timings["framework metrics + DORA"] + timings["table + json + prometheus"]
    print(f"  {'bmad metrics (load + compute + render)':<45} {total * 1000:8.1f} ms  (goal < 2000 ms)")
    return 0 if total < 2.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
