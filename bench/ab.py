"""The same commands on this tree and on an older commit, interleaved in one run (same machine load).

    .venv/bin/python bench/ab.py REV [--runs 7] [--only small|corpus|long|retried] [--releases 500]
                                     [--attempts 10] [--ledger-url URL] [--base-env KEY=VALUE ...]

Absolute figures move with the machine (``python -c pass`` took 14 ms one afternoon and 21 ms that
evening on the same host); a change is judged against its own past in the same run. ``REV``'s ``src``
is extracted with ``git archive`` into a temp dir; each tree runs the installed ``bmad`` entry point
with ``PYTHONPATH`` at its own ``src`` and its own ``XDG_CACHE_HOME`` (two trees sharing one cache
would each miss the other's config cache). Each tree gets its own copy of the service (see
``bench/cli.py``), one untimed run of every command first (bytecode, caches), then ``--runs``
interleaved timed runs. Printed: the median of each command per tree and this tree's ratio to REV, for
the wall time and for the CPU time the command's process used (user + system, from ``getrusage``):
the CPU time moves less with the other loads of a shared host, so a change of a few milliseconds
shows there before it shows in the wall time.

* ``small``: ``analyze`` of the example, a phase of one no-op check (``measure``), ``status``;
* ``corpus``: ``analyze`` of the 1,000-object corpus of ``bench/analyze.py``;
* ``long`` (only when asked for): ``metrics`` and a phase of one no-op check on a ledger of
  ``--releases`` releases whose DEPLOYs carry checks the size of the demo's (about 10 KB of texts and
  evidence a release: rollout events, smoke tests, verification rounds), the ledger copied for each tree
  (with ``--ledger-url``, an empty database that is filled once and read by both trees);
* ``--base-env KEY=VALUE`` sets a variable for REV's commands only: with REV ``HEAD`` and no change in
  the tree, ``--base-env BMAD_NO_FORK=1`` measures what the evidence written aside saves;
* ``retried`` (only when asked for): ``status``, ``history``, ``status --json`` and ``report`` of the
  corpus service once its release holds ``--attempts`` ANALYZE attempts (made once by this tree's
  ``bmad``, the service then copied for each tree).
"""

from __future__ import annotations

import argparse
import io
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from analyze import write_corpus  # noqa: E402

from bmad.core.models import CheckResult, CheckStatus  # noqa: E402
from cli import Variant, bmad_env, make_service, pass_gates, retried_reads, timed  # noqa: E402


def extract_src(rev: str, into: Path) -> Path:
    """``REV``'s ``src`` folder under ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def tree_variants(
    label: str,
    src: Path,
    tmp: Path,
    bmad: str,
    only: str | None,
    ledger_url: str | None,
    extra_env: dict[str, str] | None = None,
) -> list[Variant]:
    """The commands of one tree, each on that tree's own service copy (``extra_env``: set for them all)."""
    env = {**tree_env(tmp / f"{label}-cache", src, ledger_url), **(extra_env or {})}
    home = tmp / label
    home.mkdir()
    variants: list[Variant] = []
    if only in (None, "small"):
        one_check = {**env, "BENCH_CHECKS": "1"}  # a phase with none fails
        repo = make_service(home, "hello", None)
        pass_gates(bmad, repo, env)
        variants += [
            Variant(f"{label} analyze", [bmad, "analyze", "-c", "bmad.yaml", "-e", "dev"], env, repo),
            Variant(f"{label} phase", [bmad, "measure", "-c", "bmad.yaml", "-e", "dev"], one_check, repo),
            Variant(f"{label} status", [bmad, "status", "-c", "bmad.yaml", "-e", "dev"], env, repo),
        ]
    if only in (None, "corpus"):
        repo = make_service(home, "corpus-service", tmp / "corpus")
        pass_gates(bmad, repo, env)
        variants.append(Variant(f"{label} corpus", [bmad, "analyze", "-c", "bmad.yaml", "-e", "dev"], env, repo))
    if only == "long":
        repo = home / "long-service"
        shutil.copytree(tmp / "long-service", repo, symlinks=True)
        one_check = {**env, "BENCH_CHECKS": "1"}
        variants += [
            Variant(f"{label} metrics", [bmad, "metrics", "-c", "bmad.yaml"], env, repo),
            Variant(f"{label} phase", [bmad, "measure", "-c", "bmad.yaml", "-e", "dev"], one_check, repo),
        ]
    if only == "retried":
        repo = home / "retried-service"
        shutil.copytree(tmp / "retried-service", repo, symlinks=True)
        variants += retried_reads(bmad, env, repo, prefix=f"{label} ")
    return variants


def long_service(tmp: Path, bmad: str, releases: int, ledger_url: str | None = None) -> None:
    """``tmp/long-service``: the example service, its ledger holding ``releases`` releases with
    demo-sized DEPLOY checks (their metrics also DEPLOY's own, as the engine records them; until
    session 11 the runs had none), and its release at HEAD through MEASURE (so a phase may run). With
    ``ledger_url`` (an empty database) that ledger is filled, and both trees read it."""
    from bmad.core.models import PhaseName, PhaseResult, PhaseStatus, Release
    from bmad.ledger import Ledger

    repo = make_service(tmp, "long-service", None)
    env = tree_env(tmp / "long-cache", ROOT / "src", ledger_url)
    state = repo / ".bmad"
    state.mkdir(mode=0o700, exist_ok=True)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    with Ledger.open(ledger_url or f"sqlite:///{state / 'ledger.db'}") as ledger:
        for i in range(releases):
            release = Release("hello", "dev", f"{i:040x}")
            at = start + timedelta(hours=6 * i)
            for n, phase in enumerate(PhaseName.ordered()):
                began = at + timedelta(minutes=5 * n)
                checks = deploy_checks(began) if phase is PhaseName.DEPLOY else []
                metrics = {name: value for check in checks for name, value in check.metrics.items()}
                ended = began + timedelta(minutes=4)
                # DEPLOY's own metrics name what its checks measured, as the engine records them
                result = PhaseResult(phase, PhaseStatus.PASSED, checks, metrics, {}, began, ended)
                ledger.record_phase(release, result)
    pass_gates(bmad, repo, env)


def deploy_checks(at: datetime) -> list[CheckResult]:
    """Six DEPLOY checks shaped and sized like a demo release's (texts, evidence, metrics)."""
    events = [
        {"at": (at + timedelta(seconds=s)).isoformat(), "reason": "Pulled", "pod": f"hello-{s}"} for s in range(20)
    ]
    smoke = [{"name": f"GET /path/{n}", "status": 200, "seconds": 0.004 * n, "ok": True} for n in range(20)]
    rounds = [
        [
            {
                "name": name,
                "query": f"sum(rate({name}[1m]))",
                "observed": 0.01 * r,
                "bound": "<= 0.05",
                "status": "pass",
            }
            for name in ("error_ratio", "latency_p95_seconds", "cpu_usage")
        ]
        for r in range(5)
    ]
    text = "the new version's pods are ready and serve the smoke tests within the bounds of the baseline " * 2
    made = [
        ("deploy.apply", {"objects": [f"apps/v1/Deployment/hello-{n}" for n in range(8)]}, {}),
        ("deploy.rollout", {"events": events}, {"pods_running": 2, "pods_failed": 0}),
        ("deploy.smoke", {"results": smoke}, {"smoke_tests_passed": 20, "smoke_tests_failed": 0}),
        ("deploy.verify", {"rounds": rounds}, {"zero_downtime": True, "rolled_back": False}),
        ("deploy.alerts", {"firing": [], "checked": ["HighErrorRate", "HighLatency"]}, {}),
        ("deploy.record", {"image": "127.0.0.1:5000/hello@sha256:" + "e" * 64}, {}),
    ]
    return [
        CheckResult(
            check_id,
            check_id,
            CheckStatus.PASS,
            summary=text,
            expected=text,
            observed=text,
            fix=text,
            evidence=e,
            metrics=m,
        )
        for check_id, e, m in made
    ]


def retried_service(tmp: Path, bmad: str, attempts: int, ledger_url: str | None) -> None:
    """``tmp/retried-service``: the corpus service after ``attempts`` ANALYZE runs of this tree's bmad."""
    env = tree_env(tmp / "retried-cache", ROOT / "src", ledger_url)
    repo = make_service(tmp, "retried-service", tmp / "corpus")
    pass_gates(bmad, repo, env)
    analyze = Variant("analyze", [bmad, "analyze", "-c", "bmad.yaml", "-e", "dev"], env, repo)
    for _ in range(attempts):
        timed(analyze)


def tree_env(cache: Path, src: Path, ledger_url: str | None) -> dict[str, str]:
    """The environment of a tree's commands: its user cache, its ``src`` first on ``PYTHONPATH`` (then
    ``bench``, for the no-op phases), and ``BMAD_LEDGER_URL`` when a ledger is given."""
    env = {**bmad_env(cache), "PYTHONPATH": f"{src}:{ROOT / 'bench'}"}
    return {**env, "BMAD_LEDGER_URL": ledger_url} if ledger_url else env


def timed_with_cpu(variant: Variant) -> tuple[float, float]:
    """Wall seconds of one run and the CPU seconds its process used (user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = timed(variant)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("rev", help="the older commit (anything `git archive` takes)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--only", choices=["small", "corpus", "long", "retried"])
    parser.add_argument("--releases", type=int, default=500, help="releases in the ledger for --only long")
    parser.add_argument("--attempts", type=int, default=10, help="ANALYZE attempts of the corpus for --only retried")
    parser.add_argument(
        "--ledger-url", help="every command's ledger (BMAD_LEDGER_URL), e.g. a PostgreSQL database; default: SQLite"
    )
    parser.add_argument(
        "--base-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set for REV's commands only: `ab.py HEAD --base-env BMAD_NO_FORK=1` measures what forking saves",
    )
    args = parser.parse_args()
    base_env = dict(item.split("=", 1) for item in args.base_env if "=" in item)
    bmad = str(Path(sys.executable).parent / "bmad")
    with tempfile.TemporaryDirectory(prefix="bmad-bench-ab-") as raw:
        tmp = Path(raw)
        if args.only in (None, "corpus", "retried"):
            (tmp / "corpus").mkdir()
            write_corpus(tmp / "corpus", 1000)
        if args.only == "retried":
            retried_service(tmp, bmad, args.attempts, args.ledger_url)
        if args.only == "long":
            long_service(tmp, bmad, args.releases, args.ledger_url)
        trees = {"head": ROOT / "src", "base": extract_src(args.rev, tmp / "base-src")}
        variants = [
            v
            for label, src in trees.items()
            for v in tree_variants(
                label, src, tmp, bmad, args.only, args.ledger_url, base_env if label == "base" else None
            )
        ]
        for variant in variants:
            timed(variant)  # bytecode and caches, untimed
        times: dict[str, list[float]] = {v.label: [] for v in variants}
        cpu: dict[str, list[float]] = {v.label: [] for v in variants}
        for _ in range(args.runs):
            for variant in variants:
                wall, used = timed_with_cpu(variant)
                times[variant.label].append(wall)
                cpu[variant.label].append(used)
    for label in [v.label.removeprefix("head ") for v in variants if v.label.startswith("head ")]:
        for kind, samples in (("wall", times), ("cpu", cpu)):
            head = statistics.median(samples[f"head {label}"])
            base = statistics.median(samples[f"base {label}"])
            print(
                f"{label:13s} {kind:4s} head {head * 1000:7.0f} ms   {args.rev} {base * 1000:7.0f} ms"
                f"   head/base {head / base:.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
