"""What a user waits for: the real `bmad` commands, end to end, as subprocesses.

    .venv/bin/python bench/cli.py [--runs 7] [--objects 1000] [--releases 500] [--no-checkov]

Every figure is the median wall time of ``--runs`` runs of the installed ``bmad`` entry point,
interleaved with its peer or floor so both see the same machine load:

* ``analyze`` on the 1,000-object corpus of ``bench/analyze.py`` vs checkov's CLI on the same files
  (checkov in its own venv, ``.bench/checkov-venv``);
* ``analyze`` on the example's bundle (``examples/hello/k8s``) vs ``python -c pass``;
* ``status``, ``history``, ``metrics`` on a ledger of ``--releases`` releases; ``status``, ``history``,
  ``status --json`` and ``report`` of the corpus's release once it holds ``--attempts`` ANALYZE attempts;
* ``--help`` and ``deploy --help`` vs ``python -c pass`` (bmad keeps no help cache);
* a phase of one no-op check (``bench/noop`` with ``BENCH_CHECKS=1``): the fixed cost of recording one phase.
* bmad's own share of a full ``bmad run`` of the example (``bench/own_share.py``, one release on a
  stack of its own; ``--only own-share`` runs it alone).

BUILD and MEASURE are the no-op phases of ``bench/noop`` so that ANALYZE may run (the gate needs
the phase before it to have passed); the service repository is a copy of ``examples/hello`` in a
temp git repository without a Pushgateway (nothing is pushed anywhere). Each goal of issue 13 is
printed as met or not, with its figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from analyze import CHECKOV_ENV, checkov_argv, ensure_checkov, write_corpus  # noqa: E402

Argv = list[str]


@dataclass(frozen=True)
class Variant:
    label: str
    argv: Argv
    env: dict[str, str]
    cwd: Path


@dataclass(frozen=True)
class Goal:
    name: str
    figure: str
    met: bool | None  # None: a figure shown beside the goals, with no goal of its own


def timed(variant: Variant) -> float:
    """Wall seconds of one run. ``Popen.wait()`` without a timeout blocks in ``waitpid``: with one,
    CPython polls with sleeps of up to 50 ms, which rounded every figure up to the next poll."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        variant.argv, env=variant.env, cwd=variant.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    killer = threading.Timer(600, proc.kill)  # a hung command still ends the benchmark
    killer.start()
    try:
        proc.wait()
    finally:
        killer.cancel()
    return time.perf_counter() - started


def samples_of(variants: Sequence[Variant], runs: int) -> dict[str, list[float]]:
    """Wall times per variant, the variants taken in turn so they share the machine's load."""
    samples: dict[str, list[float]] = {v.label: [] for v in variants}
    for variant in variants:  # one warm-up each: page cache, compiled schemas, .pyc files
        timed(variant)
    for _ in range(runs):
        for variant in variants:
            samples[variant.label].append(timed(variant))
    return samples


def medians(variants: Sequence[Variant], runs: int) -> dict[str, float]:
    """Median wall time per variant (:func:`samples_of`)."""
    return {label: statistics.median(values) for label, values in samples_of(variants, runs).items()}


def middle_half(values: Sequence[float]) -> tuple[float, float]:
    """The first and third quartiles of ``values``: how far one run strays from the median."""
    low, _, high = statistics.quantiles(values, n=4) if len(values) > 1 else (values[0],) * 3
    return low, high


def quartiles(values: Sequence[float]) -> str:
    """The middle half of ``values`` (seconds), as ``a-b s``."""
    low, high = middle_half(values)
    return f"{low:.2f}-{high:.2f} s"


def git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    }
    subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True)


def make_service(root: Path, name: str, manifests: Path | None) -> Path:
    """A copy of the example in a git repository of its own, with no Pushgateway to push to."""
    repo = root / name
    shutil.copytree(ROOT / "examples" / "hello", repo, ignore=shutil.ignore_patterns(".bmad", "reports", "__pycache__"))
    config_path = repo / "bmad.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["environments"]["dev"].pop("monitoring", None)
    if manifests is not None:
        config.setdefault("analyze", {})["manifests"] = str(manifests)
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "bench")
    return repo


def bmad_env(cache: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "BMAD_PLUGIN_BUILD": "noop.build",
        "BMAD_PLUGIN_MEASURE": "noop.measure",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT / "bench"), os.environ.get("PYTHONPATH", "")) if p),
        "XDG_CACHE_HOME": str(cache),
        "COLUMNS": "120",
    }
    env.pop("BMAD_LEDGER_URL", None)
    # An installed bmad has its .pyc files (pip compiles them); a developer shell that sets this
    # would make every timed run compile bmad's sources again.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def pass_gates(bmad: str, repo: Path, env: dict[str, str]) -> None:
    """BUILD and MEASURE (no-op phases) pass, so that ANALYZE may run for this release."""
    for phase in ("build", "measure"):
        proc = subprocess.run(
            [bmad, phase, "-c", "bmad.yaml", "-e", "dev"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise SystemExit(f"bench: `bmad {phase}` failed in {repo} (exit {proc.returncode}):\n{proc.stderr[-2000:]}")


def fill_ledger(repo: Path, releases: int) -> None:
    from tests.reports.reports_data import MIN, T0, Spec, record

    from bmad.core.models import PhaseName
    from bmad.ledger import Ledger

    (repo / ".bmad").mkdir(mode=0o700, exist_ok=True)
    ledger = Ledger.open(f"sqlite:///{repo / '.bmad' / 'ledger.db'}", clock=lambda: T0 + timedelta(days=releases))
    try:
        for i in range(releases):
            spec = Spec(
                version=f"{i:040x}",
                start=T0 + timedelta(hours=6 * i),
                minutes=(3.0, 2.0, 1.0, 4.0),
                commit_before=30 * MIN,
                stop_at=PhaseName.BUILD if i % 11 == 10 else None,
                deploy_ok=i % 7 != 6,
                rollback=(2 * MIN, 1 * MIN) if i % 7 == 6 else None,
            )
            record(ledger, spec)
    finally:
        ledger.close()


def ratio_goal(name: str, ours: float, peer: float, peer_label: str, *, at_most: float) -> Goal:
    ratio = ours / peer
    return Goal(name, f"{ours * 1000:.0f} ms = {ratio:.2f}x {peer_label} ({peer * 1000:.0f} ms)", ratio <= at_most)


def bench_analyze_corpus(args: argparse.Namespace, bmad: str, tmp: Path, env: dict[str, str]) -> list[Goal]:
    corpus = tmp / "corpus"
    corpus.mkdir()
    count = write_corpus(corpus, args.objects)
    repo = make_service(tmp, "corpus-service", corpus)
    pass_gates(bmad, repo, env)
    variants = [Variant("bmad", [bmad, "analyze", "-c", "bmad.yaml", "-e", "dev"], env, repo)]
    checkov = None if args.no_checkov else ensure_checkov()
    if checkov is not None:
        ck_env = {**os.environ, **CHECKOV_ENV}
        variants.append(Variant("checkov", checkov_argv(checkov, corpus), ck_env, tmp))
    # Each run of the pair takes ~6 s and one bmad run strays ±15 % from the next on this shared host: the
    # goal's median is taken over --runs pairs (at least 5), and the middle half of each side is shown.
    samples = samples_of(variants, max(5, args.runs))
    figures = {label: statistics.median(values) for label, values in samples.items()}
    ours = figures["bmad"]
    name = f"analyze {count} objects >= 10x faster than checkov"
    if "checkov" not in figures:
        goal = Goal(name, f"{ours:.2f} s; checkov not run", False)
    else:
        speedup = figures["checkov"] / ours
        spread = f"middle halves: bmad {quartiles(samples['bmad'])}, checkov {quartiles(samples['checkov'])}"
        goal = Goal(
            name,
            f"bmad {ours:.2f} s, checkov {figures['checkov']:.2f} s: {speedup:.1f}x faster ({spread})",
            speedup >= 10,
        )
    return [goal, *bench_retried_release(args, variants[0], repo, env)]


def bench_retried_release(args: argparse.Namespace, analyze: Variant, repo: Path, env: dict[str, str]) -> list[Goal]:
    """The read commands on the corpus service once its release holds ``--attempts`` ANALYZE attempts
    of the corpus (a megabyte of artifacts and checks each): what they read must not grow with them."""
    while _attempts(repo) < args.attempts:
        timed(analyze)
    queries = retried_reads(analyze.argv[0], env, repo)
    figures = medians(queries, max(3, args.runs // 2))
    attempts = _attempts(repo)
    goals = []
    for query in queries:
        goal = query.label in ("status", "history")  # the goal; the others are shown beside it
        goals.append(
            Goal(
                f"`bmad {query.label}`, a release with {attempts} ANALYZE attempts of the corpus"
                + (" <= 0.25 s" if goal else ""),
                f"{figures[query.label] * 1000:.0f} ms",
                figures[query.label] <= 0.25 if goal else None,
            )
        )
    return goals


def retried_reads(bmad: str, env: dict[str, str], repo: Path, prefix: str = "") -> list[Variant]:
    """The read commands timed on a release whose ANALYZE ran many times (labels after ``prefix``)."""
    commands = (["status"], ["history"], ["status", "--json"], ["report"])
    return [
        Variant(prefix + " ".join(command), [bmad, *command, "-c", "bmad.yaml", "-e", "dev"], env, repo)
        for command in commands
    ]


def _attempts(repo: Path) -> int:
    """How many ANALYZE attempts the ledger of ``repo`` holds."""
    with closing(sqlite3.connect(repo / ".bmad" / "ledger.db")) as db:
        return int(db.execute("SELECT count(*) FROM phase_runs WHERE phase = 'analyze'").fetchone()[0])


def bench_small_commands(args: argparse.Namespace, bmad: str, tmp: Path, env: dict[str, str]) -> list[Goal]:
    repo = make_service(tmp, "hello", None)
    pass_gates(bmad, repo, env)
    run = Variant("python", [sys.executable, "-c", "pass"], env, repo)
    analyze = Variant("analyze", [bmad, "analyze", "-c", "bmad.yaml", "-e", "dev"], env, repo)
    # one no-op check (a phase with none fails): what is left is the fixed cost of recording it
    phase = Variant("phase", [bmad, "measure", "-c", "bmad.yaml", "-e", "dev"], {**env, "BENCH_CHECKS": "1"}, repo)
    helps = [
        Variant("--help", [bmad, "--help"], env, repo),
        Variant("deploy --help", [bmad, "deploy", "--help"], env, repo),
    ]
    samples = samples_of([run, analyze, phase, *helps], args.runs)
    figures = {label: statistics.median(values) for label, values in samples.items()}
    python = figures["python"]
    ratios = [ours / floor for ours, floor in zip(samples["analyze"], samples["python"], strict=True)]
    goals = [
        Goal(
            "analyze of the example (12 objects) <= 0.5 s and <= 15x python",
            f"{figures['analyze'] * 1000:.0f} ms = {figures['analyze'] / python:.1f}x python ({python * 1000:.0f} ms;"
            " middle half of the runs' ratios {:.1f}-{:.1f}x)".format(*middle_half(ratios)),
            figures["analyze"] <= 0.5 and figures["analyze"] / python <= 15,
        ),
        Goal(
            "fixed cost of recording one phase <= 0.2 s (MEASURE of one no-op check, minus python start-up)",
            f"{figures['phase'] * 1000:.0f} ms wall, {(figures['phase'] - python) * 1000:.0f} ms above python",
            figures["phase"] - python <= 0.2,
        ),
    ]
    goals += [
        ratio_goal(f"`bmad {h.label}` <= 3x python", figures[h.label], python, "python", at_most=3) for h in helps
    ]
    goals += bench_ledger_queries(args, bmad, repo, env, python)
    return goals


def bench_ledger_queries(
    args: argparse.Namespace, bmad: str, repo: Path, env: dict[str, str], python: float
) -> list[Goal]:
    fill_ledger(repo, args.releases)
    queries = [
        Variant("status", [bmad, "status", "-c", "bmad.yaml", "-e", "dev"], env, repo),
        Variant("history", [bmad, "history", "-c", "bmad.yaml", "-e", "dev"], env, repo),
        Variant("metrics", [bmad, "metrics", "-c", "bmad.yaml"], env, repo),
    ]
    figures = medians(queries, args.runs)
    return [
        Goal(
            f"`bmad {q.label}` on {args.releases} releases <= 0.25 s",
            f"{figures[q.label] * 1000:.0f} ms ({figures[q.label] / python:.1f}x python)",
            figures[q.label] <= 0.25,
        )
        for q in queries
    ]


def bench_own_share(args: argparse.Namespace, bmad: str, tmp: Path, env: dict[str, str]) -> list[Goal]:
    from own_share import GOAL, own_shares

    [share] = own_shares(1, show=False)
    figure = f"{share.own:.1%} of {share.wall:.1f} s wall ({share.waited:.1f} s waiting on other systems)"
    return [Goal(f"bmad's own share of a full run of the example <= {GOAL:.0%}", figure, share.own <= GOAL)]


def report(goals: Sequence[Goal]) -> int:
    width = max(len(g.name) for g in goals)
    for goal in goals:
        verdict = "       " if goal.met is None else "MET    " if goal.met else "NOT MET"
        print(f"{verdict}  {goal.name:<{width}}  {goal.figure}")
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--releases", type=int, default=500)
    parser.add_argument(
        "--attempts", type=int, default=10, help="ANALYZE attempts of the corpus before its read commands are timed"
    )
    parser.add_argument("--no-checkov", action="store_true")
    parser.add_argument("--only", choices=["corpus", "small", "own-share"], help="run one group only")
    args = parser.parse_args()
    bmad = shutil.which("bmad", path=str(Path(sys.executable).parent)) or "bmad"
    groups: list[Callable[[argparse.Namespace, str, Path, dict[str, str]], list[Goal]]] = []
    if args.only in (None, "small"):
        groups.append(bench_small_commands)
    if args.only in (None, "corpus"):
        groups.append(bench_analyze_corpus)
    if args.only in (None, "own-share"):
        groups.append(bench_own_share)
    goals: list[Goal] = []
    with tempfile.TemporaryDirectory(prefix="bmad-cli-bench-") as tmp:
        env = bmad_env(Path(tmp) / "cache")
        for group in groups:
            goals += group(args, bmad, Path(tmp), env)
    return report(goals)


if __name__ == "__main__":
    raise SystemExit(main())
